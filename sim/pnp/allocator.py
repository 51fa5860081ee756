"""Keep the memory the solver frees inside the process (glibc's malloc only).

A Newton iteration allocates and frees arrays of 0.01-1 MB dozens of times.  By default glibc gives
the top of its heap back to the kernel as soon as more than 128 KiB of it is free (M_TRIM_THRESHOLD),
so the next array of the same size lands on fresh pages, and the kernel zeroes each 4 KiB page when
it is first touched (a minor page fault).  On the cases of the benchmark sweep (320 cells) that was
686 page faults per case, about a fifth of its CPU time.  With M_TOP_PAD, glibc keeps TOP_PAD_BYTES
at the top of the heap when it trims and grows the heap by as much when it must: no page faults in
steady state, and the same results bit for bit (only where the memory comes from changes).  The
price: up to TOP_PAD_BYTES of freed memory stay with the process.

Setting M_TOP_PAD also ends glibc's adaptive mmap threshold (any M_* setting does): arrays above the
threshold it had reached by then (128 KiB to a few hundred KiB) would be mapped and unmapped afresh
each time, again a page fault per 4 KiB page: 30,000 per solve of the one-sided layer at 64k cells,
a third of its time.  So M_MMAP_THRESHOLD is set too, to MMAP_THRESHOLD_BYTES, the largest value
glibc's own adaptation reaches on 64-bit systems: arrays up to that size come from the heap, and
their pages are reused.

An allocator setting in the environment (MALLOC_TOP_PAD_, MALLOC_TRIM_THRESHOLD_,
MALLOC_MMAP_THRESHOLD_, e.g. Dask's nanny's) wins; SIM_MALLOC=default keeps glibc's defaults.
Other C libraries (musl, macOS, Windows) are left alone.
"""
from __future__ import annotations

import ctypes
import os
import sys

M_TOP_PAD, M_MMAP_THRESHOLD = -2, -3          # glibc's <malloc.h>
TOP_PAD_BYTES = 64 << 20
MMAP_THRESHOLD_BYTES = 32 << 20                # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
ENVIRONMENT = ("MALLOC_TOP_PAD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")
_STATE = {}


def keep_freed_memory(pad_bytes=TOP_PAD_BYTES):
    """Set glibc's M_TOP_PAD and M_MMAP_THRESHOLD once per process (see the module docstring); returns
    what was done: 'glibc M_TOP_PAD <n> MiB, M_MMAP_THRESHOLD <m> MiB', or why nothing was
    ('glibc defaults: ...')."""
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
    if libc.mallopt(ctypes.c_int(M_MMAP_THRESHOLD), ctypes.c_int(MMAP_THRESHOLD_BYTES)) != 1:
        return f"glibc M_TOP_PAD {pad_bytes >> 20} MiB (mallopt refused M_MMAP_THRESHOLD)"
    return f"glibc M_TOP_PAD {pad_bytes >> 20} MiB, M_MMAP_THRESHOLD {MMAP_THRESHOLD_BYTES >> 20} MiB"
