"""Referee checks on a finished matplotlib figure: what a reviewer rejects at a glance.

`check(fig)` raises `RefereeError` (an AssertionError) naming the first defect found:

1. every legend entry names a line with a finite point inside its axes;
2. no figure text holds a raw key (`pnp.x`, `snake_case`) or an ASCII unit (`um`, `ohm`, `^2`);
3. no legend covers plotted data (lines, markers, error bars, scatter points, clipped to their axes)
   or any tick label, axis label or title;
4. no two drawn tick labels overlap (major and minor, every axes of the figure, colour bars included);
5. no y axis spans more than `MAX_DECADES` decades unless the figure states why: the figure code
   calls `sim.figures.style.wide_range(ax, reason)`, which stores the reason on the axes
   (`ax.sim_wide_range_reason`) and prints it in the axes title, where the check looks for it;
6. an axis (or colour bar) labelled as a resistance ("resistance", "ASR", R_SCL, R_int) whose data
   go below zero says "excess" in its label: a negative value is an excess over the bulk, not a
   resistance;
7. no title, axis label, free text or ×10ⁿ multiplier overlaps another text or a tick label;
8. no text placed inside an axes (an annotation such as a frequency label) covers plotted data
   (reference lines drawn with axhline/axvline excepted: a label may name its own line).

Positions are measured in display pixels after a layout pass (`fig.draw_without_rendering()`), the
way the saved file will show them.  tests/conftest.py applies `check` to every figure any test saves;
`SIM_REFEREE=1` applies it to every figure `sim.figures.style.save` writes (e.g. `make demo`).
"""
from __future__ import annotations

import re

import numpy as np

#: a y axis may span this many decades without a stated reason
MAX_DECADES = 12.0
#: text that must not appear in a figure: raw dotted or snake_case keys, ASCII units
RAW = [re.compile(p) for p in (r"\bpnp\.", r"\b[a-z]+_[a-z]+(_[a-z0-9]+)*\b", r"\^\d", r"\bum\b", r"\bohm\b",
                                r"k_B", r"mA/cm\^")]
RESISTANCE = re.compile(r"resistance|\bASR\b|R\$?_\{?(SCL|int)", re.IGNORECASE)
#: overlaps smaller than this (pixels) are anti-aliasing, not a defect
SLACK_PX = 0.5


class RefereeError(AssertionError):
    """A figure a referee would send back; the message names the defect."""


def check(fig):
    """Run every check on `fig` (see the module docstring); raise RefereeError on the first defect."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    axes = _all_axes(fig)
    _legend_entries_have_data(axes)
    _no_raw_text(fig, axes)
    _legends_hide_nothing(fig, axes, renderer)
    _tick_labels_apart(axes, renderer)
    _decades_stated(axes)
    _negative_resistance_is_excess(axes)
    _texts_apart(fig, axes, renderer)
    _annotations_clear(axes, renderer)


# ---- helpers -------------------------------------------------------------------------------------

def _all_axes(fig):
    out, todo = [], list(fig.axes)
    while todo:
        ax = todo.pop(0)
        if ax not in out:
            out.append(ax)
            todo += list(getattr(ax, "child_axes", []))        # secondary axes, insets
    return out


def _legends(fig, axes):
    legs = list(fig.legends) + [ax.get_legend() for ax in axes]
    return [leg for leg in legs if leg is not None and leg.get_visible()]


def _texts(fig, axes):
    """Every visible string of the figure: titles, labels, free texts, legend entries and titles."""
    texts = [t for t in fig.texts]
    for name in ("_suptitle", "_supxlabel", "_supylabel"):
        if getattr(fig, name, None) is not None:
            texts.append(getattr(fig, name))
    for ax in axes:
        texts += [ax.xaxis.label, ax.yaxis.label, ax.title, getattr(ax, "_left_title", None),
                  getattr(ax, "_right_title", None)] + list(ax.texts)
    for leg in _legends(fig, axes):
        texts += list(leg.get_texts()) + [leg.get_title()]
    seen, out = set(), []
    for t in texts:                       # the suptitle is also one of fig.texts
        if t is not None and id(t) not in seen and t.get_visible() and t.get_text():
            seen.add(id(t))
            out.append(t)
    return out


def _box(artist, renderer):
    b = artist.get_window_extent(renderer)
    return np.array([b.x0, b.y0, b.x1, b.y1])


def _overlap(a, b, slack=SLACK_PX):
    """True if boxes [x0, y0, x1, y1] share more than `slack` pixels in both directions."""
    return min(a[2], b[2]) - max(a[0], b[0]) > slack and min(a[3], b[3]) - max(a[1], b[1]) > slack


def _legend_box(leg, renderer):
    """The legend's entries (texts, handles, title) as one box, without its empty padding."""
    parts = [t for t in leg.get_texts() if t.get_text()] + [h for h in getattr(leg, "legend_handles", [])
                                                             if h is not None]
    if leg.get_title().get_text():
        parts.append(leg.get_title())
    boxes = np.array([_box(p, renderer) for p in parts]) if parts else np.array([_box(leg, renderer)])
    boxes = boxes[np.all(np.isfinite(boxes), axis=1)]
    return np.array([boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()])


