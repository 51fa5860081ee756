"""Figures of an uncertainty study, from its HDF5 result alone.

- `uncertainty_band_<output>`: the output's distribution along its sweep, every case overlaid: 5-95 % and
  25-75 % bands over the runs, the median and the nominal run (a scalar output: the same as a bar per case);
- `uncertainty_difference_<cases>_<output>`: a case minus the first, run by run, and the probability that
  it is negative (with its 95 % interval) along the sweep;
- `uncertainty_indices_<case>_<output>`: S1 and ST (Sobol') or mu* and sigma (Morris) as bars with their
  95 % intervals, for the inputs that reach the case, at the ends and middle of a sweep.
"""
from __future__ import annotations

import tomllib

import numpy as np
import matplotlib.pyplot as plt

from sim.figures.style import ONE_COLUMN_IN, PALETTE, TWO_COLUMN_IN, decades, label, pretty_units, save
from sim.io import long_name

TOP = "uncertainty"
#: inputs in words (the last key component, its unit suffix removed)
INPUT_WORDS = {"conductivity": "σ", "eps_r": "ε$_r$", "mu0_li": "Li$^+$ level μ$^0$", "mu0": "μ$^0$",
               "saturation_alpha": "saturation α", "frenkel_energy": "Frenkel energy", "formation_energy": "Frenkel energy",
               "ionic_fraction": "share f of the cathode potential on Li$^+$", "thickness": "thickness",
               "current_density": "current density", "potential": "potential", "temperature": "temperature",
               "defect_site_density": "Li site density N", "site_density": "Li site density N",
               "capture_radius": "capture radius", "vacancy_diffusivity_ratio": "D(V$_{Li}$)/D(Li$_i$)",
               "li_diffusivity": "Li diffusivity", "electron_fraction": "electron fraction",
               "max_polarization": "polarization budget", "asr": "interfacial ASR"}
OUTPUT_WORDS = {"total_interfacial_resistance": "total interfacial resistance (SCL excess + buffer bulk)",
                "total_excess_resistance": "total space-charge excess resistance",
                "excess_resistance": "space-charge excess resistance"}
#: outputs in words by their whole (flat) path, where the last component alone says too little
PATH_WORDS = {"polarization.total": "total polarization ΔE",
              "polarization.max_separator_thickness": "thickest separator within the budget"}
#: coordinates by their symbol in panel titles
SYMBOLS = {"cathode_potential": "U", "bulk_potential": "φ$_0$", "separator_thickness": "L", "temperature": "T",
           "loading": "loading"}
TRANSFORM_NOTE = {"none": "", "log10": "indices of log$_{10}$ of the output", "rank": "indices of the output's rank among the runs"}


def _layers(case_text):
    """{layer name: material} of a case's text, in stack order ({} without layers)."""
    try:
        layers = tomllib.loads(case_text).get("layers")
    except (tomllib.TOMLDecodeError, TypeError):
        return {}
    return {n: str(v.get("material") or n) for n, v in layers.items() if isinstance(v, dict)} if isinstance(layers, dict) else {}


def case_name(result, label_):
    """'LCO | LNO | LPS' for a pnp stack, else the case's file name in words."""
    text = result.value(f"{TOP}/{label_}/case_text")
    layers = _layers(text) if 'kind = "pnp"' in text else {}
    return " | ".join(layers.values()) if layers else label_.replace("_", " ")


def input_name(key, unit, layers=None):
    """'materials.LPS.conductivity_S_cm' -> 'σ, LPS (S/cm)'; 'cathode.ionic_fraction' -> 'share f ...'."""
    from sim.case import unit_slug
    parts = key.split(".")
    leaf = parts[-1]
    slug = unit_slug(unit) if unit else ""
    if slug and leaf.endswith(f"_{slug}"):
        leaf = leaf[:-len(slug) - 1]
    name = INPUT_WORDS.get(leaf, leaf.replace("_", " "))
    where = []
    for k, p in enumerate(parts[:-1]):
        if p in ("materials", "layers", "cathode", "current", "frenkel", "species", "budget", "interfaces"):
            continue
        if k and parts[k - 1] == "layers" and p in (layers or {}):
            p = f"{p} ({layers[p]})" if layers[p] != p else p
        where.append(p.replace("_", " "))
    return label(name + (", " + ", ".join(where) if where else ""), unit)


