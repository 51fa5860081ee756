"""SCL profiles near the interface and R_SCL / thickness against cathode potential."""
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt

from sim.pnp.carriers import IONIC, KROGER_VINK
from sim.figures.style import PALETTE, TWO_COLUMN_IN, label, save

LINESTYLES = {"Li": "-", "Li_i": "-", "V_Li": "--"}


def ionic_names(result, prefix="pnp/c"):
    """The ionic carriers stored in a result (Li+ or the Frenkel pair)."""
    return [n for n in IONIC if f"{prefix}/{n}" in result]


def _relative(c, cb):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cb > 0, c / cb, np.nan)


def profiles(result, out_dir, formats):
    x = result.value("pnp/x")
    xi = np.atleast_1d(result.value("pnp/interfaces"))
    surface = "pnp/observables/surface/bulk_potential" in result
    x0 = xi[-1] if xi.size else 0.0
    fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.6))
    for name in ionic_names(result):
        axes[0].semilogy((x - x0) * 1e9, _relative(result.value(f"pnp/c/{name}"), result.value(f"pnp/c_bulk/{name}")),
                         color=PALETTE[0], ls=LINESTYLES[name], label=KROGER_VINK[name])
    axes[0].set_ylabel("carrier concentration / bulk")
    axes[0].legend()
    axes[1].plot((x - x0) * 1e9, result.value("pnp/phi"), color=PALETTE[1])
    axes[1].set_ylabel(label("potential φ vs electrolyte bulk", "V"))
    if surface:
        width = float(result.value("pnp/observables/surface/thickness_1pct"))
        window = (0.0, max(4 * width, 1e-9) * 1e9)
        xlabel = "distance from the electrode surface"
        phi0 = float(result.value("pnp/observables/surface/bulk_potential"))
        title = f"{result.parameters.get('title') or ''}: φ(bulk) − φ(surface) = {phi0:.3g} V"
    else:      # every interface in view: from 3 nm before the first to 5 nm into the electrolyte
        window = (min((xi[0] - x0) * 1e9 - 3.0, -3.0) if xi.size else -5.0, 5.0)
        xlabel = "distance from the electrolyte interface"
        U = float(result.value("pnp/cathode_potential"))
        title = f"{result.parameters.get('title') or ''}" + ("" if np.isnan(U) else f": U = {U:.2f} V vs Li/Li$^+$")
    layers = result.parameters.get("layers", {})
    names = [str(n) for n in np.atleast_1d(result.value("pnp/layer_names"))]
    names = [f"{n} ({layers[n]['material']})" if layers.get(n, {}).get("material") else n for n in names]
    bounds = np.concatenate([[x[0]], xi, [x[-1]]]) - x0
    for ax in axes:
        ax.set_xlabel(label(xlabel, "nm"))
        ax.set_xlim(*window)
        for v in xi:
            ax.axvline((v - x0) * 1e9, color="0.5", lw=0.6, ls=":")
    for k, name in enumerate(names):         # layer names where the layer is inside the window
        lo, hi = max(bounds[k] * 1e9, window[0]), min(bounds[k + 1] * 1e9, window[1])
        if hi > lo:
            axes[1].text(0.5 * (lo + hi), 1.01, name, transform=axes[1].get_xaxis_transform(), ha="center",
                         va="bottom", fontsize=7, color="0.3")
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
    axes[0].legend()
    axes[1].plot(phi0, result.value("pnp/sweep/observables/surface/integral_capacitance") * 100, "o-", ms=3,
                 color=PALETTE[1])
    axes[1].set_ylabel(label("integral capacitance |Q|/φ0", "µF/cm²"))
    for ax in axes:
        ax.set_xlabel(label("φ(bulk) − φ(surface)", "V"))
    fig.suptitle(result.parameters.get("title") or "", fontsize=8)
    return save(fig, out_dir, "pnp_surface_sweep", formats)


