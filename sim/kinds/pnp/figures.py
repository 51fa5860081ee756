"""SCL profiles near the interface, the excess resistance ΔR_SCL and the SCL thickness against the
cathode potential, and charging transients (voltage, overpotential by origin, profiles, ΔR_SCL)."""
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from sim.pnp.carriers import IONIC, KROGER_VINK
from sim.figures.referee import MAX_DECADES
from sim.figures.style import (EXCESS_R, NEGATIVE_EXCESS, PALETTE, TWO_COLUMN_IN, coincide, decades, label,
                               missing_note, save, value_scale, wide_range)

LINESTYLES = {"Li": "-", "Li_i": "-", "V_Li": "--"}
RUN_STYLES = ["-", "--", ":", "-."]


def ionic_names(result, prefix="pnp/c"):
    """The ionic carriers stored in a result (Li+ or the Frenkel pair)."""
    return [n for n in IONIC if f"{prefix}/{n}" in result]


def _relative(c, cb):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cb > 0, c / cb, np.nan)


def stack_name(result):
    return result.parameters.get("title") or Path(str(result.path)).stem


def layer_materials(result):
    """Material of each layer in stack order ('LCO', 'LNO', 'LPS'); the layer's name if it has none."""
    layers = result.parameters.get("layers", {})
    return [str(layers.get(n, {}).get("material") or n) for n in np.atleast_1d(result.value("pnp/layer_names"))]


def side_label(result, interface, side):
    """'LPS side of LNO | LPS' from an interface name ('buffer|sse') and a side, in materials."""
    layers = result.parameters.get("layers", {})
    left, _, right = str(interface).partition("|")
    mat = {n: layers.get(n, {}).get("material") or n for n in (left, right)}
    return f"{mat[left if side == 'left' else right]} side of {mat[left]} | {mat[right]}"


def _region_labels(ax, bounds, names, window, row=0, color="0.3"):
    """Layer names above the axes (row 0 just above the frame, each further row 9 points higher),
    centred on the part of each layer inside the x window (none for a single layer: the title names it)."""
    if len(names) < 2:
        return
    from matplotlib.transforms import offset_copy
    above = offset_copy(ax.get_xaxis_transform(), fig=ax.figure, y=2 + 9 * row, units="points")
    for k, name in enumerate(names):
        lo, hi = max(bounds[k], window[0]), min(bounds[k + 1], window[1])
        if hi - lo > 0.06 * (window[1] - window[0]):
            ax.text(0.5 * (lo + hi), 1.0, name, transform=above, ha="center", va="bottom", fontsize=7, color=color)


def _state_decades(ax, curves, where):
    """If the visible carrier ratios span more than the referee's limit, say which carrier reaches
    how far (the depletion is the physics, not a plotting accident)."""
    lo, hi, name = np.inf, 0.0, ""
    x0, x1 = ax.get_xlim()
    for kv, x, v in curves:
        ok = np.isfinite(v) & (v > 0) & (x >= x0) & (x <= x1)
        if ok.any():
            hi = max(hi, float(v[ok].max()))
            if v[ok].min() < lo:
                lo, name = float(v[ok].min()), kv
    if hi > 0 and np.log10(hi / lo) > MAX_DECADES:
        wide_range(ax, f"{name} falls to {decades(10 ** np.floor(np.log10(lo)))} of its bulk value {where}")