def output_name(flat, layers=None):
    """'pnp.sweep.observables.interface_1.right.excess_resistance' -> 'space-charge excess resistance in
    LPS (LNO | LPS)'; others by OUTPUT_WORDS, else the dataset's long name."""
    parts = flat.split(".")
    name = PATH_WORDS.get(flat) or OUTPUT_WORDS.get(parts[-1]) or long_name("/".join(parts))
    mats = list((layers or {}).values())
    for k, p in enumerate(parts[:-2]):
        if p.startswith("interface_") and p[10:].isdigit() and parts[k + 1] in ("left", "right"):
            i = int(p[10:])
            if i + 1 < len(mats):
                side = mats[i] if parts[k + 1] == "left" else mats[i + 1]
                return f"{name} in {side} ({mats[i]} | {mats[i + 1]})"
            return f"{name}, interface {i}, {parts[k + 1]} side"
    return name


def _groups(result, prefix):
    """Output groups under prefix: the children that hold `values`."""
    return [g for g in result.groups(prefix) if f"{prefix}/{g}/values" in result]


def _coord(result, g):
    """(coordinate path, Q) of an output group, or (None, None) for a scalar output."""
    dims = result[f"{g}/values"].dims
    return (dims[1], result[dims[1]]) if len(dims) == 2 else (None, None)


def _band(values):
    """5, 25, 50, 75, 95 % quantiles over the runs with a value (rows: the quantiles)."""
    v = np.asarray(values, float).reshape(len(values), -1)
    out = np.full((5, v.shape[1]), np.nan)
    for p in range(v.shape[1]):
        finite = v[:, p][np.isfinite(v[:, p])]
        if finite.size:
            out[:, p] = np.quantile(finite, [0.05, 0.25, 0.5, 0.75, 0.95])
    return out


def _yscale(ax, arrays, unit=""):
    """Log scale for positive values over more than two decades, symmetric log for both signs over more
    than three, else linear.  Returns the note a symlog axis needs ('' otherwise)."""
    v = np.concatenate([np.ravel(a) for a in arrays])
    v = v[np.isfinite(v)]
    if not v.size:
        return ""
    if v.min() > 0 and v.max() / v.min() > 100:
        ax.set_yscale("log")
    elif v.min() < 0 < v.max():
        small = np.quantile(np.abs(v[v != 0]), 0.1) if np.any(v != 0) else 1.0
        small = max(small, 1e-5 * np.abs(v).max())   # at most five decades per sign: a readable axis
        if np.abs(v).max() / small > 1e3:
            from matplotlib.ticker import FixedLocator, NullLocator
            low = np.floor(np.log10(small))
            ax.set_yscale("symlog", linthresh=10.0 ** low, linscale=0.5)
            high = np.ceil(np.log10(np.abs(v).max()))
            step = max(1.0, np.ceil((high - low) / 4))       # at most about 4 labelled decades per sign
            k = np.arange(high, low, -step)[::-1]            # not at +-linthresh: its labels would touch 0's
            ax.yaxis.set_major_locator(FixedLocator(np.concatenate([-(10.0 ** k[::-1]), [0.0], 10.0 ** k])))
            ax.yaxis.set_minor_locator(NullLocator())
            return f"symlog axis: linear within ±{decades(10.0 ** low)}" + (f" {unit}" if unit else "")
    return ""


def _wrapped(text, width=38):
    """An axis label over two lines when it is long (a rotated label longer than its axis runs into the title)."""
    import textwrap
    return "\n".join(textwrap.wrap(text, width)) if len(text) > width else text


def _title(result):
    return result.parameters.get("title") or ""


def _method_note(result, *labels):
    """'sobol, N = 32, 416 runs per case, 18 failed' (runs failed in any of the cases `labels`)."""
    runs = int(result.value(f"{TOP}/runs"))
    failed = int(np.any([np.asarray(result.value(f"{TOP}/{lab}/run_failed"), bool) for lab in labels], axis=0).sum()
                 ) if labels else 0
    n = int(result.value(f"{TOP}/base_samples"))
    return f"{result.value(f'{TOP}/method')}, N = {n}, {runs} runs per case" + (f", {failed} failed" if failed else "")


