"""Sweep summaries: lines against one varied parameter, heat maps with contours for two."""
import json
import textwrap

import numpy as np
import matplotlib.pyplot as plt

from sim.studies.store import read_summary
from sim.figures.style import (NEGATIVE_EXCESS, PALETTE, TWO_COLUMN_IN, decades, label, pretty_units, save,
                               symlog_threshold, value_scale)
from sim.errors import ResultFileError
from sim.schema import suggest


NAMES = {"total_excess_resistance": "total interfacial excess resistance", "excess_resistance": "excess ΔR$_{SCL}$",
         "thickness_1pct": "SCL thickness (1 %)",
         "differential_capacitance": "differential capacitance", "potential_drop": "potential drop",
         "mu0_li_eV": "Li$^+$ level", "eps_r": "ε$_r$", "thickness_m": "thickness", "charge": "SCL charge",
         "specific_energy": "specific energy", "energy_density": "energy density", "conductivity_S_cm": "σ",
         "frenkel_energy_eV": "Frenkel energy", "saturation_alpha": "saturation α"}
#: display scale of SI units for small values
DISPLAY = {"m": [(1e-6, "nm", 1e9), (1e-3, "µm", 1e6)]}


def pretty(key, layers=None):
    """'materials.LCO.mu0_li_eV' -> 'Li+ level, LCO'; 'pnp.observables.interface_1.right.excess_resistance' ->
    'R_SCL in LPS (LNO|LPS)' when the base case's layers {name: material} are known (else 'R_SCL,
    interface 1, right side'); 'layers.buffer.thickness_m' -> 'thickness, buffer (LNO)'."""
    parts = [p for p in key.replace("param:", "").split(".") if p not in ("pnp", "observables")]
    name = NAMES.get(parts[-1], parts[-1].replace("_", " "))
    mats = list((layers or {}).values())
    if (len(parts) == 3 and parts[0].startswith("interface_") and parts[1] in ("left", "right")
            and parts[0][10:].isdigit() and int(parts[0][10:]) + 1 < len(mats)):
        i = int(parts[0][10:])
        side = mats[i] if parts[1] == "left" else mats[i + 1]
        return f"{name} in {side} ({mats[i]}|{mats[i + 1]})"
    where = []
    for k, p in enumerate(parts[:-1]):
        if p in ("materials", "layers", "cathode"):
            continue
        if k > 0 and parts[k - 1] == "layers" and p in (layers or {}):
            p = f"{p} ({layers[p]})"
        where.append(p.replace("interface_", "interface ") + (" side" if p in ("left", "right") else ""))
    return name + (", " + ", ".join(where) if where else "")


def _layers(result):
    """{layer name: material} of the sweep's base case, in stack order ({} if it has no layers)."""
    import tomllib
    try:
        doc = tomllib.loads(result.attrs.get("case_text", ""))
    except (tomllib.TOMLDecodeError, TypeError):
        return {}
    layers = doc.get("layers")
    if not isinstance(layers, dict):
        return {}
    return {n: str(v.get("material", n)) for n, v in layers.items() if isinstance(v, dict)}


def _sign_note(values):
    """What a negative excess resistance means, where one is drawn ('' otherwise)."""
    if any(np.nanmin(v) < 0 for v in values if np.any(np.isfinite(v))):
        return NEGATIVE_EXCESS
    return ""


def _resistance(column):
    return "excess_resistance" in column or "asr" in column


def _title(fig, *lines):
    text = "\n".join(t for t in lines if t)
    if text:
        fig.suptitle(text, fontsize=7)


def _axis(values, unit):
    """Display units (nm for small lengths), log scale for positive values over > 1 decade, no offset."""
    v = np.asarray(values, float)
    factor, shown = 1.0, unit
    for limit, u, f in DISPLAY.get(unit, []):
        if np.nanmax(np.abs(v)) < limit:
            factor, shown = f, u
            break
    pos = v[np.isfinite(v)]
    log = pos.size and np.all(pos > 0) and pos.max() / pos.min() > 20
    return factor, shown, bool(log)


def _colour_scale(Z, unit):
    """(norm, colour map, note) for a map: a diverging symmetric-log scale centred on zero for values
    of both signs over two decades or more, a log scale for positive values over more than two,
    else linear."""
    from matplotlib.colors import LogNorm, Normalize, SymLogNorm
    v = Z[np.isfinite(Z)]
    a = np.abs(v[v != 0])
    span = np.log10(a.max() / a.min()) if a.size else 0.0
    if a.size and span >= 2 and v.min() < 0 < v.max():
        lt = symlog_threshold(v, 4)
        top = float(np.max(np.abs(v)))
        return (SymLogNorm(lt, linscale=1.0, vmin=-top, vmax=top), "RdBu_r",
                f"colour scale symmetric-log, linear within ±{decades(lt)} {unit}")
    if a.size and span > 2 and v.min() > 0:
        return LogNorm(v.min(), v.max()), "cividis", ""
    return Normalize(v.min(), v.max()) if v.size else Normalize(), "cividis", ""


