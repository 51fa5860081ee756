"""Polarization against separator thickness, with the budget and L_max."""
import numpy as np
import matplotlib.pyplot as plt

from sim.figures.style import label, pretty_units, save
from sim.units import SI


def _conductivity(q):
    """'0.1 mS/cm' (mS/cm below 0.01 S/cm, as conductivities of solid electrolytes are quoted)."""
    si = float(q.value) * SI[q.units]
    unit = "mS/cm" if si < 0.01 * SI["S/cm"] else "S/cm"
    return f"{si / SI[unit]:.3g} {unit}"


def render(result, out_dir, formats):
    if "polarization/curve/separator_thickness" not in result:
        return []
    x = result["polarization/curve/separator_thickness"]
    y = result["polarization/curve/polarization"]
    budget = float(result.value("polarization/budget"))
    lmax = float(result.value("polarization/max_separator_thickness"))
    J = result["polarization/current_density"]
    fig, ax = plt.subplots()
    sep = result.parameters.get("budget", {}).get("separator", "separator")
    sigma = result[f"polarization/layers/{sep}/conductivity"] if f"polarization/layers/{sep}/conductivity" in result else None
    ax.plot(x.value, y.value * 1e3, label=f"J = {float(J.value):g} {pretty_units(J.units)}")
    ax.axhline(budget * 1e3, color="0.4", ls="--", lw=0.8, label=f"budget {budget * 1e3:g} mV")
    if np.isfinite(lmax):
        ax.axvline(lmax, color="#D55E00", ls=":", lw=0.8, label=f"L$_{{max}}$ = {lmax:.1f} {pretty_units(result['polarization/max_separator_thickness'].units)}")
    ax.set_xlabel(label("separator thickness", x.units))
    ax.set_ylabel(label("polarization", "mV"))
    ax.legend(loc="upper left", bbox_to_anchor=(0.2, 1.0))     # between the L_max line and the rising curve
    title = result.parameters.get("title") or "separator budget"
    ax.set_title(f"{title}:\nohmic drop J L/σ" + (f", σ = {_conductivity(sigma)}" if sigma is not None else ""),
                 fontsize=7)
    return save(fig, out_dir, "polarization_budget", formats)