def side_label(result, interface, side):
    """'LPS side of cathode|sse' from an interface name and a side, naming the layer's material."""
    layers = result.parameters.get("layers", {})
    left, _, right = str(interface).partition("|")
    layer = left if side == "left" else right
    mat = layers.get(layer, {}).get("material")
    return f"{mat or layer} side of {left}|{right}"


def sweep(result, out_dir, formats):
    U = result["pnp/sweep/cathode_potential"]
    fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.6))
    n_if = len([g for g in result.groups("pnp/sweep/observables") if g.startswith("interface_")])
    for i in range(n_if):
        g = f"pnp/sweep/observables/interface_{i}"
        name = result[f"{g}/right/excess_resistance"].attrs.get("interface", f"interface {i}")
        for j, side in enumerate(("left", "right")):
            r = result[f"{g}/{side}/excess_resistance"]
            axes[0].plot(U.value, r.value, color=PALETTE[2 * i + j], label=side_label(result, name, side))
            t = result[f"{g}/{side}/thickness_1pct"]
            axes[1].plot(U.value, t.value * 1e9, color=PALETTE[2 * i + j], label=side_label(result, name, side))
    axes[0].set_yscale("symlog", linthresh=1e-3)      # accumulation sides are negative
    axes[0].set_ylabel(label("R$_{SCL}$", "ohm cm^2"))
    axes[1].set_ylabel(label("SCL thickness (1 % criterion)", "nm"))
    for ax in axes:
        ax.set_xlabel(label("cathode potential vs Li/Li$^+$", U.units))
        ax.legend()
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


def compare(results, out_dir, formats):
    """Overlay several pnp results (e.g. with and without a LiNbO3 buffer): Li+ and phi near the
    electrolyte interface, and the electrolyte-side R_SCL and SCL thickness against potential."""
    pnp = [r for r in results if "pnp/x" in r and ionic_names(r) and np.atleast_1d(r.value("pnp/interfaces")).size]
    if len(pnp) < 2:
        return []
    paths = []
    fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.6))
    for i, r in enumerate(pnp):
        x = r.value("pnp/x")
        x0 = np.atleast_1d(r.value("pnp/interfaces"))[-1]
        name = r.parameters.get("title") or Path(str(r.path)).stem
        for sp in ionic_names(r):
            axes[0].semilogy((x - x0) * 1e9, _relative(r.value(f"pnp/c/{sp}"), r.value(f"pnp/c_bulk/{sp}")),
                             color=PALETTE[i], ls=LINESTYLES[sp], label=f"{name}: {KROGER_VINK[sp]}")
        axes[1].plot((x - x0) * 1e9, r.value("pnp/phi") - r.value("pnp/phi")[-1], color=PALETTE[i], label=name)
    axes[0].set_ylabel("carrier concentration / bulk")
    axes[1].set_ylabel(label("potential vs electrolyte bulk", "V"))
    for ax in axes:
        ax.set_xlabel(label("distance from the electrolyte interface", "nm"))
        ax.set_xlim(-8, 4)
        ax.legend(fontsize=6)
    paths += save(fig, out_dir, "compare_profiles", formats)
    swept = [r for r in pnp if "pnp/sweep/cathode_potential" in r]
    if len(swept) >= 2:
        fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.6))
        for i, r in enumerate(swept):
            n_if = len([g for g in r.groups("pnp/sweep/observables") if g.startswith("interface_")])
            g = f"pnp/sweep/observables/interface_{n_if - 1}/right"
            U = r.value("pnp/sweep/cathode_potential")
            name = r.parameters.get("title") or Path(str(r.path)).stem
            axes[0].plot(U, r.value(f"{g}/excess_resistance"), color=PALETTE[i], label=name)
            axes[0].plot(U, r.value("pnp/sweep/observables/total_excess_resistance"),
                         color=PALETTE[i], ls="--", label=f"{name}: total")
            axes[1].plot(U, r.value(f"{g}/thickness_1pct") * 1e9, color=PALETTE[i], label=name)
        axes[0].set_yscale("symlog", linthresh=1e-3)   # accumulation sides are negative
        axes[0].set_ylabel(label("R$_{SCL}$, electrolyte side", "ohm cm^2"))
        axes[1].set_ylabel(label("electrolyte SCL thickness (1 %)", "nm"))
        for ax in axes:
            ax.set_xlabel(label("cathode potential vs Li/Li$^+$", "V"))
        axes[0].legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1)
        axes[1].legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1)
        paths += save(fig, out_dir, "compare_rscl_vs_potential", formats)
    transients = [r for r in pnp if "pnp/transient/voltage" in r]
    if len(transients) >= 2:
        paths += transient_rscl(transients, out_dir, formats)
    return paths