def profiles(result, out_dir, formats):
    x = result.value("pnp/x")
    xi = np.atleast_1d(result.value("pnp/interfaces"))
    surface = "pnp/observables/surface/bulk_potential" in result
    x0 = xi[-1] if xi.size else 0.0
    xn = (x - x0) * 1e9
    fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.8))
    curves = []
    for name in ionic_names(result):
        rel = _relative(result.value(f"pnp/c/{name}"), result.value(f"pnp/c_bulk/{name}"))
        axes[0].semilogy(xn, rel, color=PALETTE[0], ls=LINESTYLES[name], label=KROGER_VINK[name])
        curves.append((KROGER_VINK[name], xn, rel))
    axes[0].set_ylabel("carrier concentration / bulk")
    axes[1].plot(xn, result.value("pnp/phi"), color=PALETTE[1])
    title = stack_name(result)
    if surface:
        width = float(result.value("pnp/observables/surface/thickness_1pct"))
        window = (0.0, max(4 * width, 1e-9) * 1e9)
        xlabel = "distance from the electrode surface"
        phi0 = float(result.value("pnp/observables/surface/bulk_potential"))
        title += f": φ(bulk) − φ(surface) = {phi0:.3g} V"
        axes[1].set_ylabel(label("potential φ vs the bulk", "V"))
    else:      # every interface in view: from 3 nm before the first to 5 nm into the electrolyte
        window = (min((xi[0] - x0) * 1e9 - 3.0, -3.0) if xi.size else -5.0, 5.0)
        xlabel = "distance from the electrolyte interface"
        axes[1].set_ylabel(label("potential φ vs electrolyte bulk", "V"))
        U = float(result.value("pnp/cathode_potential"))
        when = ", t = 0 (before the current)" if "pnp/transient/voltage" in result else ""
        title += when + ("" if np.isnan(U) else f": U = {U:.2f} V vs Li/Li$^+$")
    bounds = np.concatenate([[x[0]], xi, [x[-1]]]) - x0
    for ax in axes:
        ax.set_xlabel(label(xlabel, "nm"))
        ax.set_xlim(*window)
        for v in xi:
            ax.axvline((v - x0) * 1e9, color="0.5", lw=0.6, ls=":")
        _region_labels(ax, bounds * 1e9, layer_materials(result), window)
    _state_decades(axes[0], curves, "at the surface" if surface else "near an interface")
    axes[0].legend(loc="center right" if surface else "best")
    fig.suptitle(title, fontsize=8)
    return save(fig, out_dir, "pnp_profiles", formats)


def surface_sweep(result, out_dir, formats):
    """One-sided double layer against its bulk potential: charge with the exact first integral of
    the Frenkel model, and the integral capacitance."""
    phi0 = result.value("pnp/sweep/bulk_potential")
    q = np.abs(result.value("pnp/sweep/observables/surface/scl_charge"))
    fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.6))
    axes[0].plot(phi0, q, "o", ms=3, color=PALETTE[0], label="this code")
    ref = "pnp/sweep/first_integral_charge"
    if ref in result:
        axes[0].plot(phi0, result.value(ref), "-", lw=0.8, color="k", label="exact first integral")
    axes[0].set_ylabel(label("double-layer charge |Q|", "C/m²"))
    axes[0].legend(loc="lower right")
    axes[1].plot(phi0, result.value("pnp/sweep/observables/surface/integral_capacitance") * 100, "o-", ms=3,
                 color=PALETTE[1])
    axes[1].set_ylabel(label("integral capacitance |Q|/φ0", "µF/cm²"))
    for ax in axes:
        ax.set_xlabel(label("φ(bulk) − φ(surface)", "V"))
    fig.suptitle(stack_name(result), fontsize=8)
    return save(fig, out_dir, "pnp_surface_sweep", formats)


def _interfaces(result, prefix):
    return sorted((g for g in result.groups(prefix) if g.startswith("interface_")), key=lambda g: int(g[10:]))


def _title(fig, head, *notes):
    fig.suptitle("\n".join([head] + [n for n in notes if n]), fontsize=7)


def sweep(result, out_dir, formats):
    """ΔR_SCL and the 1 % thickness of every side of every interface against the cathode potential."""
    U = result["pnp/sweep/cathode_potential"]
    interfaces = _interfaces(result, "pnp/sweep/observables")
    # each interface adds a legend row under the panels: the axes keep their height (and room for the y labels)
    fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.9 + 0.35 * max(0, len(interfaces) - 1)))
    values, notes = [], []
    for i, g in enumerate(interfaces):
        g = f"pnp/sweep/observables/{g}"
        name = result[f"{g}/right/excess_resistance"].attrs.get("interface", f"interface {i}")
        for j, side in enumerate(("left", "right")):
            col, lab = PALETTE[(2 * i + j) % len(PALETTE)], side_label(result, name, side)
            r = result[f"{g}/{side}/excess_resistance"]
            notes.append(missing_note(r, f"ΔR$_{{SCL}}$, {lab}"))
            if np.isfinite(r.value).any():
                axes[0].plot(U.value, r.value, color=col, label=lab)
            values.append(r.value)
            axes[1].plot(U.value, result.value(f"{g}/{side}/thickness_1pct") * 1e9, color=col, label=lab)
    scale = value_scale(axes[0], np.concatenate(values), "y", "Ω cm²")
    axes[0].set_ylabel(label(EXCESS_R, "ohm cm^2"))
    axes[1].set_ylabel(label("SCL thickness (1 %)", "nm"))
    for ax in axes:
        ax.set_xlabel(label("cathode potential vs Li/Li$^+$", U.units))
    handles, names = axes[1].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=2, fontsize=6)
    _title(fig, f"{stack_name(result)} against the cathode potential",
           "; ".join(n for n in (NEGATIVE_EXCESS, scale) if n), *notes)
    return save(fig, out_dir, "pnp_sweep_rscl_thickness", formats)