def band_figure(result, out_dir, formats, flat, labels, name):
    """Distribution of one output over the runs: a panel per case in `labels`, sharing the output axis."""
    groups = [(lab, f"{TOP}/{lab}/{flat}") for lab in labels if f"{TOP}/{lab}/{flat}/values" in result]
    if not groups:
        return []
    cpath, c = _coord(result, groups[0][1])
    if c is None:                                   # scalars: one panel, a bar per case
        return _scalar_bands(result, out_dir, formats, flat, groups, name)
    width = min(TWO_COLUMN_IN, 1.6 + 2.6 * len(groups))
    fig, axes = plt.subplots(1, len(groups), figsize=(width, 2.8), sharey=True, squeeze=False)
    arrays = []
    for k, (ax, (lab, g)) in enumerate(zip(axes[0], groups)):
        q = result[f"{g}/values"]
        band = _band(q.value)
        nominal = np.asarray(result.value(f"{g}/nominal"), float)
        _, c = _coord(result, g)
        x = np.asarray(c.value, float)
        ax.fill_between(x, band[0], band[4], color=PALETTE[0], alpha=0.2, lw=0, label="5-95 % of the runs")
        ax.fill_between(x, band[1], band[3], color=PALETTE[0], alpha=0.45, lw=0, label="25-75 %")
        ax.plot(x, band[2], color=PALETTE[0], lw=1.4, label="median")
        ax.plot(x, nominal, color=PALETTE[1], lw=1.0, ls="--", label="nominal case")
        if f"{g}/threshold" in result:
            for j, t in enumerate(np.atleast_1d(result.value(f"{g}/threshold"))):
                ax.axhline(t, color="0.3", lw=0.7, ls=":", label=None if j else "thresholds")
        failed = int(np.sum(result.value(f"{TOP}/{lab}/run_failed")))
        ax.set_title(case_name(result, lab) + (f" ({failed} runs failed)" if failed else ""), fontsize=7)
        ax.set_xlabel(label(long_name(cpath), c.units))
        arrays += [band, nominal]
    note = _yscale(axes[0][0], arrays, pretty_units(result[f"{groups[0][1]}/values"].units))
    axes[0][0].set_ylabel(_wrapped(label(name, result[f"{groups[0][1]}/values"].units)))
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, fontsize=6, loc="outside lower center", ncol=2 if len(groups) == 1 else 5)
    fig.suptitle(f"{_wrapped(_title(result), int(14 * width))}\n{_method_note(result)}" + (f"\n{note}" if note else ""),
                 fontsize=7)                      # a narrow figure wraps its title: it must not run into the y label
    return save(fig, out_dir, f"uncertainty_band_{flat.split('.')[-1]}" + ("_" + labels[0] if len(labels) == 1 else ""),
                formats)


def _scalar_bands(result, out_dir, formats, flat, groups, name):
    """A scalar output: 5-95 % and 25-75 % bars, median and nominal value per case."""
    fig, ax = plt.subplots(figsize=(ONE_COLUMN_IN * 1.5, 2.4))
    arrays = []
    for k, (lab, g) in enumerate(groups):
        band = _band(result.value(f"{g}/values"))[:, 0]
        nominal = float(result.value(f"{g}/nominal"))
        first = k == 0
        ax.plot([k, k], [band[0], band[4]], color=PALETTE[0], lw=3, alpha=0.4, label="5-95 % of the runs" if first else None)
        ax.plot([k, k], [band[1], band[3]], color=PALETTE[0], lw=7, alpha=0.8, label="25-75 %" if first else None)
        ax.plot([k], [band[2]], "o", color="k", ms=4, label="median" if first else None)
        ax.plot([k], [nominal], "x", color=PALETTE[1], ms=6, label="nominal case" if first else None)
        arrays += [band, np.array([nominal])]
        if f"{g}/threshold" in result:
            for j, t in enumerate(np.atleast_1d(result.value(f"{g}/threshold"))):
                p = float(np.atleast_1d(result.value(f"{g}/probability_below"))[j])
                c = float(np.atleast_1d(result.value(f"{g}/probability_below_conf"))[j])
                ax.plot([k - 0.3, k + 0.3], [t, t], color="0.3", lw=0.8, ls=":",
                        label=f"{t:g} {pretty_units(result[f'{g}/threshold'].units)}: {100 * p:.0f} ± {100 * c:.0f} % "
                              "of the runs below")
    ax.set_xticks(range(len(groups)), [case_name(result, lab) for lab, _ in groups])
    ax.set_xlim(-0.6, len(groups) - 0.4)
    note = _yscale(ax, arrays, pretty_units(result[f"{groups[0][1]}/values"].units))
    ax.set_ylabel(_wrapped(label(name, result[f"{groups[0][1]}/values"].units)))
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.02, 0.5))
    ax.set_title(f"{_title(result)}\n{_method_note(result, *[lab for lab, _ in groups])}" + (f"\n{note}" if note else ""),
                 fontsize=7)
    return save(fig, out_dir, f"uncertainty_band_{flat.split('.')[-1]}" + ("_" + groups[0][0] if len(groups) == 1 else ""),
                formats)


