"""Sweeps: executors agree, resume after SIGKILL, failures recorded, bad keys refused up front."""
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from sim.errors import CaseError
from sim import columns
from sim.studies import load_summary, load_sweep, read_case, run_sweep

from _shared import PNP_TWO_LAYER

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BASE = PNP_TWO_LAYER


def write_sweep(tmp_path, params, design='kind = "grid"', base=BASE, name="s.toml"):
    (tmp_path / "base.toml").write_text(base)
    p = tmp_path / name
    p.write_text(f'base = "base.toml"\n[design]\n{design}\n{params}')
    return p


GRID = """
[parameters."materials.LPS.eps_r"]
values = [7.0, 9.0, 11.0]
[parameters."layers.sse.thickness_m"]
values = [15e-9, 30e-9]
"""


def _compare(a, b):
    assert list(a["case_id"]) == list(b["case_id"])
    assert list(a["status"]) == list(b["status"])
    for col in a.dtype.names:
        if a[col].dtype.kind == "f" and "wall_time" not in col:     # timings differ run to run
            np.testing.assert_array_equal(a[col], b[col], err_msg=col)


def _same_table(returned, path):
    """run_sweep's table (built from what it wrote) equals the file read back, column by column."""
    stored = load_summary(path)
    assert returned.dtype == stored.dtype
    for col in stored.dtype.names:
        np.testing.assert_array_equal(returned[col], stored[col], err_msg=col)


def test_serial_processes_dask_identical(tmp_path):
    sweep = write_sweep(tmp_path, GRID)
    serial = run_sweep(sweep, tmp_path / "serial.h5", executor="serial", progress=False)
    _same_table(serial, tmp_path / "serial.h5")
    procs = run_sweep(sweep, tmp_path / "procs.h5", executor="processes", jobs=2, progress=False)
    pytest.importorskip("dask.distributed")
    from sim.studies.runner import start_local_cluster
    with start_local_cluster(2) as cluster:       # given by address, so that every case runs on its workers
        dask = run_sweep(sweep, tmp_path / "dask.h5", executor="dask", scheduler=cluster.scheduler_address,
                         progress=False)
    assert len(serial) == 6 and np.all(serial["status"] == "ok")
    _compare(serial, procs)
    _compare(serial, dask)
    # the observables respond to the varied parameters (not a constant table)
    asr = serial["pnp.observables.total_excess_resistance"]
    assert len(np.unique(np.round(asr, 12))) == 6
    with h5py.File(tmp_path / "serial.h5") as f:
        assert [r["status"] for r in columns.records(f)] == ["ok"] * 6
        assert f["summary/param:layers.sse.thickness_m"].attrs["units"] == "m"
        assert f["cases/pnp/phi"].attrs["units"] == "V" and f["cases/pnp/phi"].shape == (6,)
    a, b = read_case(tmp_path / "serial.h5", 3), read_case(tmp_path / "procs.h5", 3)
    assert set(a) == set(b) and "pnp/phi" in a
    from sim.errors import ResultFileError
    with pytest.raises(ResultFileError, match="has no case 9"):
        read_case(tmp_path / "serial.h5", 9)
    for k in a:                                      # every dataset of a case, identical across executors
        if "wall_time" not in k:
            np.testing.assert_array_equal(np.asarray(a[k].value), np.asarray(b[k].value), err_msg=k)


def test_dask_chunks_give_the_cases_of_single_tasks(tmp_path, monkeypatch):
    from sim.studies import runner
    assert runner._chunks(list(range(10)), 2) == [[i] for i in range(10)]       # fewer cases than 16 per worker
    assert [len(c) for c in runner._chunks(list(range(200)), 2)] == [7] * 28 + [4]
    assert sum(runner._chunks(list(range(200)), 2), []) == list(range(200))
    pytest.importorskip("dask.distributed")
    sweep = write_sweep(tmp_path, GRID)
    serial = run_sweep(sweep, tmp_path / "serial.h5", executor="serial", progress=False)
    monkeypatch.setattr(runner, "DASK_TASKS_PER_WORKER", 1)                    # 6 cases, 2 workers: 2 chunks of 3
    assert [len(c) for c in runner._chunks(list(range(6)), 2)] == [3, 3]
    with runner.start_local_cluster(2) as cluster:
        chunked = run_sweep(sweep, tmp_path / "dask.h5", executor="dask", scheduler=cluster.scheduler_address,
                            progress=False)
    assert runner.LAST_RUN["tasks"] == 2 and runner.LAST_RUN["on_workers"] == 6
    _compare(serial, chunked)
    a, b = read_case(tmp_path / "serial.h5", 4), read_case(tmp_path / "dask.h5", 4)
    for k in a:
        if "wall_time" not in k:
            np.testing.assert_array_equal(np.asarray(a[k].value), np.asarray(b[k].value), err_msg=k)


