"""Impedance figures: Nyquist (equal axes, labelled decades) and Bode with the fitted equivalent
circuit drawn over every spectrum (and over a measured spectrum where the case has one), and the
Arrhenius plot of the fitted resistances with their standard errors, a fitted line and its E_a
(one file, or several side by side, e.g. with and without LiNbO3).

The circuit curves are evaluated from the stored fit parameters with the element formulas of
`sim.pnp.circuits` (nothing is refitted here)."""
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt

from sim.figures.style import PALETTE, TWO_COLUMN_IN, annotate_clear, label, save
from sim.pnp import circuits
from sim.units import BOLTZMANN, ELEMENTARY_CHARGE, SI

PREFIX = "pnp/impedance"
#: attributes of /pnp/impedance/fit_resistance/<R> that name the arc's physical origin, if the fit stored one
ORIGIN_ATTRS = ("origin", "long_name")


def _temperature_groups(result):
    return sorted((g for g in result.groups(PREFIX) if g.startswith("T_")), key=lambda g: float(g[2:-1]))


def _spectrum(result, g):
    f = result.value(f"{PREFIX}/{g}/frequency")
    Z = result.value(f"{PREFIX}/{g}/z_real") + 1j * result.value(f"{PREFIX}/{g}/z_imag")
    return f, Z


def _name(result):
    return result.parameters.get("title") or Path(str(result.path)).stem


def fitted_curve(result, group, f):
    """Z (Ω cm²) of the fitted circuit of `group` (a T_<T>K or the measured group) at frequencies f,
    from the stored parameters; None if the group has no complete fit."""
    circuit = str(result.value(f"{PREFIX}/circuit")) if f"{PREFIX}/circuit" in result else ""
    try:
        names = [n for n, _ in circuits.parameter_names(circuit)]
    except ValueError:
        return None
    keys = [f"{PREFIX}/{group}/fit/{n}" for n in names]
    if not names or any(k not in result for k in keys):
        return None
    params = [float(result.value(k)) * SI.get(result[k].units, 1.0) for k in keys]    # stored units -> SI
    if not np.all(np.isfinite(params)):
        return None
    return circuits.evaluate(circuit, params, f) / SI["ohm cm^2"]


def _dense(f):
    return np.geomspace(f.min(), f.max(), max(50, int(20 * np.log10(f.max() / f.min()))))


def _decade_labels(ax, f, Z, color):
    """Label every other whole decade of frequency on the outermost spectrum, each where its text
    covers no spectrum or fitted curve (outward from the arc's centre first, then upward)."""
    span = max(np.ptp(Z.real), np.ptp(Z.imag), 1e-300)
    centre = np.array([0.5 * (Z.real.min() + Z.real.max()), 0.0])
    last = None
    for d in range(int(np.ceil(np.log10(f.min()))), int(np.floor(np.log10(f.max()))) + 1):
        k = int(np.argmin(np.abs(np.log10(f) - d)))
        here = np.array([Z[k].real, -Z[k].imag])
        if np.hypot(*here) < 0.12 * span or (last is not None and np.hypot(*(here - last)) < 0.15 * span):
            continue                        # near the origin every spectrum meets: no room for a label
        theta = np.arctan2(*(here - centre)[::-1])
        tries = [theta, np.radians(60), np.radians(90), np.radians(120), np.radians(20)]
        offsets = [(r * np.cos(a), r * np.sin(a)) for r in (8, 16) for a in tries]
        if annotate_clear(ax, tuple(here), f"10$^{{{d}}}$ Hz", offsets, fontsize=6, color=color) is not None:
            ax.plot(*here, "o", ms=3, mfc="none", color=color)
            last = here


