"""Tutorial: from a dict to a figure, in Python (a notebook-sized script; tests/test_api.py runs it).

Run it from the repository root:  python docs/tutorial.py [OUT_DIR]
"""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import sim  # noqa: E402
from sim.errors import CaseError  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "results/tutorial"

# 1. A case as a dict: the same keys as a case file (docs/case-format.md).  LiCoO2 | beta-Li3PS4,
#    20 nm each, with the defect-chemistry carriers and sourced parameters of the materials file,
#    solved at 4.2 V and along a sweep of the cathode potential.
case = {
    "kind": "pnp",
    "title": "LCO | LPS, tutorial",
    "cathode": {"potential_V": 3.9},
    "sweep": {"potential_V": [3.9, 4.3], "points": 5},
    "mesh": {"h_min_m": 5e-12, "h_max_m": 2e-9, "growth": 1.2},       # a quick mesh for the tutorial
    "layers": {"cathode": {"material": "LCO", "thickness_m": 20e-9},
               "sse": {"material": "LPS", "thickness_m": 20e-9}},
}
s = sim.Simulation.from_dict(case)

# 2. Change parameters: every change is validated like the file.
s.set("cathode.potential_V", 4.2)
s.set(temperature_K=313.15)
try:
    s.set("layers.sse.thickness_m", -5e-6)          # impossible: refused, and nothing changes
except CaseError as e:
    print("refused:", e)
print("SSE thickness:", s.get("layers.sse.thickness_m"), "m")

# 3. Solve in memory and read named arrays with their units.
r = s.solve()
x, phi = r.value("pnp/x"), r.value("pnp/phi")
print(f"{len(x)} cells; contact potential {r.value('pnp/observables/contact_potential'):.3f} "
      f"{r.units('pnp/observables/contact_potential')}")
R = r.value("pnp/observables/interface_0/right/excess_resistance")
print(f"R_SCL on the LPS side at 4.2 V: {R:.3g} {r.units('pnp/observables/interface_0/right/excess_resistance')}")

# 4. Figures and the HDF5 file that `sim run` would write.
for path in r.plot(out, formats="png"):
    print("figure", path)
saved = r.save(f"{out}/tutorial.h5")
print("saved", saved)

# 5. Load the saved result (its checksums verified), as you would a file from `sim run`.
r = sim.open(saved)
print(r)                                                  # kind, case and key results with units

# 6. The sweep as a pandas DataFrame: one row per cathode potential, a column per observable
#    (units in df.attrs["units"]).  A sweep file from `sim sweep` gives its summary the same way:
#    sim.open("results/lno_thickness.h5").to_dataframe().
df = r.to_dataframe("pnp/sweep")
excess = df["observables/total_excess_resistance"]
print(f"total excess resistance of the space-charge layers "
      f"({df.attrs['units']['observables/total_excess_resistance']}) against the cathode potential (V):")
print(excess.to_string())

# 7. Plot from xarray: the potential profile at each point of the sweep.  Coordinates carry their
#    units and long names, which xarray puts on the axes; x is shown in nm.
ds = r.to_xarray("pnp/sweep")                           # phi(cathode_potential, x) and c_<species>
ds = ds.assign_coords(x=(ds.x * 1e9).assign_attrs(long_name="position", units="nm"))
plt.rcParams.update({"font.size": 8, "legend.fontsize": 7})
fig, ax = plt.subplots(figsize=(3.35, 2.6), constrained_layout=True)
ds.phi.plot.line(x="x", hue="cathode_potential", ax=ax, add_legend=False)
ax.legend([f"{u:.1f} V" for u in ds.cathode_potential.values], title="cathode\npotential\nvs Li/Li⁺",
          loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)   # beside the axes: clear of every curve
ax.set_title("LCO | LPS, 20 nm each, 313 K")
fig.savefig(f"{out}/phi_along_the_sweep.png", dpi=200)
print("figure", f"{out}/phi_along_the_sweep.png")
