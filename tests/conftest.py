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


# ---- coarse versions of every shipped case, run once per test session ----------------------------
from pathlib import Path  # noqa: E402

from sim.case import load_case  # noqa: E402
from sim.run import run_case  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
COARSE = [("mesh.h_min_m", 5e-12), ("mesh.h_max_m", 2e-9), ("mesh.growth", 1.2)]


def _cases():  # noqa: D103
    return sorted((ROOT / "cases").glob("*.toml")) + sorted((ROOT / "cases" / "verification").glob("*.toml"))


#: uncertainty studies on their smallest designs: Sobol' for the resistances, Morris for the separator (so that
#: both methods' outputs are in the demo results)
UNCERTAINTY = {"uncertainty_rscl": [("samples", 2)], "uncertainty_separator": [("method", "morris"), ("samples", 4)]}


def _overrides(path):
    if path.stem in UNCERTAINTY:
        return UNCERTAINTY[path.stem]
    case = load_case(path)
    if case.kind != "pnp" or case.params["surface"].get("bulk_potential_V") is not None:
        return []
    out = list(COARSE)
    if case.params["transient"].get("protocol"):
        out += [("transient.output_points", 6), ("transient.linear_output_points", 4)]
    if case.params["impedance"].get("temperatures_K") is not None:
        out += [("impedance.temperatures_K", [298.15, 353.15]), ("impedance.points_per_decade", 3)]
    if case.params["sweep"].get("potential_V") is not None:
        out += [("sweep.points", 4)]
    return out


@pytest.fixture(scope="session")
def demo_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    results = {}
    for path in _cases():
        results[path.stem] = run_case(load_case(path, _overrides(path)), out / f"{path.stem}.h5")
    return out, results


