"""Store reference arrays of the shipped cases, to prove that an optimization changes no result.

    python tests/reference/make_reference.py [case.toml ...]   # writes tests/reference/<case>.npz

Run it only on a commit whose results are trusted (it was run before the performance work of
issue 14, commit 593a830 plus the reliability changes, which do not touch the numbers);
tests/test_reference_arrays.py compares every shipped case against these files.  Fields over
time ((run, time, x) arrays) are left out to keep the files small; their observables are kept.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CASES = ["lco_lps.toml", "lco_lno_lps.toml", "li_llzo.toml", "li_lps.toml", "verification/swift_qi_llzo.toml",
         "lco_lps_charging.toml", "lco_lno_lps_impedance.toml", "separator_budget.toml", "fig3_energy_density.toml"]
SKIP = ("pnp/transient/phi", "pnp/transient/c/", "pnp/solver/wall_time", "pnp/transient/stats/wall_time",
        "/wall_time")


def arrays(name):
    """{path: float64 array} of the numeric results of cases/<name>, computed now."""
    import warnings
    sys.path.insert(0, str(ROOT))
    from sim.case import load_case
    from sim.run import compute
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = compute(load_case(ROOT / "cases" / name))
    out = {}
    for path, q in data.items():
        if isinstance(q.value, str) or any(s in path for s in SKIP):
            continue
        a = np.asarray(q.value)
        if a.dtype.kind in "fiu":
            out[path] = a.astype(float)
    return out


def file_of(name):
    return Path(__file__).with_name(name.replace("/", "__").replace(".toml", ".npz"))


if __name__ == "__main__":
    # python tests/reference/make_reference.py [case.toml ...]: only those (a deliberate change of their results)
    for name in sys.argv[1:] or CASES:
        np.savez_compressed(file_of(name), **arrays(name))
        print(file_of(name), file_of(name).stat().st_size)