def _sample(xy, step=2.0):
    """Points every `step` pixels along a polyline in display coordinates (NaN vertices break it)."""
    out = [xy[np.all(np.isfinite(xy), axis=1)]]
    a, b = xy[:-1], xy[1:]
    ok = np.all(np.isfinite(a), axis=1) & np.all(np.isfinite(b), axis=1)
    a, b = a[ok], b[ok]
    n = np.ceil(np.hypot(*(b - a).T) / step).astype(int)
    keep = n > 1
    for p, q, k in zip(a[keep], b[keep], n[keep]):
        t = np.linspace(0.0, 1.0, min(k, 20000))[:, None]
        out.append(p + t * (q - p))
    return np.concatenate(out) if out else np.empty((0, 2))


def _data_points(ax, references=True):
    """Display coordinates of everything plotted in `ax` that a legend could hide, clipped to the axes
    (without axhline/axvline-style reference lines if not `references`)."""
    pts = []
    for line in ax.get_lines():
        if not line.get_visible() or (not references and line.get_transform() != ax.transData):
            continue
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), float))
        drawn = line.get_linestyle() not in ("None", "none", " ", "") and line.get_linewidth() > 0
        pts.append(_sample(xy) if drawn else xy[np.all(np.isfinite(xy), axis=1)])
    from matplotlib.collections import LineCollection, PathCollection
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        if isinstance(coll, PathCollection) and len(coll.get_offsets()):
            pts.append(coll.get_offset_transform().transform(np.asarray(coll.get_offsets(), float)))
        elif isinstance(coll, LineCollection):
            tr = coll.get_transform()
            for path in coll.get_paths():
                pts.append(_sample(tr.transform(path.vertices)))
    if not pts:
        return np.empty((0, 2))
    pts = np.concatenate(pts)
    b = ax.get_window_extent()
    inside = (pts[:, 0] >= b.x0) & (pts[:, 0] <= b.x1) & (pts[:, 1] >= b.y0) & (pts[:, 1] <= b.y1)
    return pts[inside]


def _drawn_tick_labels(axis):
    try:
        ticks = axis._update_ticks()                     # the ticks matplotlib draws (inside the view)
    except AttributeError:                               # pragma: no cover - other matplotlib versions
        ticks = axis.get_major_ticks() + axis.get_minor_ticks()
    labels = []
    for tick in ticks:
        for lab in (tick.label1, tick.label2):
            if lab.get_visible() and lab.get_text() and tick.get_visible():
                labels.append(lab)
    return labels


def _fail(msg):
    raise RefereeError(msg)


# ---- the checks ----------------------------------------------------------------------------------

def _legend_entries_have_data(axes):
    for ax in axes:
        x0, x1 = sorted(ax.get_xlim())
        y0, y1 = sorted(ax.get_ylim())
        dx, dy = 1e-6 * (x1 - x0), 1e-6 * (y1 - y0)          # round-off of blended transforms
        x0, x1, y0, y1 = x0 - dx, x1 + dx, y0 - dy, y1 + dy
        for line in ax.get_lines():
            name = line.get_label()
            if name.startswith("_"):
                continue
            xy = np.asarray(line.get_xydata(), float)
            if line.get_transform() != ax.transData:         # axhline / axvline: blended coordinates
                xy = ax.transData.inverted().transform(line.get_transform().transform(xy))
            x, y = xy[:, 0], xy[:, 1]
            inside = np.isfinite(x) & np.isfinite(y) & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
            if not inside.any():
                _fail(f"legend entry {name!r} has no visible data in its axes")


def _no_raw_text(fig, axes):
    for t in _texts(fig, axes):
        plain = re.sub(r"\$[^$]*\$", "", t.get_text())          # mathtext is typeset
        for pat in RAW:
            if pat.search(plain):
                _fail(f"figure text {t.get_text()!r} holds a raw key or an ASCII unit ({pat.pattern})")


def _legends_hide_nothing(fig, axes, renderer):
    legends = _legends(fig, axes)
    if not legends:
        return
    points = [(ax, _data_points(ax)) for ax in axes]
    labels = []
    for ax in axes:
        labels += [(lab, "tick label") for axis in (ax.xaxis, ax.yaxis) for lab in _drawn_tick_labels(axis)]
        labels += [(t, "axis label or title") for t in (ax.xaxis.label, ax.yaxis.label, ax.title)
                   if t.get_visible() and t.get_text()]
    for leg in legends:
        box = _legend_box(leg, renderer)
        inner = box + np.array([SLACK_PX, SLACK_PX, -SLACK_PX, -SLACK_PX])
        first = next((t.get_text() for t in leg.get_texts() if t.get_text()), "")
        for ax, pts in points:
            hit = ((pts[:, 0] > inner[0]) & (pts[:, 0] < inner[2]) & (pts[:, 1] > inner[1]) & (pts[:, 1] < inner[3]))
            if hit.any():
                where = ax.get_title() or ax.get_ylabel() or "an axes"
                _fail(f"the legend starting {first!r} covers plotted data in {where!r} "
                      f"(at pixel {pts[hit][0].round(0).tolist()})")
        for lab, what in labels:
            if _overlap(box, _box(lab, renderer)):
                _fail(f"the legend starting {first!r} covers the {what} {lab.get_text()!r}")


