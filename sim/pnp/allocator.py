"""Keep the memory the solver frees inside the process (glibc's malloc only).

A Newton iteration allocates and frees arrays of 0.01-1 MB dozens of times.  By default glibc gives
the top of its heap back to the kernel as soon as more than 128 KiB of it is free (M_TRIM_THRESHOLD),
so the next array of the same size lands on fresh pages, and the kernel zeroes each 4 KiB page when
it is first touched (a minor page fault).  On the cases of the benchmark sweep (320 cells) that was
686 page faults per case, about a fifth of its CPU time.  With M_TOP_PAD, glibc keeps TOP_PAD_BYTES
at the top of the heap when it trims and grows the heap by as much when it must: no page faults in
steady state, and the same results bit for bit (only where the memory comes from changes).  The
price: up to TOP_PAD_BYTES of freed memory stay with the process.

An allocator setting in the environment (MALLOC_TOP_PAD_, MALLOC_TRIM_THRESHOLD_,
MALLOC_MMAP_THRESHOLD_, e.g. Dask's nanny's) wins; SIM_MALLOC=default keeps glibc's defaults.
Other C libraries (musl, macOS, Windows) are left alone.
"""
from __future__ import annotations

import ctypes
import os
import sys

M_TOP_PAD = -2                  # glibc's <malloc.h>
TOP_PAD_BYTES = 64 << 20
ENVIRONMENT = ("MALLOC_TOP_PAD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")
_STATE = {}


def keep_freed_memory(pad_bytes=TOP_PAD_BYTES):
    """Set glibc's M_TOP_PAD once per process (see the module docstring); returns what was done:
    'glibc M_TOP_PAD <n> MiB', or why nothing was ('glibc defaults: ...')."""
    if "how" not in _STATE:
        _STATE["how"] = _apply(pad_bytes)
    return _STATE["how"]


def _apply(pad_bytes):
    if os.environ.get("SIM_MALLOC", "").strip().lower() == "default":
        return "glibc defaults: SIM_MALLOC=default"
    given = [k for k in ENVIRONMENT if k in os.environ]
    if given:
        return f"glibc defaults: {given[0]} is set in the environment"
    if not sys.platform.startswith("linux"):
        return f"allocator untouched on {sys.platform}"
    try:
        libc = ctypes.CDLL(None)            # the symbols of the running process: its malloc
    except OSError as e:
        return f"allocator untouched ({e})"
    if not (hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt")):
        return "allocator untouched (not glibc)"
    if libc.mallopt(ctypes.c_int(M_TOP_PAD), ctypes.c_int(pad_bytes)) != 1:
        return "allocator untouched (mallopt refused M_TOP_PAD)"
    return f"glibc M_TOP_PAD {pad_bytes >> 20} MiB"
