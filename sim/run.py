"""Run a validated case and write its HDF5 result (atomically)."""
from __future__ import annotations

from pathlib import Path

from sim.case import Case, load_case, plausibility, resolved_materials
from sim.io import Lock, check_output_path, provenance, write_result
from sim.kinds import kind
from sim.errors import CaseError, PlausibilityWarning, ResultFileError, SimError, with_origin



def compute(case: Case, out=None):
    """The {hdf5 path: Q} result of a case, without writing anything.  A kind that runs other cases as a
    study (`STUDY = True`: the uncertainty kind) also gets the case (its path and text, for the provenance
    of what it runs) and `out`, the result's path (None in memory), beside which it keeps its samples."""
    package = kind(case.kind)
    if getattr(package, "STUDY", False):
        return package.run(case.params, case_dir=Path(case.path).parent, case=case, out=out)
    return package.run(case.params, case_dir=Path(case.path).parent)


def default_output(case_path, results_dir="results"):
    return Path(results_dir) / (Path(case_path).stem + ".h5")


def run_case(case, out=None, overrides=None, inputs=()):
    """Load (if a path; with --set overrides), compute and write a case; returns the output path.
    The output must not be the case file or another of `inputs` (e.g. the result of `run --from`)."""
    import json
    import warnings
    if not isinstance(case, Case):
        case = load_case(case, overrides)
    out = check_output_path(out if out else default_output(case.path), inputs=(case.path, *inputs))   # before the computation
    notes = plausibility(case.params)
    for n in notes:
        warnings.warn(f"{case.path}: {n}", PlausibilityWarning, stacklevel=2)
    try:
        data = compute(case, out)
    except (CaseError, ResultFileError):
        raise                                   # these name their file already
    except SimError as e:                       # a solver failure says which case failed
        raise with_origin(e, case.path) from None
    attrs = provenance(case.text, case.path, case.kind, case.params, case.overrides, resolved_materials(case.params))
    attrs["warnings_json"] = json.dumps(notes)
    with Lock(out):                  # the lock sweeps take: a run never writes into a running sweep's file
        return write_result(out, data, attrs)