def _columns(table, plot):
    obs = [c for c in table.dtype.names if c not in ("case_id", "status", "wall_time", "error")
           and not c.startswith("param:") and table[c].dtype.kind == "f" and np.any(np.isfinite(table[c]))
           and np.nanstd(table[c]) > 0]
    if plot:
        missing = [c for c in plot if c not in table.dtype.names]
        if missing:
            raise ResultFileError(f"plot column {missing[0]!r} is not in the summary table"
                                  + suggest(missing[0], table.dtype.names))
        return list(plot)
    preferred = [c for c in obs if "total_excess_resistance" in c or "excess_resistance" in c or "specific_energy" in c]
    return (preferred + [c for c in obs if c not in preferred])[:4]


def render(result, out_dir, formats):
    if result.attrs.get("study") != "sweep":
        return []
    table, units = read_summary(result.path)
    keys = json.loads(result.attrs["varied_keys"])
    plot = result.parameters.get("plot")
    cols = _columns(table, plot)
    ok = table["status"] == "ok"
    layers = _layers(result)
    title = result.parameters.get("title") or ""
    paths = []
    if len(keys) == 1 or not cols:
        x = table[f"param:{keys[0]}"]
        fx, ux, logx = _axis(x, units.get(f"param:{keys[0]}", ""))
        fig, axes = plt.subplots(1, max(1, len(cols)), figsize=(TWO_COLUMN_IN, 2.8), squeeze=False)
        notes = []
        for ax, c in zip(axes[0], cols):
            order = np.argsort(x)
            y = table[c][order][ok[order]]
            ax.plot(x[order][ok[order]] * fx, y, "o-", ms=3, color=PALETTE[0])
            if logx:
                ax.set_xscale("log")
            notes.append(value_scale(ax, y, "y", pretty_units(units.get(c, ""))))
            ax.set_xlabel(label(pretty(keys[0], layers), ux))
            ax.set_ylabel(textwrap.fill(label(pretty(c, layers), units.get(c, "")), 30))
            bad = int(np.sum(ok & ~np.isfinite(table[c])))
            if bad:
                notes.append(f"{pretty(c, layers)}: not defined in {bad} of {int(ok.sum())} cases")
        failed = int(np.sum(~ok))
        resist = [table[c][ok] for c in cols if _resistance(c)]
        _title(fig, title, _sign_note(resist), *notes, f"{failed} of {len(ok)} cases failed (not drawn)" if failed else "")
        paths += save(fig, out_dir, "sweep_lines", formats)
    if len(keys) >= 2:
        x, y = table[f"param:{keys[0]}"], table[f"param:{keys[1]}"]
        xs, ys = np.unique(x), np.unique(y)
        for c in cols[:2]:
            Z = np.full((len(ys), len(xs)), np.nan)
            for xi, yi, zi, good in zip(x, y, table[c], ok):
                if good:
                    Z[np.searchsorted(ys, yi), np.searchsorted(xs, xi)] = zi
            fig, ax = plt.subplots(figsize=(3.6, 3.0))
            fz, uz, _ = _axis(Z[np.isfinite(Z)], units.get(c, ""))       # e.g. lengths in nm: no offset text
            Z = Z * fz
            norm, cmap, note = _colour_scale(Z, pretty_units(uz))
            m = ax.pcolormesh(xs, ys, Z, shading="nearest", cmap=cmap, norm=norm, rasterized=True)
            if len(xs) * len(ys) <= 64:          # a few cells: print each value (contours of 4 x 4 points mislead)
                for (j, i), z in np.ndenumerate(Z):
                    rgb = m.cmap(m.norm(z))[:3] if np.isfinite(z) else (1.0, 1.0, 1.0)
                    dark = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 0.5
                    ax.text(xs[i], ys[j], f"{z:.2g}" if np.isfinite(z) else "n/a", ha="center", va="center",
                            fontsize=6, color="w" if dark else "k")
            elif len(xs) > 1 and len(ys) > 1:
                cs = ax.contour(xs, ys, Z, colors="w", linewidths=0.5, norm=norm)
                ax.clabel(cs, fontsize=7)
            fig.colorbar(m, ax=ax, label=label(pretty(c, layers), uz))
            ax.set_xlabel(label(pretty(keys[0], layers), units.get(f"param:{keys[0]}", "")))
            ax.set_ylabel(label(pretty(keys[1], layers), units.get(f"param:{keys[1]}", "")))
            sign = _sign_note([Z[np.isfinite(Z)]]) if _resistance(c) else ""
            missing = int(np.sum(~np.isfinite(Z)))
            _title(fig, title, "; ".join(n for n in (sign, note) if n),
                   f"n/a: {missing} cases failed or not defined" if missing else "")
            paths += save(fig, out_dir, f"sweep_map_{c.split('.')[-2]}_{c.split('.')[-1]}" if c.count(".") else f"sweep_map_{c}", formats)
    return paths
