"""Tutorial: from a dict to a figure, in Python (a notebook-sized script; tests/test_api.py runs it).

Run it from the repository root:  python docs/tutorial.py [OUT_DIR]
"""
import sys

import sim
from sim.errors import CaseError

out = sys.argv[1] if len(sys.argv) > 1 else "results/tutorial"

# 1. A case as a dict: the same keys as a case file (docs/case-format.md).  LiCoO2 | beta-Li3PS4,
#    20 nm each, with the defect-chemistry carriers and sourced parameters of the materials file.
case = {
    "kind": "pnp",
    "title": "LCO | LPS, tutorial",
    "cathode": {"potential_V": 3.9},
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
R = r.value("pnp/observables/interface_0/right/r_scl")
print(f"R_SCL on the LPS side at 4.2 V: {R:.3g} {r.units('pnp/observables/interface_0/right/r_scl')}")

# 4. Figures and the HDF5 file that `sim run` would write.
for path in r.plot(out, formats=("png",)):
    print("figure", path)
print("saved", r.save(f"{out}/tutorial.h5"))