def render(result, out_dir, formats):
    paths = []
    if "pnp/x" in result and ionic_names(result):
        paths += profiles(result, out_dir, formats)
    if "pnp/sweep/cathode_potential" in result:
        paths += sweep(result, out_dir, formats)
    if "pnp/sweep/bulk_potential" in result:
        paths += surface_sweep(result, out_dir, formats)
    if "pnp/transient/voltage" in result:
        paths += transient_voltage(result, out_dir, formats)
        paths += transient_profiles(result, out_dir, formats)
        paths += transient_rscl([result], out_dir, formats)
    return paths


def compare_profiles(results, out_dir, formats):
    """Carriers and φ near the electrolyte interface of several stacks, each stack's interfaces and
    layers marked in its colour."""
    fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.6 + 0.2 * len(results)))   # room for the legends
    window = (-8.0, 4.0)
    for i, r in enumerate(results):
        x = r.value("pnp/x")
        xi = np.atleast_1d(r.value("pnp/interfaces"))
        x0, col, name = xi[-1], PALETTE[i % len(PALETTE)], stack_name(r)
        for sp in ionic_names(r):
            axes[0].semilogy((x - x0) * 1e9, _relative(r.value(f"pnp/c/{sp}"), r.value(f"pnp/c_bulk/{sp}")),
                             color=col, ls=LINESTYLES[sp], label=f"{name}: {KROGER_VINK[sp]}")
        axes[1].plot((x - x0) * 1e9, r.value("pnp/phi") - r.value("pnp/phi")[-1], color=col, label=name)
        bounds = (np.concatenate([[x[0]], xi, [x[-1]]]) - x0) * 1e9
        for ax in axes:
            for v in xi:
                ax.axvline((v - x0) * 1e9, color=col, lw=0.7, ls=":")
            if len(results) <= 3:                  # a row of layer names per stack, while they fit
                _region_labels(ax, bounds, layer_materials(r), window, row=i, color=col)
    axes[0].set_ylabel("carrier concentration / bulk")
    axes[1].set_ylabel(label("potential vs electrolyte bulk", "V"))
    for ax in axes:
        ax.set_xlabel(label("distance from the electrolyte interface", "nm"))
        ax.set_xlim(*window)
    axes[0].legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    axes[1].legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=1)
    for ax in axes:
        ax.set_xlim(*window)
    lines = axes[1].get_lines()
    phi = [ln for ln in lines if not ln.get_label().startswith("_")]
    same = [f"{a.get_label()} and {b.get_label()}" for i, a in enumerate(phi) for b in phi[i + 1:]
            if coincide(axes[1], [a.get_xydata().T, b.get_xydata().T])]
    _title(fig, "space-charge layers of each stack (dotted: its interfaces" +
           ("; layers named above, in its colour)" if len(results) <= 3 else ")"),
           ("coincide: " + "; ".join(same)) if same else "")
    return save(fig, out_dir, "compare_profiles", formats)


