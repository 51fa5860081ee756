"""When the solver uses the compiled kernels of `sim.pnp.kernels` instead of its NumPy code.

Importing numba and loading the cached machine code costs about half a second, and compiling
it the first time several seconds; a NumPy solve on a few hundred cells costs milliseconds.  So
the kernels are used where they pay: meshes of at least MIN_CELLS cells, where each solve saves
tens of milliseconds.  The choice depends on the mesh alone, so a case gives the same numbers
whatever ran before it in the process.  The environment variable SIM_KERNELS overrides the choice:
`numpy` (never; the reference path), `numba` (always, when installed), `auto` (the default).
"""
from __future__ import annotations

import importlib.util
import os

MIN_CELLS = 3000
CHOICES = ("auto", "numpy", "numba")
_AVAILABLE = {}
_WARNED = set()


def available():
    """numba is installed (checked without importing it)."""
    if "numba" not in _AVAILABLE:
        _AVAILABLE["numba"] = importlib.util.find_spec("numba") is not None
    return _AVAILABLE["numba"]


def _loads():
    """The kernel module imports (numba installed but broken, e.g. against a newer NumPy, falls
    back to the NumPy path with a warning instead of failing a run)."""
    if "module" not in _AVAILABLE:
        try:
            from sim.pnp import kernels as k
            _AVAILABLE["module"] = k
        except Exception as e:         # noqa: BLE001 - any import failure means: no kernels
            import warnings
            warnings.warn(f"compiled kernels unavailable ({type(e).__name__}: {e}); using the NumPy path",
                          RuntimeWarning, stacklevel=3)
            _AVAILABLE["module"] = None
    return _AVAILABLE["module"] is not None


def choice():
    value = os.environ.get("SIM_KERNELS", "auto").strip().lower() or "auto"
    if value not in CHOICES:
        if value not in _WARNED:
            import warnings
            warnings.warn(f"SIM_KERNELS={value!r} is not one of {', '.join(CHOICES)}; using 'auto'",
                          RuntimeWarning, stacklevel=3)
            _WARNED.add(value)
        return "auto"
    return value


def use_kernels(n_cells):
    """Whether a problem of n_cells cells is solved with the compiled kernels."""
    how = choice()
    if how == "numpy" or not available():
        return False
    wanted = how == "numba" or n_cells >= MIN_CELLS
    return wanted and _loads()


def kernels():
    """The kernel module (imported by `use_kernels` when it first says yes)."""
    _loads()
    return _AVAILABLE["module"]


def describe(n_cells):
    """'numpy', or 'numba <version>' when a problem of n_cells cells uses the kernels (provenance)."""
    if not use_kernels(n_cells):
        return "numpy"
    from importlib.metadata import version
    return f"numba {version('numba')}"
