import os

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest


def check_figure(fig):
    """Referee checks on a figure about to be saved (sim/figures/referee.py): every legend entry has
    visible data; no raw key or ASCII unit; no legend over data, tick labels or axis labels; no
    overlapping tick labels or texts; no annotation over data; no y axis over 12 decades without a
    stated reason; no negative values on an axis named a resistance unless it says "excess"."""
    from sim.figures.referee import check
    check(fig)


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
UNCERTAINTY = {"uncertainty_rscl": [("samples", 2), ('fixed."sweep.points"', 3)],
               "uncertainty_separator": [("method", "morris"), ("samples", 4)]}


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


def _run_demo(out):
    out.mkdir(parents=True, exist_ok=True)
    return {path.stem: run_case(load_case(path, _overrides(path)), out / f"{path.stem}.h5") for path in _cases()}


@pytest.fixture(scope="session")
def demo_results(tmp_path_factory):
    """(folder, {case stem: result path}): every shipped case, coarse, run once per test session; under
    pytest-xdist the first worker to ask runs them and the others wait for it and read its files (which
    no test writes to)."""
    import fcntl
    import os
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        out = tmp_path_factory.mktemp("demo")
        return out, _run_demo(out)
    shared = tmp_path_factory.getbasetemp().parent          # common to the session's workers
    out = shared / "demo"
    with open(shared / "demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "complete").exists():
            _run_demo(out)
            (out / "complete").touch()
    return out, {path.stem: out / f"{path.stem}.h5" for path in _cases()}


