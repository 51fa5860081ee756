"""Figure of a fit: data and fitted model overlaid (Nyquist, Bode |Z| and phase), the weighted residuals, and
the table of fitted values with their standard errors (and the fit's warnings, if any)."""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt

from sim.figures.style import PALETTE, TWO_COLUMN_IN, label, pretty_units, save

PREFIX = "fit"

#: symbols of the case keys' last part (the unit suffix removed)
SYMBOLS = {"eps_r": "ε$_r$", "D": "D", "conductivity": "σ", "mu0_li": "μ$^0$(Li$^+$)", "mu0": "μ$^0$",
           "conductivity_activation_energy": "E$_a$ of σ", "c_bulk": "c$_{bulk}$", "c_max": "c$_{max}$",
           "thickness": "L", "background": "c$_{bg}$", "D_interstitial": "D(Li$_i^•$)", "D_vacancy": "D(V$_{Li}'$)",
           "li_diffusivity": "D(Li$^+$)", "li_concentration": "c(Li)", "formation_energy": "E$_f$",
           "bulk_occupation": "θ$_b$", "saturation_alpha": "α", "site_density": "N", "frenkel_energy": "E$_f$",
           "exchange_current_density": "i$_0$", "alpha": "α", "potential": "U", "ionic_fraction": "f$_{ion}$",
           "electron_diffusivity": "D(e$'$)", "vacancy_diffusivity_ratio": "D(V$_{Li}'$)/D(Li$_i^•$)",
           "capture_radius": "r$_c$", "rate_constant": "k$_F$", "reference_temperature": "T$_{ref}$"}
_UNIT_SUFFIXES = ("_m2_s", "_S_cm", "_S_m", "_mol_m3", "_eV", "_m", "_V", "_cm3", "_1_s", "_mA_cm2", "_K", "_mAh_cm2")


def _symbol(leaf):
    for suffix in _UNIT_SUFFIXES:
        if leaf.endswith(suffix) and leaf[:-len(suffix)] in SYMBOLS:
            return SYMBOLS[leaf[:-len(suffix)]]
    return SYMBOLS.get(leaf, leaf.replace("_", " "))


def pretty_key(key, layers=None):
    """'layers.slab.species.Li.D_m2_s' -> 'D of Li in slab', 'materials.LPS.conductivity_S_cm' -> 'σ of LPS':
    a case key in words for a figure (layers named by their material where the case gives one)."""
    parts = key.split(".")
    layers = layers or {}
    sym = _symbol(parts[-1])
    if parts[0] == "layers" and len(parts) >= 3:
        where = layers.get(parts[1]) or parts[1]
        if len(parts) >= 5 and parts[2] == "species":
            return f"{sym} of {parts[3]} in {where}"
        return f"{sym} of {where}"
    if parts[0] == "materials" and len(parts) == 3:
        return f"{sym} of {parts[1]}"
    return sym if len(parts) == 1 else f"{sym} ({' '.join(parts[:-1])})"


def _value_text(v, se, unit):
    """'9.0003 ± 0.0047', '(1.0013 ± 0.0009) × 10⁻¹³ m²/s': the value to the second significant digit of its
    standard error, with one power of ten for both."""
    from sim.figures.style import pretty_units as pu
    u = f" {pu(unit)}" if unit and unit != "1" else ""
    if not np.isfinite(se) or se <= 0:
        return f"{v:.4g}{u} (standard error undefined)"
    if se > 10 * abs(v):                            # not identifiable: no digits to show
        return f"{v:.3g}{u} (standard error {se:.2g}{u})"
    exp = int(np.floor(np.log10(abs(v)))) if v != 0 else 0
    exp = 0 if -3 <= exp < 4 else exp
    m, e = v / 10.0 ** exp, se / 10.0 ** exp
    digits = max(0, min(12, 1 - int(np.floor(np.log10(e)))))
    body = f"{m:.{digits}f} ± {e:.{digits}f}"
    if exp == 0:
        return body + u
    return f"({body}) × 10{str(exp).translate(_SUPERSCRIPT)}{u}"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _sci(x):
    """'1.1 × 10⁵'"""
    e = int(np.floor(np.log10(abs(x)))) if x else 0
    return f"{x / 10.0 ** e:.2g} × 10{str(e).translate(_SUPERSCRIPT)}" if abs(e) > 3 else f"{x:.3g}"


