"""Paper figures made from HDF5 result files alone.

`render_all(result_path, out_dir, formats)` draws every figure the file supports.
"""
from __future__ import annotations

from pathlib import Path

from ..io import read_result
from . import design_map, energy, impedance, pnp, polarization, sweep

#: modules with figures(result) -> iterable of (name, draw(fig_dir, formats) -> [paths])
MODULES = [energy, polarization, pnp, impedance, design_map, sweep]


def render_all(result_path, out_dir=None, formats=("pdf", "png"), style=None):
    """Render every figure `result_path` (a file, or an in-memory `sim.io.Result`) supports into
    out_dir (default: beside the file)."""
    from ..io import Result
    from .style import use_style
    result = result_path if isinstance(result_path, Result) else read_result(result_path)
    out_dir = Path(out_dir) if out_dir else Path(result_path).with_suffix("")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with use_style(style):
        for mod in MODULES:
            written += mod.render(result, out_dir, formats)
    return written


def render_comparison(result_paths, out_dir, formats=("pdf", "png"), style=None):
    """Figures that overlay several result files (e.g. SCL with and without a buffer)."""
    from .style import use_style
    results = [read_result(p) for p in result_paths]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with use_style(style):
        return pnp.compare(results, out_dir, formats) + impedance.compare(results, out_dir, formats)
