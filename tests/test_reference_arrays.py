"""Optimizations change no result: every shipped case equals the arrays stored before the
performance work (tests/reference/make_reference.py) to 1e-12 of each array's largest value."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "reference"))
import make_reference  # noqa: E402

TOLERANCE = 1e-12


@pytest.mark.parametrize("name", make_reference.CASES)
def test_shipped_case_equals_stored_reference(name):
    stored = np.load(make_reference.file_of(name))
    now = make_reference.arrays(name)
    assert set(now) == set(stored.files), set(now) ^ set(stored.files)
    worst = 0.0
    for path in stored.files:
        a, b = now[path], stored[path]
        assert a.shape == b.shape, path
        assert np.array_equal(np.isnan(a), np.isnan(b)), path
        scale = np.nanmax(np.abs(b)) if b.size and np.any(np.isfinite(b)) else 0.0
        diff = np.nanmax(np.abs(a - b)) if b.size and np.any(np.isfinite(b)) else 0.0
        if scale > 0:
            worst = max(worst, diff / scale)
        assert diff <= TOLERANCE * scale, f"{path}: {diff:.3g} vs scale {scale:.3g}"
