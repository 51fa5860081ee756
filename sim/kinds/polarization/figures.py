"""Polarization against separator thickness, with the budget and L_max."""
import numpy as np
import matplotlib.pyplot as plt

from sim.figures.style import label, pretty_units, save


def render(result, out_dir, formats):
    if "polarization/curve/separator_thickness" not in result:
        return []
    x = result["polarization/curve/separator_thickness"]
    y = result["polarization/curve/polarization"]
    budget = float(result.value("polarization/budget"))
    lmax = float(result.value("polarization/max_separator_thickness"))
    J = result["polarization/current_density"]
    fig, ax = plt.subplots()
    ax.plot(x.value, y.value * 1e3, label=f"J = {float(J.value):g} {pretty_units(J.units)}")
    ax.axhline(budget * 1e3, color="0.4", ls="--", lw=0.8, label=f"budget {budget * 1e3:g} mV")
    if np.isfinite(lmax):
        ax.axvline(lmax, color="#D55E00", ls=":", lw=0.8, label=f"L$_{{max}}$ = {lmax:.1f} {pretty_units(result['polarization/max_separator_thickness'].units)}")
    ax.set_xlabel(label("separator thickness", x.units))
    ax.set_ylabel(label("polarization", "mV"))
    ax.legend()
    return save(fig, out_dir, "polarization_budget", formats)
