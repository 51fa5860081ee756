"""The coupled design map: attainable specific energy (and energy density) over SSE conductivity and
separator thickness, the break-even thickness against the LIB, and each stack's polarization limit
L_max(σ); what no stack makes feasible is greyed out."""
import numpy as np
import matplotlib.pyplot as plt
import matplotlib.patheffects as pe
from matplotlib.colors import ListedColormap

from sim.figures.style import PALETTE, TWO_COLUMN_IN, coincide, label, pretty_units, save
from sim.units import SI

_OUTLINE = [pe.withStroke(linewidth=1.6, foreground="k")]


def _variants(result):
    k = 0
    while f"design_map/variant_{k}/max_thickness" in result:
        g = f"design_map/variant_{k}"
        name = str(result.value(f"{g}/name"))
        for tail in (" space-charge layers", " space-charge layer"):    # a case title: R_int also holds buffer bulk
            name = name[:-len(tail)] if name.endswith(tail) else name
        yield (name, result.value(f"{g}/max_thickness"),
               float(result.value(f"{g}/interfacial_asr")))
        k += 1


def _budget_asr(result):
    """The whole polarization budget as an area-specific resistance, ΔE / J (Ω cm²)."""
    J = result["design_map/current_density"]
    return float(result.value("design_map/budget")) / (float(J.value) * SI[J.units]) / SI["ohm cm^2"]


def render(result, out_dir, formats):
    if "design_map/conductivity" not in result:
        return []
    sig = result.value("design_map/conductivity")
    L = result.value("design_map/separator_thickness")
    paths = []
    for key, name, ref_key in (("specific_energy", "specific energy", "reference_specific_energy"),
                               ("energy_density", "energy density", "reference_energy_density")):
        E = result[f"design_map/{key}"]
        fig, ax = plt.subplots(figsize=(TWO_COLUMN_IN * 0.62, 3.4))
        # rasterized: 161 x 161 quadrilaterals as vector paths made a PDF take ten seconds to write
        m = ax.pcolormesh(sig, L, E.value.T, shading="auto", cmap="cividis", rasterized=True)
        cs = ax.contour(sig, L, E.value.T, colors="w", linewidths=0.5, levels=6)
        for t in ax.clabel(cs, fontsize=7, fmt="%.0f"):
            if not L[0] + 0.04 * (L[-1] - L[0]) < t.get_position()[1] < L[-1] - 0.04 * (L[-1] - L[0]):
                t.remove()                                 # a label on the frame would be cut in half
            else:
                t.set_path_effects(_OUTLINE)
        fig.colorbar(m, ax=ax, label=label(name, E.units))
        ax.set_xscale("log")
        ax.set_ylim(L[0], L[-1])
        ref = float(result.value(f"design_map/{ref_key}"))
        bet = float(result.value("design_map/bet_gravimetric" if key == "specific_energy" else "design_map/bet_volumetric"))
        if np.isfinite(bet):
            ax.axhline(bet, color="k", ls="--", lw=1.0, path_effects=[pe.withStroke(linewidth=2.2, foreground="w")],
                       label=f"break-even thickness vs LIB ({ref:.0f} {pretty_units(E.units)})")
        variants = list(_variants(result))
        drawn = [v for v in variants if np.any(np.isfinite(v[1]) & (v[1] > L[0]))]
        notes = [f"{n}: infeasible (R$_{{int}}$ = {R:.2g} Ω cm² uses the whole budget)" for n, lm, R in variants
                 if not any(n == d[0] for d in drawn)]
        if len(drawn) > 1 and coincide(ax, [(sig, v[1]) for v in drawn], tol=0.01):
            names = "\nand ".join(f"{n} (R$_{{int}}$ = {R:.2g} Ω cm²)" for n, _, R in drawn)
            ax.plot(sig, drawn[0][1], color=PALETTE[1], lw=1.4, label=f"polarization limit L$_{{max}}$ of {names}")
            notes.append(f"the limits coincide: every R$_{{int}}$ ≪ ΔE/J = {_budget_asr(result):.3g} Ω cm²")
        else:
            for k, (n, lmax, R) in enumerate(drawn):
                ax.plot(sig, lmax, color=PALETTE[(1 + k) % len(PALETTE)], lw=1.2, ls=("-", "--", ":", "-.")[k % 4],
                        label=f"polarization limit, {n} (R$_{{int}}$ = {R:.2g} Ω cm²: SCL excess + buffer bulk)")
        if variants:            # grey out what no stack makes feasible: the feasible region keeps its colour
            # feasible for this map: at least the LIB's value of this quantity, within a stack's L_max
            above = E.value.T >= ref
            within = np.logical_or.reduce([L[:, None] <= np.nan_to_num(v[1], nan=-np.inf)[None, :] for v in variants])
            ax.pcolormesh(sig, L, np.ma.masked_where(above & within, np.ones_like(E.value.T)), shading="auto",
                          cmap=ListedColormap(["white"]), alpha=0.6, rasterized=True)
        for name_m, s in zip(result.value("design_map/markers/name"), result.value("design_map/markers/conductivity")):
            ax.axvline(s, color="0.25", lw=0.6, ls=":")
            ax.text(s, L[-1] * 0.97, f" {name_m}", rotation=90, va="top", ha="right", fontsize=6, color="0.1")
        ax.set_xlabel(label("SSE ionic conductivity", "S/cm"))
        ax.set_ylabel(label("SSE separator thickness", "µm"))
        J = result["design_map/current_density"]
        U = result.parameters.get("interfaces", {}).get("cathode_potential_V")
        ax.set_title("\n".join([f"{float(J.value):g} mA/cm², ΔE ≤ {1e3 * float(result.value('design_map/budget')):.0f} mV, "
                                f"{result.value('design_map/sse')} density" + (f", cathode at {U:g} V" if U else "")
                                + "; greyed: infeasible"] + notes), fontsize=6)
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1)
        paths += save(fig, out_dir, f"design_map_{key}", formats)
    return paths
