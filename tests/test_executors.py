"""Executors: `auto` reads how busy the machine is, a Dask LocalCluster starts while this process computes,
the process pool never forks more workers than cases; every path gives the serial numbers."""
import os
import threading
import time

import numpy as np
import pytest

from sim.studies import read_case, run_sweep
from sim.studies import runner

from _shared import PNP_TWO_LAYER

GRID = """
[parameters."materials.LPS.eps_r"]
values = [7.0, 9.0, 11.0]
[parameters."layers.sse.thickness_m"]
values = [15e-9, 30e-9]
"""


def write_sweep(tmp_path, params=GRID):
    (tmp_path / "base.toml").write_text(PNP_TWO_LAYER)
    p = tmp_path / "s.toml"
    p.write_text(f'base = "base.toml"\n[design]\nkind = "grid"\n{params}')
    return p


def same_cases(tmp_path, a, b, n):
    """Files a and b hold the same numbers in every dataset of every case (timings aside)."""
    for i in range(n):
        x, y = read_case(tmp_path / a, i), read_case(tmp_path / b, i)
        assert set(x) == set(y)
        for k in x:
            if "wall_time" not in k:
                np.testing.assert_array_equal(np.asarray(x[k].value), np.asarray(y[k].value), err_msg=f"case {i} {k}")


def test_free_cores_is_idle_time_plus_own_cpu_per_second(monkeypatch):
    # 0.3 s idle on the machine and 0.9 s of this process's CPU over 1 s: 1.2 cores free for a sweep
    monkeypatch.setattr(runner, "cpu_snapshot", lambda: (101.0, 10.9, 50.3))
    assert runner.free_cores((100.0, 10.0, 50.0)) == pytest.approx(1.2)
    assert runner.free_cores(None) is None                 # no /proc/stat: unknown, not zero
    monkeypatch.undo()
    snap = runner.cpu_snapshot()
    if snap is None:
        pytest.skip("no /proc/stat here")
    free = runner.free_cores(snap)                         # lengthens the window to 50 ms
    assert 0.0 <= free <= (os.cpu_count() or 1) + 0.5


def test_auto_goes_serial_when_other_processes_keep_the_cores_busy(tmp_path, monkeypatch):
    sweep = write_sweep(tmp_path)
    seen = []

    def busy(since):
        seen.append(since)
        return 1.0                         # another session keeps one of two cores busy

    monkeypatch.setattr(runner, "free_cores", busy)
    table = run_sweep(sweep, tmp_path / "busy.h5", executor="auto", jobs=2, progress=False)
    assert runner.AUTO_CHOICE == {"executor": "serial", "workers": 1, "kind": "pnp", "free_cores": 1.0}
    assert list(table["status"]) == ["ok"] * 6
    if runner.cpu_snapshot() is not None:
        assert seen[0] is not None        # measured from the start of run_sweep
    monkeypatch.setattr(runner, "free_cores", lambda since: 2.0)
    run_sweep(sweep, tmp_path / "idle.h5", executor="auto", jobs=2, progress=False)
    assert runner.AUTO_CHOICE["executor"] == "processes" and runner.LAST_RUN["workers"] == 2
    monkeypatch.setattr(runner, "free_cores", lambda since: 8.0)
    run_sweep(sweep, tmp_path / "wide.h5", executor="auto", jobs=3, progress=False)
    assert runner.LAST_RUN["workers"] == 3          # -j bounds what auto takes
    same_cases(tmp_path, "busy.h5", "idle.h5", 6)


def test_process_pool_forks_no_more_workers_than_cases(tmp_path):
    sweep = write_sweep(tmp_path, GRID.replace("[7.0, 9.0, 11.0]", "[7.0]"))
    table = run_sweep(sweep, tmp_path / "p.h5", executor="processes", jobs=4, progress=False)
    assert list(table["status"]) == ["ok", "ok"]
    assert runner.LAST_RUN == {"executor": "processes", "workers": 2, "tasks": 2}


