import numpy as np
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import re

import pytest

#: text that must not appear in a figure: raw dotted or snake_case keys, ASCII units
_RAW = [re.compile(p) for p in (r"\bpnp\.", r"\b[a-z]+_[a-z]+(_[a-z0-9]+)*\b", r"\^\d", r"\bum\b", r"\bohm\b",
                                 r"k_B", r"mA/cm\^")]


def check_figure(fig):
    """Referee checks on a figure about to be saved: every labelled line has a finite point inside
    its axes, and no text holds a raw key or an ASCII unit."""
    texts = [t.get_text() for t in fig.texts]
    if getattr(fig, "_suptitle", None) is not None:
        texts.append(fig._suptitle.get_text())
    for leg in fig.legends:
        texts += [t.get_text() for t in leg.get_texts()]
    for ax in fig.axes:
        texts += [ax.get_xlabel(), ax.get_ylabel(), ax.get_title()]
        leg = ax.get_legend()
        if leg is not None:
            texts += [t.get_text() for t in leg.get_texts()]
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
            assert inside.any(), f"legend entry {name!r} has no visible data in its axes"
    for t in texts:
        plain = re.sub(r"\$[^$]*\$", "", t or "")          # mathtext is typeset
        for pat in _RAW:
            assert not pat.search(plain), f"figure text {t!r} holds a raw key or an ASCII unit ({pat.pattern})"


@pytest.fixture(autouse=True)
def _referee_every_figure(monkeypatch):
    """Every figure any test saves goes through `check_figure`."""
    import matplotlib.figure
    original = matplotlib.figure.Figure.savefig

    def savefig(self, *args, **kwargs):
        check_figure(self)
        return original(self, *args, **kwargs)
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
