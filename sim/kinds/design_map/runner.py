"""Runner of `design_map` cases: where a solid electrolyte is thin and conductive enough.

For a current density J and a polarization budget dE_max, an SSE separator of conductivity
sigma can be at most L_max(sigma) = (dE_max / J - R_int) sigma thick, where R_int is the total
interfacial ASR computed by the PNP model (with and without a LiNbO3 buffer).  The ASSLIB beats
the reference LIB when L is below its break-even thickness.  The feasible region is
L <= min(L_max(sigma), BET).
"""
import numpy as np

from sim.units import SI

from sim.case import load_case, material_overrides_si, read_case_text
from sim.errors import SimError, with_origin
from sim.io import Q
from sim.materials import load_material
from sim.stack import energy as en
from sim.stack import polarization as pol
from sim.pnp import observables as obs
from sim.kinds.pnp.runner import solve



#: dimensions of the map's arrays (sim.io.Q: the coordinate datasets of their axes)
SIGMA, THICKNESS = ("design_map/conductivity",), ("design_map/separator_thickness",)


def interfacial_asr(case_path, potential_V):
    """Interfacial resistance (ohm m^2) of a pnp case at a cathode potential: the space-charge excess
    resistance of every side of every interface plus the bulk resistance L / sigma of every internal layer
    (a buffer coating is in the current path; the outer layers stand for the cathode and the separator,
    whose bulk the design map counts elsewhere): `observables.evaluate`'s total_interfacial_resistance."""
    params = load_case(case_path).params
    try:
        p, psi, c, st = solve(params, potential_V)
    except SimError as e:            # name the pnp case that failed, not only the design map
        raise with_origin(e, f"{case_path} (a pnp case of the design map)") from None
    return obs.evaluate(p, psi, c, w=st.w)["total_interfacial_resistance"], params.get("title") or str(case_path)


def run(params, case_dir=None):
    """case_dir: folder of the case file; interfaces.pnp_cases are relative to it."""
    from pathlib import Path
    overrides = material_overrides_si(params["materials"])
    cell = params["cell"]
    design = en.preset_design("ASSLIB", sse=cell["sse"], loading_mg_cm2=cell["loading_mg_cm2"],
                              collectors=cell["collectors"], material_overrides=overrides)
    cur = params["current"]
    if cur.get("current_density_mA_cm2") is not None:
        J = cur["current_density_mA_cm2"] * SI["mA/cm^2"]
    else:
        cap = float(en.breakdown(design)["areal_capacity"])
        J = float(pol.current_density_from_c_rate(cur["c_rate_per_h"], cap))
    budget = params["budget"]["max_polarization_V"]
    g = params["grid"]
    sigma = np.geomspace(*g["conductivity_range_S_cm"], g["points"]) * SI["S/cm"]
    L = np.linspace(*g["thickness_range_um"], g["points"]) * SI["um"]
    es_ref, ev_ref = (float(x) for x in en.energy(en.preset_design("LIB", material_overrides=overrides)))
    es, ev = en.energy(design, separator_thickness_m=L)
    bet_g = float(en.break_even_thickness(design, es_ref))
    bet_v = float(en.break_even_thickness(design, ev_ref, "volumetric"))
    out = {
        "design_map/current_density": Q(J / SI["mA/cm^2"], "mA/cm^2"),
        "design_map/budget": Q(budget, "V"),
        "design_map/conductivity": Q(sigma / SI["S/cm"], "S/cm", dims=SIGMA),
        "design_map/separator_thickness": Q(L / SI["um"], "um", dims=THICKNESS),
        "design_map/specific_energy": Q(np.broadcast_to(es[None, :], (len(sigma), len(L))).copy(), "Wh/kg",
                                        dims=SIGMA + THICKNESS),
        "design_map/energy_density": Q(np.broadcast_to(ev[None, :], (len(sigma), len(L))).copy(), "Wh/L",
                                       dims=SIGMA + THICKNESS),
        "design_map/reference_specific_energy": Q(es_ref, "Wh/kg"),
        "design_map/reference_energy_density": Q(ev_ref, "Wh/L"),
        "design_map/bet_gravimetric": Q(bet_g / SI["um"], "um", {"note": "NaN: none"}),
        "design_map/bet_volumetric": Q(bet_v / SI["um"], "um", {"note": "NaN: none"}),
        "design_map/sse": Q(cell["sse"], ""),
    }
    names = []
    for k, rel in enumerate(params["interfaces"]["pnp_cases"]):
        path = Path(case_dir or ".") / rel
        R, name = interfacial_asr(path, params["interfaces"]["cathode_potential_V"])
        names.append(name)
        Lmax = pol.max_separator_thickness(budget, J, sigma, R)
        feasible = (L[None, :] <= np.nan_to_num(Lmax, nan=-1.0)[:, None]) & (L[None, :] <= (bet_g if np.isfinite(bet_g) else -1.0))
        gk = f"design_map/variant_{k}"
        out[f"{gk}/name"] = Q(name, "")
        out[f"{gk}/case_text"] = Q(read_case_text(path), "", {"case_path": str(rel),
                                                                          "meaning": "the pnp case this variant ran"})
        out[f"{gk}/interfacial_asr"] = Q(R / SI["ohm cm^2"], "ohm cm^2", {"cathode_potential_V": params["interfaces"]["cathode_potential_V"]})
        out[f"{gk}/max_thickness"] = Q(Lmax / SI["um"], "um", {"meaning": "L_max(sigma); NaN: no thickness fits"}, SIGMA)
        out[f"{gk}/feasible"] = Q(feasible.astype(np.int8), "1", {"meaning": "1: within the budget and beats the LIB"},
                                  SIGMA + THICKNESS)
    marks = params["markers"]
    out["design_map/markers/name"] = Q(np.array(marks), "", dims=("design_map/markers/name",))
    out["design_map/markers/conductivity"] = Q(np.array([
        load_material(m, overrides.get(m))["conductivity"] / SI["S/cm"] for m in marks]), "S/cm", {"source": "materials database"},
        ("design_map/markers/name",))
    return out