def test_designs_zip_lhs_and_log_ranges(tmp_path):
    zipped = load_sweep(write_sweep(tmp_path, GRID.replace("[15e-9, 30e-9]", "[15e-9, 20e-9, 30e-9]"),
                                    'kind = "zip"'))
    assert zipped.n == 3
    lhs = load_sweep(write_sweep(tmp_path, """
[parameters."materials.LPS.eps_r"]
range = [6.0, 12.0]
[parameters."layers.sse.thickness_m"]
range = [1e-8, 1e-7]
scale = "log"
""", 'kind = "lhs"\nsamples = 8\nseed = 4'))
    assert lhs.n == 8
    # one sample per stratum in each dimension
    u = (lhs.values[:, 0] - 6.0) / 6.0
    assert sorted(np.floor(u * 8).astype(int)) == list(range(8))
    v = np.log(lhs.values[:, 1] / 1e-8) / np.log(10.0)
    assert sorted(np.floor(v * 8).astype(int)) == list(range(8))
    again = load_sweep(write_sweep(tmp_path, """
[parameters."materials.LPS.eps_r"]
range = [6.0, 12.0]
[parameters."layers.sse.thickness_m"]
range = [1e-8, 1e-7]
scale = "log"
""", 'kind = "lhs"\nsamples = 8\nseed = 4', name="t.toml"))
    np.testing.assert_array_equal(lhs.values, again.values)
    grid = load_sweep(write_sweep(tmp_path, """
[parameters."layers.sse.thickness_m"]
range = [1e-9, 1e-7]
points = 3
scale = "log"
"""))
    np.testing.assert_allclose(grid.values[:, 0], [1e-9, 1e-8, 1e-7])


def test_bad_key_fails_the_whole_sweep_up_front(tmp_path):
    sweep = write_sweep(tmp_path, '[parameters."materials.LPS.eps_rr"]\nvalues = [7.0]\n')
    with pytest.raises(CaseError, match="eps_rr"):
        run_sweep(sweep, tmp_path / "o.h5", executor="serial", progress=False)
    assert not (tmp_path / "o.h5").exists()
    sweep = write_sweep(tmp_path, '[parameters."layers.sse.thickness_m"]\nvalues = [-1.0]\n')
    with pytest.raises(CaseError, match="thickness_m"):
        load_sweep(sweep)


def test_failing_case_is_recorded_and_the_sweep_goes_on(tmp_path):
    base = BASE + "[solver_options]\ncontinuation = false\npredictor = false\n"
    sweep = write_sweep(tmp_path, '[parameters."solver_options.max_iter"]\nvalues = [1, 60]\n', base=base)
    table = run_sweep(sweep, tmp_path / "o.h5", executor="serial", progress=False)
    assert list(table["status"]) == ["failed", "ok"]
    assert "ConvergenceError" in table["error"][0]
    assert "s.toml#case0" in table["error"][0]          # names the sweep file and the case id
    assert np.isnan(table["pnp.observables.total_excess_resistance"][0])
    assert np.isfinite(table["pnp.observables.total_excess_resistance"][1])
    _same_table(table, tmp_path / "o.h5")                # text columns (status, error) included


