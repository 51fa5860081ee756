"""The coupled design map: attainable specific energy over SSE conductivity and thickness."""
import numpy as np
import matplotlib.pyplot as plt

from sim.figures.style import PALETTE, TWO_COLUMN_IN, label, pretty_units, save


def render(result, out_dir, formats):
    if "design_map/conductivity" not in result:
        return []
    sig = result.value("design_map/conductivity")
    L = result.value("design_map/separator_thickness")
    paths = []
    for key, name, ref_key in (("specific_energy", "specific energy", "reference_specific_energy"),
                               ("energy_density", "energy density", "reference_energy_density")):
        E = result[f"design_map/{key}"]
        fig, ax = plt.subplots(figsize=(TWO_COLUMN_IN * 0.62, 3.0))
        m = ax.pcolormesh(sig, L, E.value.T, shading="auto", cmap="cividis")
        cs = ax.contour(sig, L, E.value.T, colors="w", linewidths=0.5, levels=6)
        ax.clabel(cs, fontsize=5, fmt="%.0f")
        fig.colorbar(m, ax=ax, label=label(name, E.units))
        ref = float(result.value(f"design_map/{ref_key}"))
        bet = float(result.value("design_map/bet_gravimetric" if key == "specific_energy" else "design_map/bet_volumetric"))
        if np.isfinite(bet):
            ax.axhline(bet, color="w", ls="--", lw=1.0, label=f"break-even vs LIB ({ref:.0f} {pretty_units(E.units)})")
        k = 0
        infeasible = []
        while f"design_map/variant_{k}/max_thickness" in result:
            g = f"design_map/variant_{k}"
            Lmax = result.value(f"{g}/max_thickness")
            R = float(result.value(f"{g}/interfacial_asr"))
            name_v = result.value(f"{g}/name")
            if not np.any(np.isfinite(Lmax) & (Lmax > L[0])):     # no thickness fits the budget: say so
                infeasible.append(f"{name_v}: infeasible (R$_{{int}}$ = {R:.2g} Ω cm² uses the whole budget)")
                k += 1
                continue
            ax.plot(sig, Lmax, color=PALETTE[1 + k], lw=1.2, ls=("-", "--", ":", "-.")[k % 4],
                    label=f"polarization limit, {name_v} (R$_{{int}}$ = {R:.2g} Ω cm²)")
            top = np.minimum(np.nan_to_num(Lmax, nan=0.0), bet if np.isfinite(bet) else 0.0)
            ax.fill_between(sig, L[0], np.maximum(top, L[0]), color=PALETTE[1 + k], alpha=0.18, lw=0)
            k += 1
        for name_m, s in zip(result.value("design_map/markers/name"), result.value("design_map/markers/conductivity")):
            ax.axvline(s, color="0.85", lw=0.6, ls=":")
            ax.text(s, L[-1] * 0.97, f" {name_m}", rotation=90, va="top", ha="right", fontsize=6, color="w")
        ax.set_xscale("log")
        ax.set_ylim(L[0], L[-1])
        ax.set_xlabel(label("SSE ionic conductivity", "S/cm"))
        ax.set_ylabel(label("SSE separator thickness", "µm"))
        J = result["design_map/current_density"]
        U = result.parameters.get("interfaces", {}).get("cathode_potential_V")
        ax.set_title(f"{float(J.value):g} mA/cm², ΔE ≤ {1e3 * float(result.value('design_map/budget')):.0f} mV, "
                     f"{result.value('design_map/sse')} density" + (f", cathode at {U:g} V" if U else "")
                     + "; shaded: feasible", fontsize=7)
        for j, text in enumerate(infeasible):
            ax.text(0.02, 0.04 + 0.06 * j, text, transform=ax.transAxes, fontsize=6, color="w")
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1, frameon=True, facecolor="0.55",
                  labelcolor="k")
        paths += save(fig, out_dir, f"design_map_{key}", formats)
    return paths
