"""The house style itself (rcParams, palette, column widths) and the context that applies it; kept
apart from sim.figures.style so that the worker pool (sim.figures.pool) can apply it without
importing the helpers that submit figures to the pool."""
from __future__ import annotations

import contextlib
import logging

import matplotlib

matplotlib.use("Agg")
# fontTools (PDF font subsetting) logs a warning per embedded font about its timestamps: noise for users
logging.getLogger("fontTools").setLevel(logging.ERROR)
import matplotlib.pyplot as plt  # noqa: E402

#: Okabe & Ito (2008) colour-blind-safe palette
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
ONE_COLUMN_IN = 3.35      # 85 mm
TWO_COLUMN_IN = 6.85      # 174 mm

RC = {
    "figure.figsize": (ONE_COLUMN_IN, 2.6),
    "figure.dpi": 150,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "font.size": 8,
    "axes.labelsize": 8,
    "axes.titlesize": 8,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "lines.linewidth": 1.2,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "pdf.fonttype": 42,
    "figure.constrained_layout.use": True,
}


_STYLES = []          # style files of the enclosing use_style blocks (worker processes save under the same)


@contextlib.contextmanager
def use_style(style_file=None):
    """House style, optionally overridden by a matplotlib style file (a regular UTF-8 file of bounded
    size: sim.inputs; matplotlib's own errors on its content are one SimError line)."""
    if style_file:
        from sim import inputs
        from sim.errors import SimError
        inputs.read_text(style_file, "style", lambda why: SimError(f"style file {style_file}: {why}"))
    styles = [RC] + ([str(style_file)] if style_file else [])
    with plt.style.context(styles):
        _STYLES.append(style_file)
        try:
            yield
        finally:
            _STYLES.pop()
