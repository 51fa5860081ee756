"""The allocator setting of `sim.pnp.allocator`: repeated solves take no fresh pages from the kernel
(glibc), the results do not depend on it, and the environment can opt out."""
import os
import resource
import subprocess
import sys

import numpy as np
import pytest

from sim.case import load_case
from sim.kinds.pnp.build import build_problem
from sim.pnp import allocator
from sim.pnp.newton import solve_equilibrium

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GLIBC = allocator.keep_freed_memory().startswith("glibc M_TOP_PAD")


@pytest.mark.skipif(not GLIBC, reason=f"allocator not tuned here: {allocator.keep_freed_memory()}")
def test_repeated_solves_take_no_fresh_pages():
    p = build_problem(load_case(os.path.join(ROOT, "cases", "lco_lno_lps.toml")).params)
    for _ in range(3):                                   # the heap reaches its working size
        solve_equilibrium(p)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        solve_equilibrium(p)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 100, f"{faults} minor page faults in 10 solves (glibc's defaults: ~1200)"


@pytest.mark.skipif(not GLIBC, reason=f"allocator not tuned here: {allocator.keep_freed_memory()}")
def test_large_arrays_reuse_their_pages():
    """Arrays of a few MB (a 64k-cell mesh) come from the heap, not from a fresh mapping each time:
    M_TOP_PAD alone ends glibc's adaptive mmap threshold, which cost 30,000 page faults per solve at
    64k cells (each 4 MiB array below would fault 1,024 pages if mapped afresh)."""
    a = np.ones(1 << 19)
    del a
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        a = np.ones(1 << 19)          # 4 MiB
        a += 1.0
        del a
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 100, f"{faults} minor page faults for 20 arrays of 4 MiB (mapped afresh: ~10,000; glibc defaults ~500)"


def _in_child(env_extra):
    """(what keep_freed_memory did, psi of the default case) in a fresh interpreter."""
    code = ("import numpy as np, sys\nfrom sim.pnp import allocator\nfrom sim.case import load_case\n"
            "from sim.kinds.pnp.build import build_problem\nfrom sim.pnp.newton import solve_equilibrium\n"
            f"p = build_problem(load_case({os.path.join(ROOT, 'cases', 'lco_lno_lps.toml')!r}).params)\n"
            "psi = solve_equilibrium(p)[0]\nprint(allocator.keep_freed_memory())\n"
            "sys.stdout.flush()\nsys.stdout.buffer.write(psi.tobytes())\n")
    env = {k: v for k, v in os.environ.items() if k not in allocator.ENVIRONMENT and k != "SIM_MALLOC"}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, check=True).stdout
    line, _, raw = out.partition(b"\n")
    return line.decode(), np.frombuffer(raw, dtype=np.float64)


def test_the_environment_wins_and_the_results_are_the_same_bit_for_bit():
    tuned, psi_tuned = _in_child({})
    default, psi_default = _in_child({"SIM_MALLOC": "default"})
    dask_like, _ = _in_child({"MALLOC_TRIM_THRESHOLD_": "65536"})
    assert default == "glibc defaults: SIM_MALLOC=default"
    assert dask_like == "glibc defaults: MALLOC_TRIM_THRESHOLD_ is set in the environment"
    if GLIBC:
        assert tuned == (f"glibc M_TOP_PAD {allocator.TOP_PAD_BYTES >> 20} MiB, "
                         f"M_MMAP_THRESHOLD {allocator.MMAP_THRESHOLD_BYTES >> 20} MiB")
    assert psi_tuned.size > 100 and np.array_equal(psi_tuned, psi_default)