def compare(results, out_dir, formats):
    """Overlay several pnp results (e.g. with and without a LiNbO3 buffer): carriers and φ near the
    electrolyte interface, and the electrolyte-side ΔR_SCL and SCL thickness against potential."""
    pnp = [r for r in results if "pnp/x" in r and ionic_names(r) and np.atleast_1d(r.value("pnp/interfaces")).size]
    if len(pnp) < 2:
        return []
    paths = compare_profiles(pnp, out_dir, formats)
    swept = [r for r in pnp if "pnp/sweep/cathode_potential" in r]
    if len(swept) >= 2:
        fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 3.2))
        values, notes, pairs = [], [], []
        for i, r in enumerate(swept):
            g = f"pnp/sweep/observables/{_interfaces(r, 'pnp/sweep/observables')[-1]}/right"
            U = r.value("pnp/sweep/cathode_potential")
            name, col = stack_name(r), PALETTE[i % len(PALETTE)]
            pair = (name, [(U, q.value) for q in (r[f"{g}/excess_resistance"], r["pnp/sweep/observables/total_excess_resistance"])])
            pairs.append(pair)
            for q, ls, what in ((r[f"{g}/excess_resistance"], "-", "electrolyte side"),
                                (r["pnp/sweep/observables/total_excess_resistance"], "--", "sum over all sides")):
                notes.append(missing_note(q, f"{name}, {what}"))
                if np.isfinite(q.value).any():
                    axes[0].plot(U, q.value, color=col, ls=ls, label=f"{name}: {what}")
                values.append(q.value)
            axes[1].plot(U, r.value(f"{g}/thickness_1pct") * 1e9, color=col, label=name)
        scale = value_scale(axes[0], np.concatenate(values), "y", "Ω cm²")
        notes += [f"{name}: the electrolyte side and the sum over all sides coincide" for name, c in pairs
                  if coincide(axes[0], c)]
        notes.append("SCL thickness: 1 % criterion")
        axes[0].set_ylabel(label(EXCESS_R, "ohm cm^2"))
        axes[1].set_ylabel(label("SCL thickness, electrolyte", "nm"))
        for ax in axes:
            ax.set_xlabel(label("cathode potential vs Li/Li$^+$", "V"))
        axes[0].legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=1)
        axes[1].legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=1)
        _title(fig, "space-charge layers against the cathode potential",
               "; ".join(n for n in (NEGATIVE_EXCESS, scale) if n), *notes)
        paths += save(fig, out_dir, "compare_rscl_vs_potential", formats)
    transients = [r for r in pnp if "pnp/transient/voltage" in r]
    if len(transients) >= 2:
        paths += transient_rscl(transients, out_dir, formats)
    return paths


def _run_label(lab):
    return str(lab).replace("^2", "²")


def transient_voltage(result, out_dir, formats):
    """Cell voltage and OCV against time (top, linear time: the whole charge), and the overpotential
    split by origin (bottom, log time from the first stored step: the early relaxation is visible;
    symlog: parts can be negative, e.g. an accumulation layer that conducts better than the bulk)."""
    labels = result.value("pnp/transient/run_label")
    fig, axes = plt.subplots(2, len(labels), figsize=(TWO_COLUMN_IN, 5.2), squeeze=False,
                             gridspec_kw={"height_ratios": (1.0, 1.6)})   # symlog decades need height
    parts_all = []
    for i, lab in enumerate(labels):
        top, bot = axes[0][i], axes[1][i]
        t = result.value("pnp/transient/time")[i]
        ok = np.isfinite(t)
        ocv = result.value("pnp/transient/ocv")[i]
        if np.any(np.isfinite(ocv[ok])):
            top.plot(t[ok], ocv[ok], color="0.5", lw=0.8, label="OCV")
        top.plot(t[ok], result.value("pnp/transient/voltage")[i][ok], "k", lw=1.0, label="cell voltage")
        top.set_xlim(0, float(np.nanmax(t)))
        top.set_xlabel(label("time", "s"))
        top.set_title(_run_label(lab))
        parts = [("total", result.value("pnp/transient/overpotential")[i]),
                 ("bulk ohmic", result.value("pnp/transient/breakdown/bulk_ohmic")[i])]
        for g in _interfaces(result, "pnp/transient/breakdown"):
            name = result[f"pnp/transient/observables/{g}/right/excess_resistance"].attrs.get("interface", g)
            parts += [(f"SCL, {side_label(result, name, 'left')}", result.value(f"pnp/transient/breakdown/{g}/left/scl")[i]),
                      (f"SCL, {side_label(result, name, 'right')}", result.value(f"pnp/transient/breakdown/{g}/right/scl")[i]),
                      (f"kinetic, {side_label(result, name, 'left').split(' of ')[1]}",
                       result.value(f"pnp/transient/breakdown/{g}/kinetic")[i])]
        pos = ok & (t > 0)
        for j, (name, v) in enumerate(parts):
            bot.plot(t[pos], v[pos] * 1e3, color="k" if j == 0 else PALETTE[(j - 1) % len(PALETTE)],
                     lw=1.2 if j == 0 else 0.9, ls="-" if j < 2 else ("--", ":", "-.")[(j - 2) % 3], label=name)
            parts_all.append(v[pos] * 1e3)
        bot.set_xscale("log")
        bot.set_xlabel(label("time", "s"))
    notes = [value_scale(ax, np.concatenate(parts_all), "y", "mV") for ax in axes[1]]
    axes[0][0].set_ylabel(label("voltage vs Li/Li$^+$", "V"))
    axes[1][0].set_ylabel(label("overpotential", "mV"))
    axes[0][0].legend(fontsize=6, loc="lower right")
    handles, names = axes[1][-1].get_legend_handles_labels()
    fig.legend(handles, names, fontsize=6, loc="outside lower center", ncol=3)
    _title(fig, f"{stack_name(result)}: cell voltage (top) and overpotential by origin (bottom)", notes[0])
    return save(fig, out_dir, "transient_voltage_breakdown", formats)