def _last_interface(result, prefix):
    return len([g for g in result.groups(prefix) if g.startswith("interface_")])


def transient_voltage(result, out_dir, formats):
    """Cell voltage and OCV against time (top) and the overpotential split by origin (bottom, lines:
    parts can be negative, e.g. an accumulation layer that conducts better than the bulk)."""
    labels = result.value("pnp/transient/run_label")
    n_if = _last_interface(result, "pnp/transient/breakdown")
    fig, axes = plt.subplots(2, len(labels), figsize=(TWO_COLUMN_IN, 4.0), squeeze=False, sharex="col")
    for i, lab in enumerate(labels):
        top, bot = axes[0][i], axes[1][i]
        t = result.value("pnp/transient/time")[i]
        ok = np.isfinite(t)
        ocv = result.value("pnp/transient/ocv")[i]
        if np.any(np.isfinite(ocv[ok])):
            top.plot(t[ok], ocv[ok], color="0.5", lw=0.8, label="OCV")
        top.plot(t[ok], result.value("pnp/transient/voltage")[i][ok], "k", lw=1.0, label="cell voltage")
        parts = [("total", result.value("pnp/transient/overpotential")[i]),
                 ("bulk ohmic", result.value("pnp/transient/breakdown/bulk_ohmic")[i])]
        for k in range(n_if):
            g = f"pnp/transient/breakdown/interface_{k}"
            name = result[f"pnp/transient/observables/interface_{k}/right/excess_resistance"].attrs.get("interface", f"if {k}")
            parts += [(f"SCL, {side_label(result, name, 'left')}", result.value(f"{g}/left/scl")[i]),
                      (f"SCL, {side_label(result, name, 'right')}", result.value(f"{g}/right/scl")[i]),
                      (f"kinetic {name}", result.value(f"{g}/kinetic")[i])]
        for j, (name, v) in enumerate(parts):
            bot.plot(t[ok], v[ok] * 1e3, color="k" if j == 0 else PALETTE[(j - 1) % len(PALETTE)],
                     lw=1.2 if j == 0 else 0.9, ls="-" if j < 2 else ("--", ":", "-.")[(j - 2) % 3], label=name)
        bot.axhline(0, color="0.7", lw=0.5)
        top.set_title(str(lab).replace("^2", "²"))
        bot.set_xlim(0, float(np.nanmax(t)))              # linear time: the whole charge is visible
        bot.set_xlabel(label("time", "s"))
    axes[0][0].set_ylabel(label("voltage vs Li/Li$^+$", "V"))
    axes[1][0].set_ylabel(label("overpotential", "mV"))
    axes[0][0].legend(fontsize=6)
    handles, names = axes[1][-1].get_legend_handles_labels()
    fig.legend(handles, names, fontsize=6, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3)
    return save(fig, out_dir, "transient_voltage_breakdown", formats)


