"""Sweep summaries: lines against one varied parameter, heat maps with contours for two."""
import json

import numpy as np
import matplotlib.pyplot as plt

from ..studies.store import read_summary
from .style import PALETTE, TWO_COLUMN_IN, label, save


def _columns(table, plot):
    obs = [c for c in table.dtype.names if c not in ("case_id", "status", "wall_time", "error")
           and not c.startswith("param:") and table[c].dtype.kind == "f" and np.any(np.isfinite(table[c]))
           and np.nanstd(table[c]) > 0]
    if plot:
        return [c for c in plot if c in table.dtype.names]
    preferred = [c for c in obs if "total_interfacial_asr" in c or "r_scl" in c or "specific_energy" in c]
    return (preferred + [c for c in obs if c not in preferred])[:4]


def render(result, out_dir, formats):
    if result.attrs.get("study") != "sweep":
        return []
    table, units = read_summary(result.path)
    keys = json.loads(result.attrs["varied_keys"])
    plot = result.parameters.get("plot")
    cols = _columns(table, plot)
    ok = table["status"] == "ok"
    paths = []
    if len(keys) == 1 or not cols:
        x = table[f"param:{keys[0]}"]
        fig, axes = plt.subplots(1, max(1, len(cols)), figsize=(TWO_COLUMN_IN, 2.4), squeeze=False)
        for ax, c in zip(axes[0], cols):
            order = np.argsort(x)
            ax.plot(x[order][ok[order]], table[c][order][ok[order]], "o-", ms=3, color=PALETTE[0])
            ax.set_xlabel(label(keys[0], units.get(f"param:{keys[0]}", "")))
            ax.set_ylabel(label(c.split(".")[-1], units.get(c, "")), fontsize=6)
            ax.set_title(c, fontsize=5)
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
            logz = np.all(Z[np.isfinite(Z)] > 0) and np.nanmax(Z) / np.nanmin(Z) > 100
            show = np.log10(Z) if logz else Z
            m = ax.pcolormesh(xs, ys, show, shading="nearest", cmap="cividis")
            if len(xs) > 1 and len(ys) > 1:
                cs = ax.contour(xs, ys, show, colors="w", linewidths=0.5)
                ax.clabel(cs, fontsize=5)
            fig.colorbar(m, ax=ax, label=("log10 " if logz else "") + label(c.split(".")[-1], units.get(c, "")))
            ax.set_xlabel(label(keys[0], units.get(f"param:{keys[0]}", "")))
            ax.set_ylabel(label(keys[1], units.get(f"param:{keys[1]}", "")))
            ax.set_title(c, fontsize=5)
            paths += save(fig, out_dir, f"sweep_map_{c.split('.')[-2]}_{c.split('.')[-1]}" if c.count(".") else f"sweep_map_{c}", formats)
    return paths
