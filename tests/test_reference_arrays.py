"""Refactors change no result: every shipped case equals the arrays stored in tests/reference/
(written by tests/reference/make_reference.py on a trusted commit), each quantity within the
tolerance its conditioning allows — never to the bits one CPU gave.

How each tolerance follows (relative to the array's largest |value| unless stated):

* closed-form arithmetic (energy density, polarization budget, design map): a few ulps per
  operation over ~50 operations, 1e-12;
* equilibrium fields and observables: Newton stops when the update of psi (relative to its range)
  and of logit(theta) is below 1e-10; observables are sums and quotients of these, so 1e-8;
* the field at the outer faces is ~0 in a bulk end (its relative value is rounding noise): it is
  compared absolutely, 1 V/m (1e-10 kT/e over a 0.25 nm half cell is 0.01 V/m);
* impedance spectra: one banded complex solve per frequency, conditioned by the ratio of the
  largest to the smallest arc (~1e6), 1e-6;
* circuit-fit parameters: least squares on correlated CPE parameters, which the data determine
  only to ~sqrt(machine precision / rms residual): 1e-3;
* transients: adaptive BDF2 with rtol = 1e-3, whose accept/reject decisions are thresholds a
  rounding difference can flip; two runs that differ in rounding take different step sequences
  whose results differ by a fraction of the local error tolerance (measured: 2e-6 between
  evaluation orders), 1e-4;
* counts (Newton iterations, time steps): within 10 % and 3 of the stored count;
* rounding noise itself (final residuals, residual histories, wall times): not compared.
"""
import re
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "reference"))
import make_reference  # noqa: E402

#: (pattern on the HDF5 path, tolerance): the first pattern that matches decides.  A tolerance is
#: ("rel", r) relative to the stored array's largest |value|, ("abs", a) in the dataset's units,
#: ("count", (fraction, minimum)) for integer counts, or None (not compared).
TOLERANCES = [
    (r"final_residual$|residual_history|wall_time", None),
    (r"newton_iterations$|predictor_iterations$|lambda_steps$|_steps$|n_steps$", ("count", (0.10, 3))),
    (r"end_fields$", ("abs", 1.0)),
    (r"^pnp/transient/", ("rel", 1e-4)),
    (r"/fit/|fit_resistance|fit_activation|activation_energy", ("rel", 1e-3)),
    (r"^pnp/impedance/", ("rel", 1e-6)),
    (r"^pnp/", ("rel", 1e-8)),
    (r".", ("rel", 1e-12)),
]


def tolerance(path):
    """The tolerance of an HDF5 path (see the module docstring)."""
    for pattern, tol in TOLERANCES:
        if re.search(pattern, path):
            return tol
    raise AssertionError(path)


def mismatch(path, now, stored):
    """A sentence saying how `now` differs from `stored` beyond the path's tolerance, or None."""
    tol = tolerance(path)
    if tol is None:
        return None
    if now.shape != stored.shape:
        return f"{path}: shape {now.shape} vs stored {stored.shape}"
    if not np.array_equal(np.isnan(now), np.isnan(stored)):
        return f"{path}: NaN at other places than stored"
    inf = np.isinf(stored)
    if not np.array_equal(now[inf], stored[inf]) or np.isinf(now[~inf]).any():
        return f"{path}: infinities differ"
    fin = np.isfinite(stored)
    if not fin.any():
        return None
    a, b = now[fin], stored[fin]
    kind, value = tol
    if kind == "count":
        frac, least = value
        allowed = np.maximum(least, frac * np.abs(b))
        bad = np.abs(a - b) > allowed
        return f"{path}: counts {a[bad]} vs stored {b[bad]}" if bad.any() else None
    diff = float(np.max(np.abs(a - b)))
    limit = value if kind == "abs" else value * float(np.max(np.abs(b)))
    return f"{path}: differs by {diff:.3g}, allowed {limit:.3g}" if diff > limit else None


@pytest.mark.parametrize("name", make_reference.CASES)
def test_shipped_case_equals_stored_reference(name):
    stored = np.load(make_reference.file_of(name))
    now = make_reference.arrays(name)
    missing = set(stored.files) - set(now)          # new outputs may be added; none may vanish
    assert not missing, f"results no longer written: {sorted(missing)}"
    problems = [m for path in stored.files if (m := mismatch(path, now[path], stored[path]))]
    assert not problems, "\n".join(problems)


def test_tolerances_catch_a_changed_result():
    """The comparison fails on a change a physics edit would make, and passes rounding noise."""
    x = np.linspace(1.0, 2.0, 50)
    assert mismatch("pnp/observables/interface_0/left/excess_resistance", x * (1 + 1e-6), x) is not None
    assert mismatch("pnp/observables/interface_0/left/excess_resistance", x * (1 + 1e-13), x) is None
    assert mismatch("pnp/transient/overpotential", x * (1 + 1e-3), x) is not None
    assert mismatch("pnp/transient/stats/accepted_steps", np.array(117.0), np.array(113.0)) is None
    assert mismatch("pnp/transient/stats/accepted_steps", np.array(150.0), np.array(113.0)) is not None
    assert mismatch("pnp/solver/final_residual", np.array(2.2e-17), np.array(2e-25)) is None
    assert mismatch("energy/cell/specific_energy", np.array(300.0 * (1 + 1e-9)), np.array(300.0)) is not None