def _time_labels(times):
    """One format for every snapshot time: minutes with the decimals the spacing needs (seconds for
    runs shorter than two minutes)."""
    t = np.asarray(times, float)
    unit, f = ("min", 60.0) if np.nanmax(t) >= 120 else ("s", 1.0)
    step = np.min(np.diff(np.unique(t / f))) if len(np.unique(t)) > 1 else 1.0
    digits = int(max(0, -np.floor(np.log10(step)))) if step > 0 else 0
    return [f"t = {v / f:.{digits}f} {unit}" for v in t]


def transient_profiles(result, out_dir, formats):
    """The carrier whose profile changes most, near the electrolyte interface, at six times of the
    highest-current run: the profile (left) and its change since t = 0 (right), coloured by time."""
    x = result.value("pnp/x")
    xi = np.atleast_1d(result.value("pnp/interfaces"))
    x0 = xi[-1]
    t = result.value("pnp/transient/time")
    names = ionic_names(result, "pnp/transient/c")
    last = lambda c_, i_: c_[i_, np.flatnonzero(np.isfinite(t[i_]))[-1]]  # noqa: E731
    change = [np.nanmax(np.abs(_relative(last(result.value(f"pnp/transient/c/{n}"), -1), result.value(f"pnp/c_bulk/{n}"))
                               - _relative(result.value(f"pnp/transient/c/{n}")[-1, 0], result.value(f"pnp/c_bulk/{n}"))))
              for n in names]
    carrier = names[int(np.nanargmax(change))]
    cb = result.value(f"pnp/c_bulk/{carrier}")
    c = result.value(f"pnp/transient/c/{carrier}")
    i = len(c) - 1
    ti = t[i]
    t_last = np.nanmax(ti)
    # snapshots spread over the charge (linear in time), from the stored states
    idx = sorted({int(np.nanargmin(np.abs(ti - f * t_last))) for f in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)})
    colors = plt.get_cmap("cividis")(np.linspace(0.0, 0.9, len(idx)))
    xn = (x - x0) * 1e9
    window = (min((xi[0] - x0) * 1e9 - 3.0, -3.0), 3.0)       # every interface in view
    fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.8))
    base = _relative(c[i, idx[0]], cb)
    for k, lab, col in zip(idx, _time_labels(ti[idx]), colors):
        rel = _relative(c[i, k], cb)
        axes[0].semilogy(xn, rel, color=col, label=lab)
        axes[1].plot(xn, rel - base, color=col, label=lab)
    bounds = (np.concatenate([[x[0]], xi, [x[-1]]]) - x0) * 1e9
    for ax in axes:
        ax.set_xlim(*window)
        for v in xi:
            ax.axvline((v - x0) * 1e9, color="0.5", lw=0.6, ls=":")
        ax.set_xlabel(label("distance from the electrolyte interface", "nm"))
        _region_labels(ax, bounds, layer_materials(result), window)
    kv = KROGER_VINK[carrier]
    axes[0].set_ylabel(f"{kv} concentration / bulk")
    axes[1].set_ylabel(f"change since t = 0, {kv} / bulk")
    handles, names_ = axes[1].get_legend_handles_labels()
    fig.legend(handles, names_, fontsize=6, loc="outside right upper")
    _title(fig, f"{stack_name(result)}, {_run_label(result.value('pnp/transient/run_label')[i])}: "
                f"{kv} during the charge")
    return save(fig, out_dir, "transient_li_profiles", formats)


