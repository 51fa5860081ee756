"""Paper figures made from HDF5 result files alone.

`render_all(result_path, out_dir, formats)` draws every figure the file supports: the figures of the
result's kind (`sim.kinds.<kind>.render`), or the sweep figures for a sweep file.  The house style is
`sim.figures.style`; the files are written by worker processes while the next figure is drawn
(`sim.figures.pool`; `jobs=1` or `SIM_FIGURE_JOBS=1` writes them in this process).
"""
from __future__ import annotations

from pathlib import Path

from sim.figures.pool import parallel
from sim.figures.style import use_style
from sim.io import Result, read_result
from sim.kinds import REGISTRY, kind
from sim.studies import figures as sweep_figures


def _draw(result, out_dir, formats):
    if result.attrs.get("study") == "sweep":
        return sweep_figures.render(result, out_dir, formats)
    name = result.attrs.get("kind")
    return kind(name).render(result, out_dir, formats) if name in REGISTRY else []


def render_all(result_path, out_dir=None, formats=("pdf", "png"), style=None, jobs=None):
    """Render every figure `result_path` (a file, or an in-memory `sim.io.Result`) supports into
    out_dir (default: beside the file); the files exist when it returns (unless an enclosing
    `sim.figures.pool.parallel` block is still open)."""
    result = result_path if isinstance(result_path, Result) else read_result(result_path)
    out_dir = Path(out_dir) if out_dir else Path(result_path).with_suffix("")
    out_dir.mkdir(parents=True, exist_ok=True)
    with use_style(style), parallel(jobs):
        return _draw(result, out_dir, formats)


def render_comparison(result_paths, out_dir, formats=("pdf", "png"), style=None, jobs=None):
    """Figures that overlay several result files of one kind (e.g. SCL with and without a buffer)."""
    results = [read_result(p) for p in result_paths]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kinds = {r.attrs.get("kind") for r in results}
    if len(kinds) != 1 or next(iter(kinds)) not in REGISTRY:
        return []
    with use_style(style), parallel(jobs):
        return kind(kinds.pop()).compare(results, out_dir, formats)
