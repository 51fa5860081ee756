"""Real banded solves with LAPACK gbsv / gtsv, exactly as scipy.linalg.solve_banded makes them.

Why not call scipy.linalg.solve_banded: importing scipy.linalg costs about 0.25 s, most of it
scipy's array-API compatibility layer (it imports numpy.f2py, numpy.testing and numpy.ma), which a
banded solve does not use; that was a third of a `sim run`.  The routines themselves live in
scipy's compiled `_flapack` module, which needs only numpy: it is loaded from its file on its own.
If that fails (another scipy layout), scipy.linalg is imported and its `_flapack` used; the calls
and therefore the results are the same either way (tests/test_pnp.py compares them bit for bit
with scipy.linalg.solve_banded).
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import os

import numpy as np

_MODULE = {}


def _load_flapack():
    """scipy's compiled LAPACK wrappers, without importing the scipy.linalg package."""
    try:
        spec = importlib.util.find_spec("scipy")
        folder = os.path.join(os.path.dirname(spec.origin), "linalg")
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, "_flapack" + suffix)
            if os.path.exists(path):
                own = importlib.util.spec_from_file_location("_flapack", path)
                module = importlib.util.module_from_spec(own)
                own.loader.exec_module(module)
                if hasattr(module, "dgbsv") and hasattr(module, "dgtsv"):
                    return module, "standalone"
    except Exception:            # any other layout: the package import below is always correct
        pass
    from scipy.linalg import _flapack
    return _flapack, "scipy.linalg"


def flapack():
    if "module" not in _MODULE:
        _MODULE["module"], _MODULE["how"] = _load_flapack()
    return _MODULE["module"]


def how_loaded():
    """'standalone' or 'scipy.linalg' (for tests and reports)."""
    flapack()
    return _MODULE["how"]


def solve_banded(nlower, nupper, ab, b, overwrite_ab=False):
    """x with A x = b for real A in LAPACK band storage ab[nupper + i - j, j] = A[i, j] (as
    scipy.linalg.solve_banded((nlower, nupper), ab, b, check_finite=False)).
    Raises np.linalg.LinAlgError for a singular matrix."""
    ab = np.asarray(ab, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if ab.shape[-1] != b.shape[0]:
        raise ValueError("shapes of ab and b are not compatible")
    if nlower + nupper + 1 != ab.shape[0]:
        raise ValueError("ab must have nlower + nupper + 1 rows")
    if ab.shape[-1] == 1:
        return b / ab[nupper, 0]
    lib = flapack()
    if nlower == nupper == 1:
        _, _, _, x, info = lib.dgtsv(ab[2, :-1], ab[1, :], ab[0, 1:], b, overwrite_ab, overwrite_ab, overwrite_ab,
                                     False)
    else:
        a2 = np.zeros((2 * nlower + nupper + 1, ab.shape[1]))
        a2[nlower:, :] = ab
        _, _, x, info = lib.dgbsv(nlower, nupper, a2, b, overwrite_ab=True, overwrite_b=False)
    if info > 0:
        raise np.linalg.LinAlgError("singular matrix")
    if info < 0:
        raise ValueError(f"illegal value in argument {-info} of LAPACK gbsv/gtsv")
    return x
