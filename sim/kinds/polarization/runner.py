"""Runner of `polarization` cases: the Ohm's-law budget and the thickest separator that fits."""
import numpy as np

from sim.units import SI

from sim.case import material_overrides_si
from sim.io import Q
from sim.materials import load_material
from sim.stack import polarization as pol



def run(params, case_dir=None):
    overrides = material_overrides_si(params["materials"])
    cur = params["current"]
    if cur.get("current_density_mA_cm2") is not None:
        J = cur["current_density_mA_cm2"] * SI["mA/cm^2"]
    else:
        J = float(pol.current_density_from_c_rate(cur["c_rate_per_h"], cur["areal_capacity_mAh_cm2"] * SI["mAh/cm^2"]))
    names = list(params["layers"])
    L = np.array([params["layers"][n]["thickness_um"] * SI["um"] for n in names])
    sigma = np.array([
        lay["conductivity_S_cm"] * SI["S/cm"] if lay.get("conductivity_S_cm") is not None
        else load_material(lay["material"], overrides.get(lay["material"]))["conductivity"]
        for lay in params["layers"].values()])
    R = {n: v["asr_ohm_cm2"] * SI["ohm cm^2"] for n, v in params["interfaces"].items()}
    budget = params["budget"]["max_polarization_V"]
    sep = names.index(params["budget"]["separator"])

    drops = pol.layer_drops(J, L, sigma)
    total = float(pol.polarization(J, L, sigma, list(R.values())))
    other = float(np.sum(np.delete(L / sigma, sep)) + sum(R.values()))
    L_max = float(pol.max_separator_thickness(budget, J, sigma[sep], other))

    out = {
        "polarization/current_density": Q(J / SI["mA/cm^2"], "mA/cm^2"),
        "polarization/budget": Q(budget, "V"),
        "polarization/total": Q(total, "V", {"meaning": "J sum L/sigma + J sum R at the given thicknesses"}),
        "polarization/max_separator_thickness": Q(L_max / SI["um"], "um",
                                                  {"separator": names[sep], "note": "NaN: no thickness fits the budget"}),
        "polarization/within_budget": Q(int(total <= budget), "1"),
    }
    for n, l, s, d in zip(names, L, sigma, drops):
        out[f"polarization/layers/{n}/thickness"] = Q(l / SI["um"], "um")
        out[f"polarization/layers/{n}/conductivity"] = Q(s / SI["S/cm"], "S/cm")
        out[f"polarization/layers/{n}/voltage_drop"] = Q(float(d), "V")
    for n, r in R.items():
        out[f"polarization/interfaces/{n}/asr"] = Q(r / SI["ohm cm^2"], "ohm cm^2")
        out[f"polarization/interfaces/{n}/voltage_drop"] = Q(J * r, "V")
    top = max(params["budget"]["curve_max_thickness_um"], 1.5 * (L_max / SI["um"] if np.isfinite(L_max) else 0.0))
    Ls = np.linspace(0.0, top, 201)
    on_L = ("polarization/curve/separator_thickness",)          # dims (sim.io.Q)
    out["polarization/curve/separator_thickness"] = Q(Ls, "um", dims=on_L)
    out["polarization/curve/polarization"] = Q(J * (other + Ls * SI["um"] / sigma[sep]), "V", dims=on_L)
    return out
