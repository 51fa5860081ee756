"""Sweep summaries: lines against one varied parameter, heat maps with contours for two."""
import json

import numpy as np
import matplotlib.pyplot as plt

from sim.studies.store import read_summary
from sim.figures.style import PALETTE, TWO_COLUMN_IN, label, save
from sim.errors import ResultFileError
from sim.schema import suggest


NAMES = {"total_excess_resistance": "total interfacial ASR", "excess_resistance": "R$_{SCL}$", "thickness_1pct": "SCL thickness (1 %)",
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
    """What a negative resistance means, where one is drawn ('' otherwise)."""
    if any(np.nanmin(v) < 0 for v in values if np.any(np.isfinite(v))):
        return "R$_{SCL}$, ASR: excess over the bulk; negative = accumulation layer, more conductive than the bulk"
    return ""


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
        fig, axes = plt.subplots(1, max(1, len(cols)), figsize=(TWO_COLUMN_IN, 2.4), squeeze=False)
        for ax, c in zip(axes[0], cols):
            order = np.argsort(x)
            ax.plot(x[order][ok[order]] * fx, table[c][order][ok[order]], "o-", ms=3, color=PALETTE[0])
            if logx:
                ax.set_xscale("log")
            ax.ticklabel_format(axis="y", useOffset=False, style="sci", scilimits=(-3, 4))
            ax.set_xlabel(label(pretty(keys[0], layers), ux))
            ax.set_ylabel(label(pretty(c, layers), units.get(c, "")))
        resist = [table[c][ok] for c in cols if "excess_resistance" in c or "asr" in c]
        _title(fig, title, _sign_note(resist))
        paths += save(fig, out_dir, "sweep_lines", formats)
    if len(keys) >= 2:
        x, y = table[f"param:{keys[0]}"], table[f"param:{keys[1]}"]
        xs, ys = np.unique(x), np.unique(y)
        for c in cols[:2]:
            Z = np.full((len(ys), len(xs)), np.nan)
            for xi, yi, zi, good in zip(x, y, table[c], ok):
                if good:
                    Z[np.searchsorted(ys, yi), np.searchsorted(xs, xi)] = zi
            fig, ax = plt.subplots()
            fz, uz, _ = _axis(Z[np.isfinite(Z)], units.get(c, ""))       # e.g. lengths in nm: no offset text
            Z = Z * fz
            logz = np.all(Z[np.isfinite(Z)] > 0) and np.nanmax(Z) / np.nanmin(Z) > 100
            show = np.log10(Z) if logz else Z
            m = ax.pcolormesh(xs, ys, show, shading="nearest", cmap="cividis")
            if len(xs) > 1 and len(ys) > 1:
                cs = ax.contour(xs, ys, show, colors="w", linewidths=0.5)
                ax.clabel(cs, fontsize=5)
            fig.colorbar(m, ax=ax, label=("log10 " if logz else "") + label(pretty(c, layers), uz))
            ax.set_xlabel(label(pretty(keys[0], layers), units.get(f"param:{keys[0]}", "")))
            ax.set_ylabel(label(pretty(keys[1], layers), units.get(f"param:{keys[1]}", "")))
            note = _sign_note([Z[np.isfinite(Z)]]) if "excess_resistance" in c or "asr" in c else ""
            _title(fig, title, note.replace("; ", ";\n"))
            paths += save(fig, out_dir, f"sweep_map_{c.split('.')[-2]}_{c.split('.')[-1]}" if c.count(".") else f"sweep_map_{c}", formats)
    return paths
