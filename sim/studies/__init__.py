"""Parameter studies: sweep files, executors (serial, processes, Dask) and one resumable HDF5 file.

    from sim.studies import run_sweep, load_summary
    table = run_sweep("cases/sweeps/lps_eps.toml", "results/lps_eps.h5", executor="processes")
    table["param:materials.LPS.eps_r"], table["pnp/observables/total_excess_resistance"]
    case = read_case("results/lps_eps.h5", 3)        # {path: Q} of case 3: profiles, observables
"""
from sim.studies.runner import EXECUTORS, run_sweep
from sim.studies.spec import load_sweep
from sim.studies.store import read_case
from sim.studies.store import read_summary as _read_summary


def load_summary(path):
    """The summary table of a sweep result file (structured numpy array)."""
    return _read_summary(path)[0]


__all__ = ["EXECUTORS", "load_summary", "load_sweep", "read_case", "run_sweep"]