def difference_figure(result, out_dir, formats, pair, flat, first, other):
    """A case minus the first, run by run: its band, and P(difference < 0) with its 95 % interval."""
    g = f"{TOP}/difference/{pair}/{flat}"
    q = result[f"{g}/values"]
    band = _band(q.value)
    cpath, c = _coord(result, g)
    below = np.asarray(result.value(f"{g}/probability_below"), float).reshape(-1)
    conf = np.asarray(result.value(f"{g}/probability_below_conf"), float).reshape(-1)
    a, b = case_name(result, other), case_name(result, first)
    name = output_name(flat, _layers(result.value(f"{TOP}/{other}/case_text")))
    fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 3.0))
    x = np.asarray(c.value, float) if c is not None else np.zeros(1)
    style = dict(marker="o", ms=3) if x.size == 1 else {}
    axes[0].fill_between(x, band[0], band[4], color=PALETTE[0], alpha=0.18, lw=0, label="5-95 %")
    axes[0].fill_between(x, band[1], band[3], color=PALETTE[0], alpha=0.35, lw=0, label="25-75 %")
    axes[0].plot(x, band[2], color=PALETTE[0], label="median", **style)
    axes[0].axhline(0.0, color="0.4", lw=0.6, ls=":")
    note = _yscale(axes[0], [band], pretty_units(q.units))
    axes[0].set_ylabel(label("difference", q.units))
    axes[1].errorbar(x, 100 * below, yerr=100 * conf, color=PALETTE[1], marker="o", ms=3, capsize=2,
                     label=f"runs with {a} lower, 95 % interval (bootstrap)")
    axes[1].set_ylim(-2, 102)
    axes[1].set_ylabel(_wrapped(f"runs with {a} lower (%)", 24))
    handles = sum((ax.get_legend_handles_labels()[0] for ax in axes), [])
    fig.legend(handles, [h.get_label() for h in handles], fontsize=6, loc="outside lower center", ncol=4)
    for ax in axes:
        if c is not None:
            ax.set_xlabel(label(long_name(cpath), c.units))
        else:
            ax.set_xticks([])
    fig.suptitle(f"{name}: {a} minus {b}, run by run\n{_method_note(result, other, first)}" + (f"; {note}" if note else ""),
                 fontsize=7)
    return save(fig, out_dir, f"uncertainty_difference_{flat.split('.')[-1]}_{pair}", formats)