def nyquist(result, out_dir, formats):
    groups = _temperature_groups(result)
    fig, ax = plt.subplots(figsize=(3.35, 3.0))
    top, right, fits = 0.0, 0.0, False
    for i, g in enumerate(groups):
        f, Z = _spectrum(result, g)
        col = PALETTE[i % len(PALETTE)]
        rms = f"{PREFIX}/{g}/fit/relative_rms_residual"
        fit = f" (fit rms {100 * float(result.value(rms)):.1f} %)" if rms in result else ""
        ax.plot(Z.real, -Z.imag, "o", ms=2, color=col, label=f"{float(g[2:-1]) - 273.15:.0f} °C{fit}")
        Zf = fitted_curve(result, g, _dense(f))
        if Zf is not None:
            ax.plot(Zf.real, -Zf.imag, "-", lw=0.9, color=col)
            fits = True
        top, right = max(top, float(np.max(-Z.imag))), max(right, float(np.max(Z.real)))
        if i == 0:
            outer = (f, Z, col)
    if "pnp/impedance/measured/frequency" in result:
        fm = result.value(f"{PREFIX}/measured/frequency")
        Zm = result.value(f"{PREFIX}/measured/z_real") + 1j * result.value(f"{PREFIX}/measured/z_imag")
        ax.plot(Zm.real, -Zm.imag, "kx", ms=3, label="measured")
        Zf = fitted_curve(result, "measured", _dense(fm))
        if Zf is not None:
            ax.plot(Zf.real, -Zf.imag, "k--", lw=0.9)
            fits = True
        top, right = max(top, float(np.max(-Zm.imag))), max(right, float(np.max(Zm.real)))
    ax.set_xlim(0, 1.1 * right)
    ax.set_ylim(0, 1.35 * top)                        # arcs are at most half as tall as wide: no empty half
    fig.set_figheight(float(np.clip(2.7 * (1.35 * top) / (1.1 * right) + 1.4, 2.2, 4.5)))   # no empty band
    ax.set_aspect("equal", adjustable="box")          # equal axes: arcs keep their shape
    ax.set_xlabel(label("Z′", "Ω cm²"))
    ax.set_ylabel(label("−Z″", "Ω cm²"))
    circuit = str(result.value(f"{PREFIX}/circuit")) if f"{PREFIX}/circuit" in result else ""
    ax.set_title(_name(result) + (f"\nmarkers: computed; lines: fitted circuit {circuit}" if fits else ""), fontsize=7)
    fig.legend(*ax.get_legend_handles_labels(), fontsize=6, loc="outside lower center", ncol=2)
    if groups:                                        # last: placed on the finished layout
        _decade_labels(ax, *outer)
    return save(fig, out_dir, "impedance_nyquist", formats)


def bode(result, out_dir, formats):
    groups = _temperature_groups(result)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.7))
    fits = False
    for i, g in enumerate(groups):
        f, Z = _spectrum(result, g)
        col = PALETTE[i % len(PALETTE)]
        a1.loglog(f, np.abs(Z), "o", ms=1.8, color=col, label=f"{float(g[2:-1]) - 273.15:.0f} °C")
        a2.semilogx(f, -np.degrees(np.angle(Z)), "o", ms=1.8, color=col)
        fd = _dense(f)
        Zf = fitted_curve(result, g, fd)
        if Zf is not None:
            a1.loglog(fd, np.abs(Zf), "-", lw=0.8, color=col)
            a2.semilogx(fd, -np.degrees(np.angle(Zf)), "-", lw=0.8, color=col)
            fits = True
    a1.set_ylabel(label("|Z|", "Ω cm²"))
    a2.set_ylabel(label("−phase", "°"))
    for a in (a1, a2):
        a.set_xlabel(label("frequency", "Hz"))
    a1.legend(fontsize=6, loc="lower left")
    fig.suptitle(_name(result) + ("; markers: computed, lines: fitted circuit" if fits else ""), fontsize=7)
    return save(fig, out_dir, "impedance_bode", formats)


def arrhenius_fit(T, R, se=None):
    """Weighted least squares of ln R = ln A + E_a / (k_B T): (E_a (eV), its standard error (eV),
    ln A).  Weights 1/σ(ln R)² with σ(ln R) = se/R where standard errors are given; otherwise
    unweighted, with the error from the scatter (NaN below three points)."""
    T, R = np.asarray(T, float), np.asarray(R, float)
    ok = np.isfinite(T) & np.isfinite(R) & (R > 0)
    x, y = 1.0 / T[ok], np.log(R[ok])
    A = np.column_stack([np.ones_like(x), x])
    s = None if se is None else np.asarray(se, float)[ok] / R[ok]
    weighted = s is not None and np.all(np.isfinite(s) & (s > 0))
    w = 1.0 / s ** 2 if weighted else np.ones_like(x)
    if x.size < 2:
        return np.nan, np.nan, np.nan
    cov = np.linalg.inv(A.T @ (w[:, None] * A))
    coef = cov @ A.T @ (w * y)
    if not weighted:                                # scale by the residual variance
        dof = x.size - 2
        cov = cov * (np.sum((y - A @ coef) ** 2) / dof if dof > 0 else np.nan)
    k = BOLTZMANN / ELEMENTARY_CHARGE               # eV/K
    return float(coef[1] * k), float(np.sqrt(cov[1, 1]) * k), float(coef[0])


def _inverse_to_celsius(v):
    return 1000.0 / np.maximum(v, 1e-9) - 273.15


def _celsius_to_inverse(t):
    return 1000.0 / (np.asarray(t, float) + 273.15)


def _elements(result):
    """[(element, origin or None, R per T, standard errors per T or None)] of a result's fits."""
    groups = _temperature_groups(result)
    out = []
    for k in result.groups(f"{PREFIX}/fit_resistance"):
        q = result[f"{PREFIX}/fit_resistance/{k}"]
        origin = next((str(q.attrs[a]) for a in ORIGIN_ATTRS if q.attrs.get(a)), None)
        if f"{PREFIX}/fit_resistance_error/{k}" in result:       # the errors the stored E_a was weighted with
            se = np.asarray(result.value(f"{PREFIX}/fit_resistance_error/{k}"), float)
        else:
            se = [result[f"{PREFIX}/{g}/fit/{k}"].attrs.get("standard_error", np.nan) if f"{PREFIX}/{g}/fit/{k}" in result
                  else np.nan for g in groups]
            se = np.asarray(se, float) if len(se) == len(np.atleast_1d(q.value)) else None
        out.append((k, origin, np.asarray(q.value, float), se))
    return out