def _tick_labels_apart(axes, renderer):
    labels = []
    for ax in axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels += _drawn_tick_labels(axis)
    boxes = [(_box(lab, renderer), lab) for lab in labels]
    for i, (a, la) in enumerate(boxes):
        for b, lb in boxes[i + 1:]:
            if _overlap(a, b):
                _fail(f"tick labels {la.get_text()!r} and {lb.get_text()!r} overlap")


def _decades(ax):
    lo, hi = sorted(ax.get_ylim())
    scale = ax.get_yscale()
    if scale == "log" and lo > 0:
        return np.log10(hi / lo)
    if scale == "symlog":
        lt = ax.yaxis.get_transform().linthresh
        return sum(np.log10(abs(v) / lt) for v in (lo, hi) if abs(v) > lt)
    return 0.0


def _decades_stated(axes):
    for ax in axes:
        n = _decades(ax)
        if n <= MAX_DECADES:
            continue
        reason = getattr(ax, "sim_wide_range_reason", "")
        if not reason:
            _fail(f"the y axis {ax.get_ylabel()!r} spans {n:.0f} decades (more than {MAX_DECADES:g}) and the "
                  "figure does not say why (sim.figures.style.wide_range)")
        if reason not in ax.get_title():
            _fail(f"the reason for the {n:.0f} decades of {ax.get_ylabel()!r} is not shown on the figure")


def _negative_values(ax, which):
    """Does `ax` show data below zero along `which` ('x' or 'y')?"""
    cbar = getattr(ax, "_colorbar", None)
    if cbar is not None:                                    # a colour bar: its range is the data's
        norm = cbar.mappable.norm
        return norm.vmin is not None and norm.vmin < 0
    k = 0 if which == "x" else 1
    other = sorted(ax.get_ylim() if which == "x" else ax.get_xlim())
    for line in ax.get_lines():
        if not line.get_visible() or line.get_transform() != ax.transData:
            continue                                         # reference lines (axhline at 0 and the like)
        xy = np.asarray(line.get_xydata(), float)
        v, w = xy[:, k], xy[:, 1 - k]
        if np.any((v < 0) & (w >= other[0]) & (w <= other[1])):
            return True
    for coll in ax.collections:
        offs = np.asarray(coll.get_offsets(), float) if hasattr(coll, "get_offsets") else np.empty((0, 2))
        if offs.size and coll.get_offset_transform() == ax.transData and np.any(offs[:, k] < 0):
            return True
    return False


def _negative_resistance_is_excess(axes):
    for ax in axes:
        for which, text in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())):
            if text and RESISTANCE.search(text) and "excess" not in text.lower() and _negative_values(ax, which):
                _fail(f"axis {text!r} shows negative values of a quantity named a resistance; label it an "
                      "excess resistance (ΔR over the bulk) or do not call it a resistance")


def _texts_apart(fig, axes, renderer):
    ticks = [lab for ax in axes for axis in (ax.xaxis, ax.yaxis) for lab in _drawn_tick_labels(axis)]
    legend_texts = {id(t) for leg in _legends(fig, axes) for t in list(leg.get_texts()) + [leg.get_title()]}
    texts = [t for t in _texts(fig, axes) if id(t) not in legend_texts]
    texts += [a.offsetText for ax in axes for a in (ax.xaxis, ax.yaxis)
              if a.offsetText.get_visible() and a.offsetText.get_text()]
    boxes = [(_box(t, renderer), t) for t in texts]
    tick_boxes = [(_box(t, renderer), t) for t in ticks]
    for i, (a, ta) in enumerate(boxes):
        for b, tb in boxes[i + 1:] + tick_boxes:
            if _overlap(a, b, slack=1.0):
                _fail(f"texts {ta.get_text()!r} and {tb.get_text()!r} overlap")


def _annotations_clear(axes, renderer):
    for ax in axes:
        texts = [t for t in ax.texts if t.get_visible() and t.get_text()]
        if not texts:
            continue
        pts = _data_points(ax, references=False)
        for t in texts:
            b = _box(t, renderer) + np.array([1.0, 1.0, -1.0, -1.0])
            hit = (pts[:, 0] > b[0]) & (pts[:, 0] < b[2]) & (pts[:, 1] > b[1]) & (pts[:, 1] < b[3])
            if hit.any():
                _fail(f"the text {t.get_text()!r} covers plotted data (at pixel {pts[hit][0].round(0).tolist()})")