def transient_profiles(result, out_dir, formats):
    """Li+ near the electrolyte interface at several times, for the highest-current run."""
    x = result.value("pnp/x")
    xi = np.atleast_1d(result.value("pnp/interfaces"))
    x0 = xi[-1]
    t = result.value("pnp/transient/time")
    # the carrier whose profile changes most over the highest-current run
    names = ionic_names(result, "pnp/transient/c")
    last = lambda c_, i_: c_[i_, np.flatnonzero(np.isfinite(t[i_]))[-1]]
    change = [np.nanmax(np.abs(_relative(last(result.value(f"pnp/transient/c/{n}"), -1), result.value(f"pnp/c_bulk/{n}"))
                               - _relative(result.value(f"pnp/transient/c/{n}")[-1, 0], result.value(f"pnp/c_bulk/{n}"))))
              for n in names]
    carrier = names[int(np.nanargmax(change))]
    cb = result.value(f"pnp/c_bulk/{carrier}")
    c = result.value(f"pnp/transient/c/{carrier}")
    i = len(c) - 1
    fig, ax = plt.subplots()
    ti = t[i]
    t_last = np.nanmax(ti)
    # snapshots spread over the charge (linear in time), from the stored states
    idx = sorted({int(np.nanargmin(np.abs(ti - f * t_last))) for f in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)})
    for j, k in enumerate(idx):
        with np.errstate(divide="ignore", invalid="ignore"):
            ax.semilogy((x - x0) * 1e9, np.where(cb > 0, c[i, k] / cb, np.nan), color=PALETTE[j % len(PALETTE)],
                        label=f"t = {t[i, k]:.3g} s")
    ax.set_xlim(min((xi[0] - x0) * 1e9 - 3.0, -3.0), 3.0)     # every interface in view
    for v in xi:
        ax.axvline((v - x0) * 1e9, color="0.5", lw=0.6, ls=":")
    ax.set_xlabel(label("distance from the electrolyte interface", "nm"))
    ax.set_ylabel(f"{KROGER_VINK[carrier]} concentration / bulk")
    ax.set_title(f"{result.parameters.get('title') or ''}, {result.value('pnp/transient/run_label')[i]}".replace("^2", "²"),
                 fontsize=7)
    ax.legend(fontsize=6)
    return save(fig, out_dir, "transient_li_profiles", formats)


def transient_rscl(results, out_dir, formats):
    """Electrolyte-side R_SCL and total interfacial ASR against time, for one or more files."""
    fig, ax = plt.subplots(figsize=(3.35, 3.4))
    for f, r in enumerate(results):
        n_if = _last_interface(r, "pnp/transient/observables")
        R = r.value(f"pnp/transient/observables/interface_{n_if - 1}/right/excess_resistance")
        tot = r.value("pnp/transient/observables/total_excess_resistance")
        t = r.value("pnp/transient/time")
        name = r.parameters.get("title") or Path(str(r.path)).stem
        for i, lab in enumerate(r.value("pnp/transient/run_label")):
            ok = np.isfinite(t[i]) & (t[i] > 0)
            ls = ["-", "--", ":", "-."][i % 4]
            lab = str(lab).replace("^2", "²")
            ax.plot(t[i][ok], R[i][ok], color=PALETTE[f], ls=ls, label=f"{name}, {lab}: electrolyte side")
            ax.plot(t[i][ok], tot[i][ok], color=PALETTE[f + 2], ls=ls, lw=0.8, label=f"{name}, {lab}: total")
    ax.set_xscale("log")
    vals = np.concatenate([np.ravel(r.value("pnp/transient/observables/total_excess_resistance")) for r in results])
    if np.nanmin(vals) < 0:
        ax.set_yscale("symlog", linthresh=1e-3)        # negative values: the SCL conducts better than the bulk
    else:
        ax.set_yscale("log")
    ax.set_xlabel(label("time", "s"))
    ax.set_ylabel(label("R$_{SCL}$", "ohm cm^2"))
    ax.set_title("electrolyte side, and total over every side", fontsize=7)
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=1)
    return save(fig, out_dir, "transient_rscl_vs_time" if len(results) == 1 else "compare_transient_rscl", formats)
