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


def band_storage(rows, cols, vals, n, bw, dtype=float):
    """LAPACK band storage ab[bw + i - j, j] = A[i, j] (half-width bw both ways) of COO triplets that lie
    in the band; duplicates summed."""
    flat = (bw + rows - cols) * n + cols                 # np.bincount sums duplicates, much faster than add.at
    if np.iscomplexobj(vals):
        return band_storage(rows, cols, vals.real, n, bw) + 1j * band_storage(rows, cols, vals.imag, n, bw)
    return np.bincount(flat, weights=vals, minlength=(2 * bw + 1) * n).reshape(2 * bw + 1, n).astype(dtype)


class BandedWithRows:
    """A = B + U (V - U)^T: a banded B (LAPACK storage, half-width bw) in which the rows `replaced` are
    identity rows, and the dense rows V (k, n) that stand there in A (an inventory or other conservation
    constraint).  Solved by Woodbury with banded LUs, x = y - Y (I + W Y)^{-1} W y, y = B^-1 b,
    Y = B^-1 U, W = V - U^T: a sparse LU of A would pivot the dense rows early and fill in (seconds at
    10k cells instead of milliseconds)."""

    def __init__(self, ab, bw, replaced, V):
        self.ab, self.bw = ab, bw
        self.replaced = np.asarray(replaced, int)
        k = self.replaced.size
        self.W = np.array(V, float).reshape(k, ab.shape[1])
        self.W[np.arange(k), self.replaced] -= 1.0
        self.ab[bw, self.replaced] = 1.0             # the band holds nothing else in those rows

    @classmethod
    def from_coo(cls, rows, cols, vals, n, bw, dense_rows):
        """From COO triplets whose rows `dense_rows` are dense (the others banded)."""
        dense_rows = np.asarray(dense_rows, int)
        is_dense = np.isin(rows, dense_rows)
        ab = band_storage(rows[~is_dense], cols[~is_dense], vals[~is_dense], n, bw)
        V = np.zeros((dense_rows.size, n))
        pos = {r: i for i, r in enumerate(dense_rows)}
        np.add.at(V, (np.array([pos[r] for r in rows[is_dense]], int), cols[is_dense]), vals[is_dense])
        return cls(ab, bw, dense_rows, V)

    def solve(self, b, diagonal=None):
        """x with (A + diag(diagonal)) x = b (b a vector or columns; diagonal may be complex, e.g. i w M,
        and must vanish on the replaced rows)."""
        ab = self.ab if diagonal is None else self.ab.astype(np.result_type(self.ab, diagonal))
        if diagonal is not None:
            ab[self.bw] += diagonal
        cols = b[:, None] if np.ndim(b) == 1 else b
        k = self.replaced.size
        U = np.zeros((cols.shape[0], k))
        U[self.replaced, np.arange(k)] = 1.0
        rhs = np.column_stack([cols, U]).astype(np.result_type(ab, cols))
        if np.iscomplexobj(ab) or np.iscomplexobj(rhs):
            import scipy.linalg as sla                 # complex bands (impedance) only
            both = sla.solve_banded((self.bw, self.bw), ab, rhs, check_finite=False)
        else:
            both = solve_banded(self.bw, self.bw, ab, rhs)
        x, Y = both[:, :cols.shape[1]], both[:, cols.shape[1]:]
        if k:
            x = x - Y @ np.linalg.solve(np.eye(k) + self.W @ Y, self.W @ x)
        return x[:, 0] if np.ndim(b) == 1 else x