def _groups(result):
    return sorted((g for g in result.groups(PREFIX) if g.startswith("T_")), key=lambda g: float(g[2:-1]))


def _layers(result):
    """{layer name: material} of the fitted impedance case (from its stored text)."""
    import tomllib
    try:
        doc = tomllib.loads(str(result.value(f"{PREFIX}/case_text")))
    except (tomllib.TOMLDecodeError, KeyError):
        return {}
    return {n: v.get("material") for n, v in (doc.get("layers") or {}).items() if isinstance(v, dict)}


def _nyquist_limits(Zs):
    """Equal axes from 0 that show the arcs: a capacitive tail far above the arcs (blocking electrodes) is
    cut at 1.6 times the largest Z' (the Bode plots show it)."""
    zr = max(float(np.max(Z.real)) for Z in Zs)
    zi = max(float(np.max(-Z.imag)) for Z in Zs)
    top = zr * 1.6 if zi > 3 * zr else max(zr, zi)
    return 1.05 * top


def spectrum(result, out_dir, formats):
    groups = _groups(result)
    layers = _layers(result)
    lines = len(result.value(f"{PREFIX}/parameters")) + 1 + len(warnings_in_words(result, layers))
    fig = plt.figure(figsize=(TWO_COLUMN_IN, 5.4 + 0.11 * lines))
    gs = fig.add_gridspec(3, 2, height_ratios=[1.25, 1.0, 0.09 * lines])
    a_nyq, a_mod = fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[0, 1])
    a_res, a_ph = fig.add_subplot(gs[1, 0]), fig.add_subplot(gs[1, 1])
    a_tab = fig.add_subplot(gs[2, :])
    Zd = []
    for i, g in enumerate(groups):
        p = f"{PREFIX}/{g}"
        f = result.value(f"{p}/frequency")
        data = result.value(f"{p}/z_real") + 1j * result.value(f"{p}/z_imag")
        model = result.value(f"{p}/fit_z_real") + 1j * result.value(f"{p}/fit_z_imag")
        fc = result.value(f"{p}/curve_frequency")
        curve = result.value(f"{p}/curve_z_real") + 1j * result.value(f"{p}/curve_z_imag")
        Zd.append(data)
        col = PALETTE[i % len(PALETTE)]
        T = f"{float(g[2:-1]) - 273.15:.0f} °C"
        a_nyq.plot(data.real, -data.imag, "o", ms=2.5, mfc="none", mew=0.7, color=col, label=f"data, {T}")
        a_nyq.plot(curve.real, -curve.imag, "-", lw=1.0, color=col, label=f"fit, {T}")
        a_mod.loglog(f, np.abs(data), "o", ms=2.5, mfc="none", mew=0.7, color=col, label=f"data, {T}")
        a_mod.loglog(fc, np.abs(curve), "-", lw=1.0, color=col, label=f"fit, {T}")
        a_ph.semilogx(f, -np.degrees(np.angle(data)), "o", ms=2.5, mfc="none", mew=0.7, color=col)
        a_ph.semilogx(fc, -np.degrees(np.angle(curve)), "-", lw=1.0, color=col)
        r = (model - data) / np.abs(data) * 100
        a_res.semilogx(f, r.real, "o", ms=2.5, color=col, label=f"real part, {T}")
        a_res.semilogx(f, r.imag, "^", ms=2.5, mfc="none", mew=0.7, color=col, label=f"imaginary part, {T}")
    top = _nyquist_limits(Zd)
    a_nyq.set_xlim(0, top)
    a_nyq.set_ylim(0, top)
    a_nyq.set_aspect("equal", adjustable="box")
    a_nyq.set_xlabel(label("Z′", "ohm cm^2"))
    a_nyq.set_ylabel(label("−Z″", "ohm cm^2"))
    tail = max(float(np.max(-Z.imag)) for Z in Zd)
    if tail > top:                                  # say what the frame cuts off
        a_nyq.text(0.97, 0.97, f"−Z″ rises to {_sci(tail)} {pretty_units('ohm cm^2')}\nbeyond the frame (see b)",
                   transform=a_nyq.transAxes, ha="right", va="top", fontsize=5.5, color="0.35")
        a_nyq.legend(fontsize=6, loc="center right")
    else:
        a_nyq.legend(fontsize=6, loc="best")
    a_mod.set_xlabel(label("frequency", "Hz"))
    a_mod.set_ylabel(label("|Z|", "ohm cm^2"))
    a_mod.legend(fontsize=6)
    a_ph.set_xlabel(label("frequency", "Hz"))
    a_ph.set_ylabel(label("−phase", "°"))
    rms = float(result.value(f"{PREFIX}/relative_rms_residual"))
    a_res.axhline(0.0, color="0.6", lw=0.6)
    for s in (1, -1):
        a_res.axhline(s * rms * 100, color="0.6", lw=0.6, ls="--", label="± rms" if s > 0 else None)
    a_res.set_xlabel(label("frequency", "Hz"))
    a_res.set_ylabel("(Z$_{fit}$ − Z) / |Z| (%)")
    a_res.legend(fontsize=5, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    for ax, tag in zip((a_nyq, a_mod, a_res, a_ph), "abcd"):
        ax.set_title(f"({tag})", loc="left", fontsize=7)
    _table(a_tab, result, layers, rms)
    fig.suptitle(result.parameters.get("title") or "fit", fontsize=8)
    return save(fig, out_dir, "fit_spectrum", formats)


def _table(ax, result, layers, rms):
    """The fitted values ± standard errors, start and range of each parameter; the fit's figures of merit and,
    below them in colour, its warnings."""
    ax.axis("off")
    keys = [str(k) for k in result.value(f"{PREFIX}/parameters")]
    units = [str(u) for u in result.value(f"{PREFIX}/parameter_units")]
    vals, ses = result.value(f"{PREFIX}/value"), result.value(f"{PREFIX}/standard_error")
    starts, lows, highs = (result.value(f"{PREFIX}/{k}") for k in ("start", "low", "high"))
    rows = [f"{pretty_key(k, layers)} = {_value_text(v, se, u)}    (start {s:.3g}, range {lo:.3g} to {hi:.3g})"
            for k, u, v, se, s, lo, hi in zip(keys, units, vals, ses, starts, lows, highs)]
    rows.append(f"relative rms residual {rms:.3g} (modulus weighting), {int(result.value(f'{PREFIX}/evaluations'))} "
                f"model evaluations, {'converged' if int(result.value(f'{PREFIX}/converged')) else 'NOT converged'}")
    table = ax.text(0.0, 1.0, "\n".join(rows), va="top", ha="left", fontsize=6.5, transform=ax.transAxes)
    notes = warnings_in_words(result, layers)
    if notes:
        ax.annotate("\n".join(f"warning: {n}" for n in notes), xy=(0.0, 0.0), xycoords=table, xytext=(0, -3),
                    textcoords="offset points", va="top", ha="left", fontsize=6, color=PALETTE[1])


def warnings_in_words(result, layers):
    """The stored warnings with case keys and units as a figure shows them."""
    keys = [str(k) for k in result.value(f"{PREFIX}/parameters")]
    units = {str(u) for u in result.value(f"{PREFIX}/parameter_units")}
    return [_words(str(w), keys, units, layers) for w in result.value(f"{PREFIX}/warnings") if str(w)]


def _words(note, keys, units, layers):
    """A stored warning with the case keys in words and typeset units (figures hold no raw keys)."""
    import re
    for k in sorted(keys, key=len, reverse=True):
        note = note.replace(k, pretty_key(k, layers))
    for u in sorted(units, key=len, reverse=True):
        if u and u != "1":
            note = note.replace(f" {u}", f" {pretty_units(u)}")
    return re.sub(r"\b[a-z]+(_[a-z0-9]+)+\b", lambda m: m.group(0).replace("_", " "), note)


def render(result, out_dir, formats):
    if f"{PREFIX}/parameters" not in result:
        return []
    return spectrum(result, out_dir, formats)