def _process_words(result, text):
    """'bulk_of_buffer' or 'bulk of buffer' -> 'bulk of LNO': a process in words, its layers by their material."""
    layers = result.parameters.get("layers", {})
    return " ".join(str(layers.get(w, {}).get("material") or w) if isinstance(layers.get(w), dict) else w
                    for w in str(text).replace("_", " ").split())


def _arrhenius_panel(ax, r, colors, notes):
    """One stack: each fitted R with error bars and its Arrhenius line, and Re Z at the lowest frequency."""
    T = r.value(f"{PREFIX}/temperature")
    x = 1000.0 / T
    xs = np.linspace(x.min(), x.max(), 50)
    for k, origin, R, se in _elements(r):
        key = k
        col = colors[(origin or (_name(r), k))]
        k = _process_words(r, k)                      # a process in words and materials, not as a key
        origin = _process_words(r, origin) if origin else None
        ok = np.isfinite(R) & (R > 0)
        if not ok.any():
            notes.append(f"{_name(r)}, {k}: no positive fitted value")
            continue
        Ea, dEa, lnA = arrhenius_fit(T, R, se)
        stored = f"{PREFIX}/activation_energy/{key}"
        if stored in r:                                   # the result's own E_a and error: the page and the file agree
            Ea, dEa = float(r.value(stored)), float(r[stored].attrs.get("standard_error", dEa))
        what = f"{k} ({origin})" if origin and origin != k else k
        # decimals down to the error's first significant digit (at least two, at most four)
        nd = int(np.clip(1 - np.floor(np.log10(dEa)), 2, 4)) if np.isfinite(dEa) and dEa > 0 else 2
        text = f"{what}: E$_a$ = {Ea:.{nd}f}" + (f" ± {dEa:.{nd}f}" if np.isfinite(dEa) else "") + " eV"
        yerr = None
        if se is not None and np.any(np.isfinite(se[ok])):
            lo = np.minimum(np.nan_to_num(se[ok]), 0.9 * R[ok])              # a log axis cannot go below zero
            yerr = np.vstack([lo, np.nan_to_num(se[ok])])
        ax.errorbar(x[ok], R[ok], yerr=yerr, fmt="o", ms=3, color=col, capsize=2, lw=0.8, label=text)
        if np.isfinite(Ea):
            ax.plot(xs, np.exp(lnA + Ea / (BOLTZMANN / ELEMENTARY_CHARGE) * xs / 1000.0), "-", lw=0.8, color=col)
        if (~ok).any():
            notes.append(f"{_name(r)}, {k}: not positive at {int((~ok).sum())} temperatures (not drawn)")
    low = r.value(f"{PREFIX}/low_frequency_resistance")
    ok = np.isfinite(low) & (low > 0)
    if ok.any():
        ax.plot(x[ok], low[ok], "s--", ms=3.5, mfc="none", lw=0.7, color="0.35", label="Re Z at the lowest frequency")
    if (~ok).any():
        notes.append(f"{_name(r)}: Re Z at the lowest frequency not positive at {int((~ok).sum())} temperatures")
    ax.set_yscale("log")
    ax.set_xlabel(label("1000 / T", "1/K"))
    top = ax.secondary_xaxis("top", functions=(_inverse_to_celsius, _celsius_to_inverse))
    top.set_xlabel(label("temperature", "°C"))
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=1)


def arrhenius(results, out_dir, formats, name="impedance_arrhenius"):
    """Fitted resistances against 1000/T (log scale), one panel per file; a colour names one arc:
    the same origin (when the fit stored one) in every panel, otherwise a colour of its own."""
    fig, axes = plt.subplots(1, len(results), figsize=(3.35 * len(results), 4.0), squeeze=False, sharey=True)
    keys = []
    for r in results:
        keys += [(origin or (_name(r), k)) for k, origin, _, _ in _elements(r)]
    colors = {key: PALETTE[i % len(PALETTE)] for i, key in enumerate(dict.fromkeys(keys))}
    notes = []
    for ax, r in zip(axes[0], results):
        _arrhenius_panel(ax, r, colors, notes)
        if len(results) > 1:
            ax.set_title(_name(r), fontsize=7)
    axes[0][0].set_ylabel(label("resistance", "Ω cm²"))
    head = "fitted circuit resistances; bars: standard errors of the fits (most hidden by the markers); lines: Arrhenius fits"
    fig.suptitle("\n".join([head] + notes), fontsize=7)
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

