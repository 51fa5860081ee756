"""Fig. 3 b-f of the review, from /energy/* datasets."""
import numpy as np
import matplotlib.pyplot as plt

from .style import PALETTE, TWO_COLUMN_IN, label, save


def _ref_lines(ax, result, key):
    if f"energy/reference_lib/{key}" in result:
        q = result[f"energy/reference_lib/{key}"]
        ax.axhline(float(q.value), color="0.4", ls="--", lw=0.8, label=f"LIB reference ({float(q.value):.0f} {q.units})")


def _finish_pair(fig, axes, result, title, out_dir, name, formats):
    """Reference-LIB lines and legends on an (E_S, E_V) pair of panels; save."""
    for ax, key in zip(axes, ("specific_energy", "energy_density")):
        _ref_lines(ax, result, key)
        ax.legend()
    fig.suptitle(title, fontsize=8)
    return save(fig, out_dir, name, formats)


def fig3b(result, out_dir, formats):
    fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.6))
    for i, sse in enumerate(result.groups("energy/fig3b")):
        g = f"energy/fig3b/{sse}"
        x = result[f"{g}/separator_thickness"]
        for ax, key, bet in zip(axes, ("specific_energy", "energy_density"), ("bet_gravimetric", "bet_volumetric")):
            y = result[f"{g}/{key}"]
            b = float(result[f"{g}/{bet}"].value)
            ax.plot(x.value, y.value, color=PALETTE[i], label=f"{sse} (BET {b:.0f} µm)" if np.isfinite(b) else f"{sse} (no BET)")
            if np.isfinite(b):
                ax.plot([b], [np.interp(b, x.value, y.value)], "o", color=PALETTE[i], ms=3)
            ax.set_xlabel(label("SSE separator thickness", x.units))
            ax.set_ylabel(label("specific energy" if key == "specific_energy" else "energy density", y.units))
    return _finish_pair(fig, axes, result, "Fig. 3b: ASSLIB vs separator thickness", out_dir,
                        "fig3b_separator_thickness", formats)


def fig3c(result, out_dir, formats):
    fig, ax = plt.subplots()
    for i, sse in enumerate(result.groups("energy/fig3c")):
        g = f"energy/fig3c/{sse}"
        x = result[f"{g}/loading"]
        ax.plot(x.value, result[f"{g}/bet_gravimetric"].value, color=PALETTE[i], label=f"{sse} gravimetric")
        ax.plot(x.value, result[f"{g}/bet_volumetric"].value, color=PALETTE[i], ls=":", label=f"{sse} volumetric")
        ax.set_xlabel(label("NCA loading", x.units))
        ax.set_ylabel(label("break-even thickness", result[f"{g}/bet_gravimetric"].units))
    ax.legend(ncol=1)
    ax.set_title("Fig. 3c: break-even SSE thickness vs loading")
    return save(fig, out_dir, "fig3c_break_even_thickness", formats)


def fig3de(result, out_dir, formats):
    paths = []
    for key, tag, name in (("specific_energy", "fig3d", "specific energy"), ("energy_density", "fig3e", "energy density")):
        fig, ax = plt.subplots()
        groups = sorted(result.groups("energy/fig3de"), key=lambda s: float(s.rstrip("um")))
        for i, t in enumerate(groups):
            g = f"energy/fig3de/{t}"
            x, y = result[f"{g}/loading"], result[f"{g}/{key}"]
            ax.plot(x.value, y.value, color=PALETTE[i % len(PALETTE)], label=f"LLZO {t.replace('um', ' um')}")
            ax.set_xlabel(label("NCA loading", x.units))
            ax.set_ylabel(label(name, y.units))
        _ref_lines(ax, result, key)
        ax.legend(ncol=2)
        ax.set_title(f"Fig. {tag[-2:]}: {name} vs loading")
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
                        "fig3f_current_collectors", formats)


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