def test_resume_after_sigkill_loses_nothing(tmp_path):
    params = GRID.replace("[7.0, 9.0, 11.0]", "[6.0, 7.0, 8.0, 9.0, 10.0, 11.0]")
    sweep = write_sweep(tmp_path, params)
    out = tmp_path / "killed.h5"
    code = (f"from sim.studies import run_sweep\n"
            f"run_sweep({str(sweep)!r}, {str(out)!r}, executor='serial', progress=False, flush_interval_s=0)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    deadline = time.time() + 120
    done = 0
    while time.time() < deadline:
        try:
            done = int((load_summary(out)["status"] == "ok").sum())
        except Exception:
            done = 0
        if done >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = load_summary(out)                      # readable after the kill
    kept = int((partial["status"] == "ok").sum())
    assert 3 <= kept < 12
    resumed = run_sweep(sweep, out, executor="serial", resume=True, progress=False)
    full = run_sweep(sweep, tmp_path / "full.h5", executor="serial", progress=False)
    _compare(resumed, full)
    _same_table(resumed, out)
    with h5py.File(out) as f:
        assert [r["status"] for r in columns.records(f)] == ["ok"] * 12


def test_second_writer_is_refused(tmp_path):
    from sim.io import Lock, OutputLocked
    out = tmp_path / "o.h5"
    with Lock(out):
        with pytest.raises(OutputLocked, match="another sweep"):
            with Lock(out):
                pass
    # a stale lock (dead pid) is taken over
    (tmp_path / "o.h5.lock").write_text("999999999")
    with Lock(out):
        pass


def test_auto_executor_picks_processes_for_solves_and_serial_for_closed_form(tmp_path, monkeypatch):
    """`auto`: a pool where cases solve equations (same numbers as serial), serial for closed-form kinds."""
    from sim.studies import runner
    monkeypatch.setattr(runner, "free_cores", lambda since: 2.0)     # as on an idle machine (tests/test_executors.py)
    sweep = write_sweep(tmp_path, GRID)
    auto = run_sweep(sweep, tmp_path / "auto.h5", executor="auto", jobs=2, progress=False)
    assert runner.AUTO_CHOICE["executor"] == "processes"
    _compare(auto, run_sweep(sweep, tmp_path / "serial.h5", executor="serial", progress=False))
    budget = ('kind = "polarization"\n[current]\ncurrent_density_mA_cm2 = 3.0\n[budget]\nmax_polarization_V = 0.05\n'
              '[layers.separator]\nthickness_um = 20.0\nconductivity_S_cm = 1e-4\n')
    closed = write_sweep(tmp_path, '[parameters."layers.separator.thickness_um"]\nrange = [5.0, 50.0]\npoints = 4\n',
                         base=budget, name="p.toml")
    table = run_sweep(closed, tmp_path / "p.h5", executor="auto", jobs=2, progress=False)
    assert runner.AUTO_CHOICE["executor"] == "serial" and list(table["status"]) == ["ok"] * 4


def test_case_rows_round_trip_exactly_and_refuse_a_changed_type(tmp_path):
    """sim.columns: every dtype, shape, text and attribute comes back as written (the digest of a
    case is recomputed from its rows), and a row whose type differs from its column is refused."""
    import io as _io
    from sim.io import Q, content_digest
    rows = {0: ({"status": "ok"}, {"a/x": (np.arange(5.0), "m", {"meaning": "m"}), "a/n": (np.int64(7), "1", {}),
                                   "a/f": (np.array([[1.0, 2.0], [3.0, 4.0]]), "V", {"dims": "(i, j)"}),
                                   "t/name": ("native", "", {}), "t/list": (np.array(["a", "bb"]), "", {})}),
            2: ({"status": "ok"}, {"a/x": (np.arange(3.0), "m", {"meaning": "other"}), "a/n": (np.int64(9), "1", {}),
                                   "a/f": (np.ones((3, 1)), "V", {"dims": "(i, j)"}),
                                   "t/name": ("fipy", "", {}), "t/list": (np.array(["c"]), "", {})})}
    bio = _io.BytesIO()
    with h5py.File(bio, "w") as f:
        columns.write_rows(f, 3, rows)
        recs = columns.records(f)
        assert recs[1] is None and recs[0]["status"] == "ok"
        for i in (0, 2):
            back = columns.read_row(f, i, recs[i]["paths"])
            want = {p: Q(*t) for p, t in rows[i][1].items()}
            assert content_digest({p: Q(*t) for p, t in back.items()}) == content_digest(want)
        with pytest.raises(TypeError, match="must write the same types"):
            columns.write_rows(f, 3, {1: ({"status": "ok"}, {"a/n": (np.float64(1.5), "1", {})})})


def test_rows_written_in_parts_equal_rows_written_at_once(tmp_path):
    """A sweep writes its first case alone (the columns are created while the workers compute) and
    the rest later, reusing the column handles it keeps (`known`): the rows, including a case whose
    attributes differ from its column's, read back exactly as when all are written in one call; and
    `SweepImage` touches the file on disk only when it commits."""
    import io as _io
    from sim.io import Q, content_digest
    from sim.studies import store
    rows = {0: ({"status": "ok"}, {"a/x": (np.arange(5.0), "m", {"meaning": "m"}), "a/f": (np.eye(2), "V", {}),
                                   "t/name": ("native", "", {})}),
            1: ({"status": "ok"}, {"a/x": (np.arange(2.0), "m", {"meaning": "other"}), "a/f": (np.ones((3, 1)), "V", {}),
                                   "t/name": ("fipy", "", {})}),
            2: ({"status": "ok"}, {"a/x": (np.arange(3.0), "m", {"meaning": "m"}), "a/f": (np.zeros((1, 2)), "V", {}),
                                   "t/name": ("x", "", {})})}

    def read_all(f):
        recs = columns.records(f)
        return {i: content_digest({p: Q(*t) for p, t in columns.read_row(f, i, recs[i]["paths"]).items()})
                for i in rows}
    with h5py.File(_io.BytesIO(), "w") as f:
        columns.write_rows(f, 3, rows)
        at_once = read_all(f)
    with h5py.File(_io.BytesIO(), "w") as f:
        known = {}
        for part in ([0], [2], [1]):
            columns.write_rows(f, 3, {i: rows[i] for i in part}, known)
        assert read_all(f) == at_once == {i: content_digest({p: Q(*t) for p, t in rows[i][1].items()}) for i in rows}

    path = tmp_path / "s.h5"
    data = {}
    for i, (rec, r) in rows.items():
        q = {p: Q(*t) for p, t in r.items()}
        data[i] = ({**rec, "digest": content_digest(q)}, q)
    summary = store.summary_columns([0, 1, 2], [], np.zeros((3, 0)), {})
    with store.SweepImage(path, 3, fresh=True) as image:
        image.add({0: data[0]})
        image.commit({"study": "sweep"}, summary)
    before = path.read_bytes()
    with store.SweepImage(path, 3) as image:
        image.add({1: data[1], 2: data[2]})
        assert path.read_bytes() == before and image.uncommitted == 2
        image.commit({"study": "sweep"}, summary)
        assert image.uncommitted == 0
    for i in rows:
        assert content_digest(read_case(path, i)) == content_digest(data[i][1])


def test_column_attributes_written_directly_equal_those_of_h5py():
    """sim.columns writes text, float and integer attributes of new columns through h5py's
    low-level API: type, space and value equal what `obj.attrs[k] = v` writes (others go through it)."""
    import io as _io
    from h5py import h5a
    values = {"units": "ohm cm^2", "meaning": "µ-text, ünïcode", "empty": "", "step_V": 0.01, "g": np.float64(-2.5e-300),
              "n": 3, "big": 2 ** 62, "i": np.int64(-7), "flag": True, "arr": np.arange(3.0)}
    with h5py.File(_io.BytesIO(), "w") as f:
        fast, slow = f.create_dataset("fast", (1,), dtype=float), f.create_dataset("slow", (1,), dtype=float)
        columns._new_attrs(fast, values)
        for k, v in values.items():
            slow.attrs[k] = v
        assert sorted(fast.attrs) == sorted(slow.attrs) == sorted(values)
        for k in values:
            a, b = h5a.open(fast.id, k.encode()), h5a.open(slow.id, k.encode())
            assert a.get_type() == b.get_type() and a.get_space().shape == b.get_space().shape, k
            va, vb = fast.attrs[k], slow.attrs[k]
            assert type(va) is type(vb) and np.array_equal(va, vb), k