def transient_rscl(results, out_dir, formats):
    """ΔR_SCL of the electrolyte side (left) and the sum over every side of every interface (right)
    against time: one file coloured by current density, several coloured by stack with one line
    style per current density."""
    fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.9))
    values = [[], []]
    notes = []
    many = len(results) > 1
    runs = []
    for f, r in enumerate(results):
        g = _interfaces(r, "pnp/transient/observables")[-1]
        side = r[f"pnp/transient/observables/{g}/right/excess_resistance"]
        tot = r["pnp/transient/observables/total_excess_resistance"]
        t = r.value("pnp/transient/time")
        name = stack_name(r)
        for i, lab in enumerate(r.value("pnp/transient/run_label")):
            lab = _run_label(lab)
            if lab not in runs:
                runs.append(lab)
            ok = np.isfinite(t[i]) & (t[i] > 0)
            col = PALETTE[f % len(PALETTE)] if many else PALETTE[i % len(PALETTE)]
            ls = RUN_STYLES[runs.index(lab) % 4] if many else "-"
            for k, q in enumerate((side, tot)):
                v = q.value[i]
                if np.isfinite(v[ok]).any():
                    axes[k].plot(t[i][ok], v[ok], color=col, ls=ls, label=f"{name}, {lab}" if many else lab)
                values[k].append(v[ok])
        for q, what in ((side, "electrolyte side"), (tot, "all sides")):
            notes.append(missing_note(q, f"{name}, {what}"))
    scales = []
    for ax, v, what in zip(axes, values, ("electrolyte side", "sum over every side of every interface")):
        ax.set_xscale("log")
        note = value_scale(ax, np.concatenate(v), "y", "Ω cm²")
        scales.append(f"{'left' if ax is axes[0] else 'right'}: {note}" if note else "")
        ax.set_xlabel(label("time", "s"))
        ax.set_ylabel(label(EXCESS_R, "ohm cm^2"))
        ax.set_title(what, fontsize=7)
    if many:
        stacks = [Line2D([], [], color=PALETTE[f % len(PALETTE)], label=stack_name(r)) for f, r in enumerate(results)]
        currents = [Line2D([], [], color="0.3", ls=RUN_STYLES[k % 4], label=lab) for k, lab in enumerate(runs)]
        fig.legend(handles=stacks + currents, fontsize=6, loc="outside lower center", ncol=len(stacks) + len(currents))
        head = "space-charge excess resistance during the charge"
    else:
        handles, names = axes[0].get_legend_handles_labels()
        if not handles:
            handles, names = axes[1].get_legend_handles_labels()
        fig.legend(handles, names, fontsize=6, loc="outside lower center", ncol=len(names))
        head = f"{stack_name(results[0])}: space-charge excess resistance during the charge"
    if many:
        for k, what in enumerate(("electrolyte side", "sum over all sides")):
            for f, r in enumerate(results):
                curves = [(line.get_xdata(), line.get_ydata()) for line in axes[k].get_lines()
                          if line.get_label().startswith(f"{stack_name(r)}, ")]
                if len(curves) > 1 and coincide(axes[k], curves):
                    notes.append(f"{stack_name(r)}, {what}: the {len(curves)} current densities coincide at this scale")
    scale = "; ".join(s for s in scales if s)
    _title(fig, head, "; ".join(n for n in (NEGATIVE_EXCESS, scale) if n), *notes)
    return save(fig, out_dir, "transient_rscl_vs_time" if not many else "compare_transient_rscl", formats)