def test_dask_local_cluster_starts_while_this_process_computes(tmp_path, monkeypatch):
    """The first case runs here and times the work; the cluster starts only then, and one more case runs
    here while it starts (held back until that case is done); the workers get the other four; the numbers
    equal the serial run's."""
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr(runner, "DASK_MIN_WORK_S", 0.0)       # these cases take milliseconds
    sweep = write_sweep(tmp_path)
    run_sweep(sweep, tmp_path / "serial.h5", executor="serial", progress=False)
    first_done = threading.Event()
    start, compute_here = runner.start_local_cluster, runner.run_one

    def held_start(workers, kind=None):
        assert first_done.wait(60)
        return start(workers, kind)

    def here(*case):
        out = compute_here(*case)
        if any(t.name == "sim-dask-start" for t in threading.enumerate()):
            first_done.set()                # a case computed while the cluster starts
        while any(t.name == "sim-dask-start" and t.is_alive() for t in threading.enumerate()):
            time.sleep(0.01)                # until the cluster is up: the rest is the workers'
        return out

    monkeypatch.setattr(runner, "start_local_cluster", held_start)
    monkeypatch.setattr(runner, "run_one", here)           # this process only: workers import their own
    monkeypatch.setattr(runner, "free_cores", lambda since: 2.0)
    table = run_sweep(sweep, tmp_path / "dask.h5", executor="dask", jobs=2, progress=False)
    assert list(table["status"]) == ["ok"] * 6
    assert runner.LAST_RUN["in_submitting_process"] == 2 and runner.LAST_RUN["on_workers"] == 4
    same_cases(tmp_path, "serial.h5", "dask.h5", 6)


@pytest.mark.parametrize("free, start_error, said", [
    (2.0, OSError("no free port"), "the local cluster did not start (OSError: no free port)"),
    (1.1, None, "too few for a local cluster to pay for its start"),      # busy machine: no cluster at all
])
def test_dask_without_a_local_cluster_computes_every_case_here(tmp_path, monkeypatch, capsys, free, start_error, said):
    pytest.importorskip("dask.distributed")
    sweep = write_sweep(tmp_path)
    monkeypatch.setattr(runner, "DASK_MIN_WORK_S", 0.0)

    def start(workers, kind=None):
        if start_error is None:
            raise AssertionError("a cluster was started on a busy machine")
        time.sleep(0.2)
        raise start_error

    monkeypatch.setattr(runner, "start_local_cluster", start)
    monkeypatch.setattr(runner, "free_cores", lambda since: free)
    table = run_sweep(sweep, tmp_path / "d.h5", executor="dask", jobs=2, progress=False)
    assert list(table["status"]) == ["ok"] * 6
    assert runner.LAST_RUN["in_submitting_process"] == 6 and runner.LAST_RUN["on_workers"] == 0
    assert said in capsys.readouterr().out


def test_dask_starts_no_local_cluster_for_less_work_than_it_costs(tmp_path, monkeypatch, capsys):
    """Six cases of milliseconds: the first one's time says the rest is far below DASK_MIN_WORK_S, so no
    cluster is started (nor Dask imported) and the cases run here, with a line saying why."""
    sweep = write_sweep(tmp_path)

    def start(workers, kind=None):
        raise AssertionError("a cluster was started for milliseconds of work")

    monkeypatch.setattr(runner, "start_local_cluster", start)
    monkeypatch.setattr(runner, "free_cores", lambda since: 2.0)
    table = run_sweep(sweep, tmp_path / "d.h5", executor="dask", jobs=2, progress=False)
    assert list(table["status"]) == ["ok"] * 6
    assert runner.LAST_RUN["in_submitting_process"] == 6 and runner.LAST_RUN["on_workers"] == 0
    assert "too little for a local cluster to pay for its start" in capsys.readouterr().out
