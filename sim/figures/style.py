"""Publication style: journal column widths, colour-blind-safe palette, vector output."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.figures.house import (ONE_COLUMN_IN, PALETTE, RC, TWO_COLUMN_IN, _STYLES,  # noqa: F401  (re-exported)
                               use_style)


def save(fig, out_dir, name, formats):
    """Write `fig` as out_dir/name.<format> for each format and close it; inside
    `sim.figures.pool.parallel` the files are written by worker processes (see there)."""
    from sim.figures import pool
    paths = [Path(out_dir) / f"{name}.{fmt}" for fmt in formats]
    pool.submit(fig, paths, _STYLES[-1] if _STYLES else None)
    return paths


def wide_range(ax, reason):
    """State why the y axis of `ax` spans more than twelve decades (the referee check in
    sim.figures.referee asks for it): the reason is stored on the axes and shown in its title."""
    ax.sim_wide_range_reason = reason
    title = ax.get_title()
    ax.set_title(f"{title}\n{reason}" if title else reason, fontsize=6, pad=12)   # room for labels above the axes


#: axis label of a space-charge resistance, which is an excess over the bulk and can be negative
EXCESS_R = "excess resistance ΔR$_{SCL}$"
#: what a negative excess resistance means, for notes beside such axes
NEGATIVE_EXCESS = "ΔR < 0: the layer conducts better than the bulk"


def missing_note(q, what):
    """'' if the values of Q `q` are all finite; else a sentence saying how many are not defined
    and why (the `reason` attribute the run stored beside them, if any), for the figure."""
    v = np.asarray(q.value, float)
    bad = ~np.isfinite(v)
    if not bad.any():
        return ""
    reason = next((str(q.attrs[k]) for k in ("reason", "nan_reason", "note") if q.attrs.get(k)), "")
    count = "everywhere" if bad.all() else f"at {int(bad.sum())} of {bad.size} points"
    return f"{what}: not defined {count}" + (f" ({reason})" if reason else "")


def symlog_threshold(values, floor_decades=6):
    """A linear threshold for a symlog axis of signed `values`: the decade below the smallest
    nonzero magnitude, but at most `floor_decades` below the largest (so the axis stays readable)."""
    a = np.abs(np.asarray(values, float))
    a = a[np.isfinite(a) & (a > 0)]
    if not a.size:
        return 1.0
    return float(10.0 ** max(np.floor(np.log10(a.min())), np.ceil(np.log10(a.max())) - floor_decades))


def value_scale(ax, values, which="y", unit="", floor_decades=4):
    """Scale of an axis for a quantity that may change sign or span decades: log if it is positive
    over two decades or more, symlog (with a zero line) if it changes sign over two decades or more,
    else linear with a ×10ⁿ multiplier (symlog: linear within the decade below the smallest magnitude,
    at most `floor_decades` below the largest).  Returns the note a symlog axis needs ('' otherwise)."""
    v = np.asarray(values, float).ravel()
    v = v[np.isfinite(v)]
    a = np.abs(v[v != 0])
    span = float(np.log10(a.max() / a.min())) if a.size else 0.0
    setter = ax.set_yscale if which == "y" else ax.set_xscale
    if a.size and span >= 2 and np.all(v > 0):
        setter("log")
        return ""
    if a.size and span >= 2 and np.any(v > 0) and np.any(v < 0):
        lt = symlog_threshold(v, floor_decades)
        setter("symlog", linthresh=lt, linscale=1.0)     # the linear part as tall as a decade
        axis = ax.yaxis if which == "y" else ax.xaxis
        axis.get_major_locator().numticks = 7               # labels on every n-th decade when many
        ax.margins(**{which: 0.06})
        (ax.axhline if which == "y" else ax.axvline)(0, color="0.6", lw=0.5, zorder=0)
        return f"symlog axis: linear within ±{decades(lt)}" + (f" {unit}" if unit else "")
    ax.ticklabel_format(axis=which, style="sci", scilimits=(-2, 3), useMathText=True, useOffset=False)
    return ""


def coincide(ax, curves, tol=0.015):
    """Do the curves [(x, y), ...] drawn in `ax` lie within `tol` of the axes height of each other
    wherever their x ranges overlap (so that a reader sees one line)?  Call after the scales are set."""
    ax.get_xlim(), ax.get_ylim()                   # settle the view before transforming
    disp = []
    for x, y in curves:
        ok = np.isfinite(x) & np.isfinite(y)
        d = ax.transData.transform(np.column_stack([np.asarray(x, float)[ok], np.asarray(y, float)[ok]]))
        disp.append(d[np.argsort(d[:, 0])])
    if len(disp) < 2 or any(len(d) < 2 for d in disp):
        return False
    box = ax.bbox
    for d in disp[1:]:
        lo, hi = max(disp[0][0, 0], d[0, 0], box.x0), min(disp[0][-1, 0], d[-1, 0], box.x1)
        if hi <= lo:
            return False
        grid = np.linspace(lo, hi, 400)
        a, b = np.interp(grid, *disp[0].T), np.interp(grid, *d.T)
        seen = (np.minimum(a, b) <= box.y1) & (np.maximum(a, b) >= box.y0)     # where either is in view
        if not seen.any() or np.max(np.abs(a - b)[seen]) > tol * box.height:
            return False
    return True


def annotate_clear(ax, xy, text, offsets, **kw):
    """Annotate the data point `xy` with `text` at the first offset (points) of `offsets` where the text
    covers no plotted data and stays inside the axes (checked on the laid-out figure, as the referee
    does); returns the annotation, or None (and no text) if every offset collides."""
    from sim.figures.referee import _data_points
    fig = ax.figure
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    pts = _data_points(ax, references=False)
    frame = ax.get_window_extent()
    for dx, dy in offsets:
        ha = "left" if dx > 0 else "right" if dx < 0 else "center"
        va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
        t = ax.annotate(text, xy, textcoords="offset points", xytext=(dx, dy), ha=ha, va=va, **kw)
        b = t.get_window_extent(renderer)
        inside = b.x0 >= frame.x0 and b.x1 <= frame.x1 and b.y0 >= frame.y0 and b.y1 <= frame.y1
        hit = (pts[:, 0] > b.x0 - 1) & (pts[:, 0] < b.x1 + 1) & (pts[:, 1] > b.y0 - 1) & (pts[:, 1] < b.y1 + 1)
        if inside and not hit.any():
            return t
        t.remove()
    return None


def sci(v, digits=2):
    """'0.014', '−5.6×10⁻⁵': two significant digits, powers of ten typeset, a real minus sign."""
    if not np.isfinite(v) or v == 0 or 1e-3 <= abs(v) < 1e4:
        return np.format_float_positional(v, precision=digits, fractional=False, trim="-").replace("-", "−")
    m, e = f"{v:.{digits - 1}e}".split("e")
    return f"{m.replace('-', '−')}×10{str(int(e)).translate(_SUPERSCRIPT)}"


def decades(t):
    """'10⁻³' for a power of ten (axis notes)."""
    return f"10{str(int(round(np.log10(t)))).translate(_SUPERSCRIPT)}"


_PRETTY = {"um": "µm", "ohm cm^2": "Ω cm²", "mg/cm^2": "mg/cm²", "mA/cm^2": "mA/cm²", "mol/m^3": "mol/m³",
           "C/m^2": "C/m²", "F/m^2": "F/m²", "nm": "nm"}


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def pretty_units(units):
    """'m^4/F^2' -> 'm⁴/F²', 'ohm cm^2' -> 'Ω cm²', 'um' -> 'µm': no ASCII units in a figure."""
    import re
    u = _PRETTY.get(units, units)
    u = re.sub(r"\bohm\b", "Ω", u)
    u = re.sub(r"\bum\b", "µm", u)
    return re.sub(r"\^(-?\d+)", lambda m: m.group(1).translate(_SUPERSCRIPT), u)


def label(name, units):
    """Axis label 'name (units)' with typeset units."""
    return f"{name} ({pretty_units(units)})" if units and units != "1" else name
