"""Impedance figures: Nyquist (equal axes, a marker per decade), Bode, and the Arrhenius plot of
the fitted resistances (one file, or several overlaid, e.g. with and without LiNbO3)."""
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt

from sim.figures.style import PALETTE, TWO_COLUMN_IN, label, save

PREFIX = "pnp/impedance"


def _temperature_groups(result):
    return sorted((g for g in result.groups(PREFIX) if g.startswith("T_")), key=lambda g: float(g[2:-1]))


def _spectrum(result, g):
    f = result.value(f"{PREFIX}/{g}/frequency")
    Z = result.value(f"{PREFIX}/{g}/z_real") + 1j * result.value(f"{PREFIX}/{g}/z_imag")
    return f, Z


def _name(result):
    return result.parameters.get("title") or Path(str(result.path)).stem


def _decade_markers(ax, f, Z, color, labels):
    """A marker at every whole decade of frequency; labels on every other decade where the arc has
    moved away from the previous label (one curve only, to keep the plot readable)."""
    last = None
    span = max(np.ptp(Z.real), np.ptp(Z.imag), 1e-300)
    for d in range(int(np.ceil(np.log10(f.min()))), int(np.floor(np.log10(f.max()))) + 1):
        k = int(np.argmin(np.abs(np.log10(f) - d)))
        ax.plot(Z[k].real, -Z[k].imag, "o", ms=2.5, color=color)
        here = np.array([Z[k].real, -Z[k].imag])
        if labels and (last is None or np.hypot(*(here - last)) > 0.08 * span):
            ax.annotate(f"10$^{{{d}}}$ Hz", tuple(here), textcoords="offset points", xytext=(3, 3),
                        fontsize=5, color=color)
            last = here


def nyquist(result, out_dir, formats):
    groups = _temperature_groups(result)
    fig, ax = plt.subplots(figsize=(3.35, 3.0))
    top = 0.0
    for i, g in enumerate(groups):
        f, Z = _spectrum(result, g)
        T = float(g[2:-1])
        ax.plot(Z.real, -Z.imag, "-", color=PALETTE[i % len(PALETTE)], label=f"{T - 273.15:.0f} °C")
        _decade_markers(ax, f, Z, PALETTE[i % len(PALETTE)], labels=i == 0)
        top = max(top, float(np.max(Z.real)), float(np.max(-Z.imag)))
    if "pnp/impedance/measured/frequency" in result:
        Zm = result.value(f"{PREFIX}/measured/z_real") + 1j * result.value(f"{PREFIX}/measured/z_imag")
        ax.plot(Zm.real, -Zm.imag, "k.", ms=3, label="measured")
    ax.set_xlim(0, 1.05 * top)
    ax.set_ylim(0, 1.05 * top)
    ax.set_aspect("equal", adjustable="box")          # equal axes: arcs keep their shape
    ax.set_xlabel(label("Z′", "Ω cm²"))
    ax.set_ylabel(label("−Z″", "Ω cm²"))
    ax.set_title(_name(result), fontsize=7)
    ax.legend(fontsize=6)
    return save(fig, out_dir, "impedance_nyquist", formats)


def bode(result, out_dir, formats):
    groups = _temperature_groups(result)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.5))
    for i, g in enumerate(groups):
        f, Z = _spectrum(result, g)
        T = float(g[2:-1])
        col = PALETTE[i % len(PALETTE)]
        a1.loglog(f, np.abs(Z), color=col, label=f"{T - 273.15:.0f} °C")
        a2.semilogx(f, -np.degrees(np.angle(Z)), color=col)
    a1.set_ylabel(label("|Z|", "Ω cm²"))
    a2.set_ylabel(label("−phase", "°"))
    for a in (a1, a2):
        a.set_xlabel(label("frequency", "Hz"))
    a1.legend(fontsize=6)
    fig.suptitle(_name(result), fontsize=7)
    return save(fig, out_dir, "impedance_bode", formats)


def arrhenius(results, out_dir, formats, name="impedance_arrhenius"):
    """Fitted resistances against 1000/T (log scale), with the low-frequency resistance."""
    fig, ax = plt.subplots(figsize=(3.35, 3.6))
    styles = ["o-", "s--", "^:", "d-."]
    for j, r in enumerate(results):
        T = r.value(f"{PREFIX}/temperature")
        x = 1000.0 / T
        keys = r.groups(f"{PREFIX}/fit_resistance")
        for i, k in enumerate(keys):
            R = r.value(f"{PREFIX}/fit_resistance/{k}")
            ok = np.isfinite(R) & (R > 0)
            if ok.any():
                ax.semilogy(x[ok], R[ok], styles[j % 4], ms=3, color=PALETTE[i % len(PALETTE)],
                            label=f"{_name(r)}: {r[f'{PREFIX}/fit_resistance/{k}'].attrs.get('process', k)}")
        ax.semilogy(x, r.value(f"{PREFIX}/low_frequency_resistance"), styles[j % 4], ms=3, color="0.3",
                    label=f"{_name(r)}: Re Z(f$_{{min}}$)")
    ax.set_xlabel(label("1000 / T", "1/K"))
    ax.set_ylabel(label("resistance", "Ω cm²"))
    top = ax.secondary_xaxis("top", functions=(lambda v: 1000.0 / np.maximum(v, 1e-9) - 273.15,
                                               lambda t: 1000.0 / (t + 273.15)))
    top.set_xlabel(label("temperature", "°C"))
    ax.legend(fontsize=5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    return save(fig, out_dir, name, formats)


def render(result, out_dir, formats):
    if f"{PREFIX}/temperature" not in result:
        return []
    return nyquist(result, out_dir, formats) + bode(result, out_dir, formats) + arrhenius([result], out_dir, formats)


def compare(results, out_dir, formats):
    with_imp = [r for r in results if f"{PREFIX}/temperature" in r]
    if len(with_imp) < 2:
        return []
    return arrhenius(with_imp, out_dir, formats, name="compare_impedance_arrhenius")
