"""Fig. 3 b-f of the review, from /energy/* datasets."""
import numpy as np
import matplotlib.pyplot as plt

from sim.figures.style import PALETTE, TWO_COLUMN_IN, label, pretty_units, save


def _ref_lines(ax, result, key):
    if f"energy/reference_lib/{key}" in result:
        q = result[f"energy/reference_lib/{key}"]
        ax.axhline(float(q.value), color="0.4", ls="--", lw=0.8, label=f"LIB ({float(q.value):.0f} {pretty_units(q.units)})")


def _finish_pair(fig, axes, result, title, out_dir, name, formats, loc="upper right"):
    """Reference-LIB lines and legends on an (E_S, E_V) pair of panels; save."""
    for ax, key in zip(axes, ("specific_energy", "energy_density")):
        _ref_lines(ax, result, key)
        ax.legend(loc=loc)
    fig.suptitle(title, fontsize=8)
    return save(fig, out_dir, name, formats)


def fig3b(result, out_dir, formats):
    fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.6))
    sses = result.groups("energy/fig3b")
    for ax, key, bet in zip(axes, ("specific_energy", "energy_density"), ("bet_gravimetric", "bet_volumetric")):
        curves = []
        for sse in sses:
            g = f"energy/fig3b/{sse}"
            curves.append((sse, result[f"{g}/separator_thickness"], result[f"{g}/{key}"], float(result[f"{g}/{bet}"].value)))
        same = all(np.allclose(c[2].value, curves[0][2].value, rtol=1e-12) for c in curves)
        if same and len(curves) > 1:   # E_V: the SSE volume in the cathode is kept, so every SSE gives one curve
            curves = [(", ".join(c[0] for c in curves),) + curves[0][1:]]
            ax.set_title("one curve for every SSE: the SSE volume is kept", fontsize=7)
        for i, (name, x, y, b) in enumerate(curves):
            inside = np.isfinite(b) and x.value.min() <= b <= x.value.max()
            tag = f"BET {b:.0f} µm" if inside else ("BET beyond the range" if np.isfinite(b) else "no BET")
            ax.plot(x.value, y.value, color=PALETTE[i] if not same else "k", label=f"{name} ({tag})")
            if inside:                          # the marker sits on the reference line by construction
                ax.plot([b], [np.interp(b, x.value, y.value)], "o", color=PALETTE[i] if not same else "k", ms=3)
            ax.set_xlabel(label("SSE separator thickness", x.units))
            ax.set_ylabel(label("specific energy" if key == "specific_energy" else "energy density", y.units))
    return _finish_pair(fig, axes, result, "Fig. 3b: ASSLIB against the SSE separator thickness (BET: break-even "
                        "thickness, where the ASSLIB equals the LIB)", out_dir, "fig3b_separator_thickness", formats)


def fig3c(result, out_dir, formats):
    fig, ax = plt.subplots()
    groups = result.groups("energy/fig3c")
    vol = [result[f"energy/fig3c/{sse}/bet_volumetric"].value for sse in groups]
    vol_same = len(vol) > 1 and all(np.allclose(v, vol[0], equal_nan=True) for v in vol)
    for i, sse in enumerate(groups):
        g = f"energy/fig3c/{sse}"
        x = result[f"{g}/loading"]
        ax.plot(x.value, result[f"{g}/bet_gravimetric"].value, color=PALETTE[i], label=f"{sse} gravimetric")
        if not vol_same:
            ax.plot(x.value, result[f"{g}/bet_volumetric"].value, color=PALETTE[i], ls=":", label=f"{sse} volumetric")
        ax.set_xlabel(label("NCA loading", x.units))
        ax.set_ylabel(label("break-even thickness", result[f"{g}/bet_gravimetric"].units))
    if vol_same:
        ax.plot(x.value, vol[0], color="k", ls=":", label="volumetric, every SSE")
    ax.legend(ncol=1, fontsize=6, loc="upper left")
    ax.set_title("Fig. 3c: break-even SSE thickness against loading" + ("\n(volumetric: one curve for every SSE, "
                 "the SSE volume is kept)" if vol_same else ""), fontsize=7)
    return save(fig, out_dir, "fig3c_break_even_thickness", formats)


def fig3de(result, out_dir, formats):
    paths = []
    for key, tag, name in (("specific_energy", "fig3d", "specific energy"), ("energy_density", "fig3e", "energy density")):
        fig, ax = plt.subplots(figsize=(4.2, 2.6))
        groups = sorted(result.groups("energy/fig3de"), key=lambda s: float(s.rstrip("um")))
        for i, t in enumerate(groups):
            g = f"energy/fig3de/{t}"
            x, y = result[f"{g}/loading"], result[f"{g}/{key}"]
            ax.plot(x.value, y.value, color=PALETTE[i % len(PALETTE)], label=t.replace("um", " µm"))
            ax.set_xlabel(label("NCA loading", x.units))
            ax.set_ylabel(label(name, y.units))
        _ref_lines(ax, result, key)
        # beside the axes: the curves fill the plot from its low-loading rise to its plateau
        ax.legend(ncol=1, fontsize=6, title="LLZO separator", title_fontsize=6, loc="upper left",
                  bbox_to_anchor=(1.02, 1.0))
        ax.set_title(f"Fig. {tag[-2:]}: {name} against loading", fontsize=7)
        paths += save(fig, out_dir, f"{tag}_{key}_vs_loading", formats)
    return paths


def fig3f(result, out_dir, formats):
    fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.6))
    for i, cc in enumerate(("standard", "modified")):
        g = f"energy/fig3f/{cc}"
        x = result[f"{g}/loading"]
        for ax, key, name in zip(axes, ("specific_energy", "energy_density"), ("specific energy", "energy density")):
            y = result[f"{g}/{key}"]
            ax.plot(x.value, y.value, color=PALETTE[i], label=f"{cc} collectors")
            ax.set_xlabel(label("NCA loading", x.units))
            ax.set_ylabel(label(name, y.units))
    return _finish_pair(fig, axes, result, "Fig. 3f: current collectors (20 µm LLZO)", out_dir,
                        "fig3f_current_collectors", formats, loc="lower right")


def render(result, out_dir, formats):
    paths = []
    if result.groups("energy/fig3b"):
        paths += fig3b(result, out_dir, formats)
    if result.groups("energy/fig3c"):
        paths += fig3c(result, out_dir, formats)
    if result.groups("energy/fig3de"):
        paths += fig3de(result, out_dir, formats)
    if "energy/fig3f/standard/loading" in result:
        paths += fig3f(result, out_dir, formats)
    return paths