def indices_figure(result, out_dir, formats, g, title, stem, applies, layers):
    """Sensitivity indices as horizontal bars at (up to) three points of the sweep."""
    method = str(result.value(f"{TOP}/method"))
    inputs = [str(s) for s in np.atleast_1d(result.value(f"{TOP}/inputs"))]
    units = [str(s) for s in np.atleast_1d(result.value(f"{TOP}/input_units"))]
    keep = [j for j in range(len(inputs)) if applies[j]]
    a, b = ("S1", "ST") if method == "sobol" else ("mu_star", "sigma")
    A = np.atleast_2d(np.asarray(result.value(f"{g}/{a}"), float))
    B = np.atleast_2d(np.asarray(result.value(f"{g}/{b}"), float))
    Ac = np.atleast_2d(np.asarray(result.value(f"{g}/{a}_conf"), float))
    Bc = np.atleast_2d(np.asarray(result.value(f"{g}/{b}_conf"), float)) if method == "sobol" else None
    cpath, c = _coord(result, g)
    points = [0] if c is None else sorted({0, (len(c.value) - 1) // 2, len(c.value) - 1})
    points = [p for p in points if np.any(np.isfinite(A[p, keep]))]
    if not points or not keep:
        return []
    names = [input_name(inputs[j], units[j] if units[j] != "1" else "", layers) for j in keep]
    order = np.argsort(np.nan_to_num(B[points[-1], keep], nan=-1.0))        # largest at the top
    fig, axes = plt.subplots(1, len(points), figsize=(TWO_COLUMN_IN, 0.9 + 0.22 * len(keep)), sharey=True,
                             squeeze=False)
    y = np.arange(len(keep))
    out_units = result[f"{g}/values"].units
    for ax, p in zip(axes[0], points):
        ax.barh(y + 0.2, A[p, keep][order], height=0.38, xerr=Ac[p, keep][order], color=PALETTE[0],
                error_kw=dict(lw=0.7, capsize=1.5), label="first order S$_1$" if method == "sobol" else "μ*")
        ax.barh(y - 0.2, B[p, keep][order], height=0.38, xerr=None if Bc is None else Bc[p, keep][order], color=PALETTE[1],
                error_kw=dict(lw=0.7, capsize=1.5), label="total S$_T$" if method == "sobol" else "σ of the effects")
        ax.axvline(0.0, color="0.3", lw=0.5)
        if c is not None:
            symbol = SYMBOLS.get(cpath.rsplit("/", 1)[-1], long_name(cpath))
            ax.set_title(f"{symbol} = {float(np.asarray(c.value)[p]):.3g} {pretty_units(c.units)}", fontsize=7)
        ax.set_xlabel("Sobol' index" if method == "sobol" else label("elementary effect", out_units))
        if method == "sobol":
            ax.set_xlim(min(-0.05, np.nanmin((A[p, keep] - Ac[p, keep])) - 0.02), max(1.05, np.nanmax(B[p, keep] + Bc[p, keep]) + 0.02))
    axes[0][0].set_yticks(y, [names[k] for k in order], fontsize=6)
    handles, names_ = axes[0][-1].get_legend_handles_labels()   # below the panels: inside, it would cover bars
    fig.legend(handles, names_, fontsize=6, loc="outside lower center", ncol=2)
    note = TRANSFORM_NOTE.get(str(result.value(f"{g}/transform")) if f"{g}/transform" in result else "none", "")
    fig.suptitle(f"{title}\n{note + '; ' if note else ''}bars: 95 % intervals (bootstrap)", fontsize=7)
    return save(fig, out_dir, f"uncertainty_indices_{stem}", formats)


def render(result, out_dir, formats):
    if f"{TOP}/inputs" not in result:
        return []
    labels = [g for g in result.groups(TOP) if f"{TOP}/{g}/case_text" in result]
    common = [f for f in _groups(result, f"{TOP}/{labels[0]}") if all(f"{TOP}/{lab}/{f}/values" in result for lab in labels)]
    paths = []
    for flat in common:
        layers = _layers(result.value(f"{TOP}/{labels[0]}/case_text"))
        paths += band_figure(result, out_dir, formats, flat, labels, output_name(flat, layers))
    for lab in labels:
        layers = _layers(result.value(f"{TOP}/{lab}/case_text"))
        applies = np.atleast_1d(result.value(f"{TOP}/{lab}/input_applies")).astype(bool)
        for flat in _groups(result, f"{TOP}/{lab}"):
            name = output_name(flat, layers)
            if flat not in common:
                paths += band_figure(result, out_dir, formats, flat, [lab], name)
            paths += indices_figure(result, out_dir, formats, f"{TOP}/{lab}/{flat}",
                                    f"{name}, {case_name(result, lab)}", f"{lab}_{flat.split('.')[-1]}", applies, layers)
    for pair in result.groups(f"{TOP}/difference"):
        other, first = pair.split("_minus_")
        applies = (np.atleast_1d(result.value(f"{TOP}/{other}/input_applies")).astype(bool)
                   | np.atleast_1d(result.value(f"{TOP}/{first}/input_applies")).astype(bool))
        for flat in _groups(result, f"{TOP}/difference/{pair}"):
            paths += difference_figure(result, out_dir, formats, pair, flat, first, other)
            layers = _layers(result.value(f"{TOP}/{other}/case_text"))
            paths += indices_figure(result, out_dir, formats, f"{TOP}/difference/{pair}/{flat}",
                                    f"{output_name(flat, layers)}: {case_name(result, other)} minus "
                                    f"{case_name(result, first)}", f"{pair}_{flat.split('.')[-1]}", applies, layers)
    return paths
