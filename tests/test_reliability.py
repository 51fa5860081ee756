"""Solver failures and interrupted work: clear errors, no half-written or fake results."""
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from sim import columns
from sim.errors import ConvergenceError, ResultFileError
from sim.io import Q, read_result, write_result
from sim.pnp.reference_problems import one_sided_layer
from sim.pnp.newton import SolverOptions, newton, solve_equilibrium
from sim.pnp import operator as op

from _shared import PNP_TWO_LAYER

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_absurd_step_without_continuation_raises_with_history_and_hint():
    p = one_sided_layer(3000.0)          # 77 V across a Debye length, no ramp, no predictor
    with pytest.raises(ConvergenceError) as e:
        solve_equilibrium(p, SolverOptions(continuation=False, predictor=False, max_iter=8))
    err = e.value
    assert err.residuals and err.hint and "ramp" in err.hint
    assert err.last_step is not None



def test_nan_state_is_detected():
    p = one_sided_layer(2.0)
    psi, c = p.initial_state()
    psi[3] = np.nan
    with pytest.raises(ConvergenceError, match="NaN"):
        newton(p, op.geometry(p), psi, c, SolverOptions(), type("S", (), {"newton_iterations": 0,
                                                                           "residual_history": []})())


def test_failed_run_writes_no_result_and_keeps_the_old_one(tmp_path):
    from sim.run import run_case
    out = tmp_path / "o.h5"
    write_result(out, {"v": Q(1.0, "V")}, {"schema_version": 2})
    before = out.read_bytes()
    case = tmp_path / "bad.toml"
    case.write_text('kind = "pnp"\n[cathode]\npotential_V = 9.9\nionic_fraction = 1.0\n[solver_options]\n'
                    'continuation = false\npredictor = false\nmax_iter = 3\n[layers.cathode]\nmaterial = "LCO"\nthickness_m = 20e-9\n'
                    '[layers.sse]\nmaterial = "LPS"\nthickness_m = 20e-9\n')
    with pytest.raises(ConvergenceError):
        run_case(case, out)
    assert out.read_bytes() == before
    assert not list(tmp_path.glob(".sim-*"))           # no temporary left behind
    with pytest.raises(ConvergenceError):
        run_case(case, tmp_path / "new.h5")
    assert not (tmp_path / "new.h5").exists()


def _write_sealed(path, fill):
    """A file sealed as sim seals its results, with contents written by `fill(h5file)`."""
    import io
    from sim.io import USERBLOCK_BYTES, seal
    bio = io.BytesIO()
    with h5py.File(bio, "w", userblock_size=USERBLOCK_BYTES) as f:
        fill(f)
    path.write_bytes(seal(bio.getbuffer()))


def test_schema_version_and_missing_units_are_reported(tmp_path):
    p = tmp_path / "v.h5"
    _write_sealed(p, lambda f: f.attrs.create("schema_version", 99))
    with pytest.raises(ResultFileError, match="schema version 99"):
        read_result(p)

    def no_units(f):
        f.attrs["schema_version"] = 2
        f["x"] = 1.0
    _write_sealed(p, no_units)
    with pytest.raises(ResultFileError, match="/x has no 'units'"):
        read_result(p)
    with h5py.File(p, "w") as f:                 # an HDF5 file that sim did not write
        f.attrs["schema_version"] = 2
    with pytest.raises(ResultFileError, match="no checksum block"):
        read_result(p)
    p.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(2000))
    with pytest.raises(ResultFileError, match="v.h5"):
        read_result(p)


SWEEP_BASE = PNP_TWO_LAYER


def _kill_and_resume_trials(tmp_path, trials, seed):
    from sim.studies import load_summary, run_sweep
    (tmp_path / "base.toml").write_text(SWEEP_BASE)
    sweep = tmp_path / "s.toml"
    sweep.write_text('base = "base.toml"\n[parameters."materials.LPS.eps_r"]\nrange = [6.0, 12.0]\npoints = 16\n')
    reference = run_sweep(sweep, tmp_path / "ref.h5", executor="serial", progress=False)
    rng = random.Random(seed)
    cols = [c for c in reference.dtype.names if reference[c].dtype.kind == "f" and "wall_time" not in c]

    def start(out):
        code = ("from sim.studies import run_sweep\n"
                f"run_sweep({str(sweep)!r}, {str(out)!r}, executor='serial', progress=False, flush_interval_s=0)\n")
        return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    t0 = time.perf_counter()
    start(tmp_path / "timing.h5").wait()
    full = time.perf_counter() - t0               # imports + the whole sweep in a subprocess
    kept = []
    for k in range(trials):
        out = tmp_path / f"t{k}.h5"
        proc = start(out)
        time.sleep(rng.uniform(0.3, 1.0) * full)   # a random moment, start-up included
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        before = 0
        if out.exists():
            before = int((load_summary(out)["status"] == "ok").sum())     # readable whatever the moment
        table = run_sweep(sweep, out, executor="serial", resume=out.exists(), progress=False)
        assert list(table["status"]) == ["ok"] * 16
        for c in cols:
            np.testing.assert_array_equal(table[c], reference[c], err_msg=c)
        with h5py.File(out) as f:                                          # none lost, none duplicated
            assert [r["status"] for r in columns.records(f)] == ["ok"] * 16
        read_result(out)                                                   # and every case verifies
        assert before <= 16
        kept.append(before)
    print(f"cases kept at the kills: {kept}")
    return kept


def test_sweep_survives_sigkill_and_resumes(tmp_path):
    _kill_and_resume_trials(tmp_path, trials=2, seed=1)


@pytest.mark.slow
def test_sweep_survives_twenty_random_sigkills(tmp_path):
    kept = _kill_and_resume_trials(tmp_path, trials=20, seed=7)
    assert len(set(kept)) > 3          # the kills landed at many different moments


def test_hostile_case_files_are_one_clean_error(tmp_path):
    from sim.case import load_case
    from sim.errors import CaseError
    deep = tmp_path / "deep.toml"
    deep.write_text("kind = " + "[" * 5000 + "]" * 5000 + "\n")
    header = tmp_path / "header.toml"
    header.write_text("[" + ".".join(["a"] * 5000) + "]\nx = 1\n")
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (2 << 20) + "\n")
    for path, words in ((deep, "nested"), (header, "nested"), (big, "larger than"), (Path("/dev/zero"), "regular file")):
        with pytest.raises(CaseError, match=words):
            load_case(path)


def test_design_map_listing_itself_is_an_error_not_a_recursion(tmp_path):
    from sim.case import load_case
    from sim.errors import CaseError
    text = (Path(ROOT) / "cases" / "design_map.toml").read_text()
    text = text.replace('pnp_cases = ["lco_lps.toml", "lco_lno_lps.toml"]', 'pnp_cases = ["self.toml"]')
    (tmp_path / "self.toml").write_text(text)
    with pytest.raises(CaseError, match="not a pnp case"):
        load_case(tmp_path / "self.toml")


@pytest.mark.parametrize("bad", ["a/b", ".", "x y"])
def test_names_that_would_break_hdf5_are_refused(tmp_path, bad):
    from sim.case import load_case
    from sim.errors import CaseError
    text = (Path(ROOT) / "cases" / "lco_lps.toml").read_text().replace("[layers.sse]", f'[layers."{bad}"]')
    (tmp_path / "c.toml").write_text(text)
    with pytest.raises(CaseError, match="HDF5"):
        load_case(tmp_path / "c.toml")


def test_unwritable_outputs_are_refused_before_the_computation(tmp_path):
    from sim.errors import ResultFileError
    from sim.run import run_case
    case = Path(ROOT) / "cases" / "separator_budget.toml"
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    for out in (tmp_path / "adir", Path("/dev/null"), tmp_path / "afile" / "o.h5"):
        with pytest.raises(ResultFileError):
            run_case(case, out)
    assert Path("/dev/null").is_char_device()
    long_name = tmp_path / ("r" * 250 + ".h5")                    # a valid 253-byte name
    assert run_case(case, long_name).exists()


def test_run_into_a_running_sweeps_output_is_refused_and_odd_locks_are_clean_errors(tmp_path):
    from sim.io import Lock, OutputLocked
    from sim.run import run_case
    case = Path(ROOT) / "cases" / "separator_budget.toml"
    out = tmp_path / "s.h5"
    with Lock(out):                                        # a sweep holds the file
        with pytest.raises(OutputLocked):
            run_case(case, out)
    assert not out.exists()
    (tmp_path / "e.h5.lock").write_text("")               # an empty, young lock: a writer starting up
    with pytest.raises(OutputLocked, match="starting up"):
        run_case(case, tmp_path / "e.h5")
    old = time.time() - 60
    os.utime(tmp_path / "e.h5.lock", (old, old))          # old and empty: stale, taken over
    assert run_case(case, tmp_path / "e.h5").exists()
    (tmp_path / "d.h5.lock").mkdir()
    with pytest.raises(OutputLocked, match="directory"):
        with Lock(tmp_path / "d.h5"):
            pass


def test_sigterm_leaves_no_temporary_file_and_no_lock(tmp_path):
    """SIGTERM while a run writes its (large) result: exit code 143, no temporary file, no lock."""
    code = ("import signal, numpy as np\n"
            "from sim.io import Lock, Q, terminate_handler, write_result\n"
            "signal.signal(signal.SIGTERM, terminate_handler)\n"
            f"out = {str(tmp_path / 'o.h5')!r}\n"
            "data = {f'd{i}': Q(np.random.default_rng(i).random(2_000_000), '1') for i in range(12)}\n"
            "with Lock(out):\n"
            "    write_result(out, data, {})\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob(".sim-*")) and proc.poll() is None:
        time.sleep(0.005)
    assert list(tmp_path.glob(".sim-*")), "the writer never started writing"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    assert not list(tmp_path.glob(".sim-*")) and not list(tmp_path.glob("*.lock")) and not (tmp_path / "o.h5").exists()


def _flip_byte_in(path, dataset):
    """Damage one byte of a contiguous dataset in the raw file, as a disk or a copy might."""
    with h5py.File(path, "r") as f:
        ds = f[dataset]
        offset = ds.id.get_offset()
        assert offset is not None
    with open(path, "r+b") as fh:
        fh.seek(offset + 3)
        b = fh.read(1)
        fh.seek(offset + 3)
        fh.write(bytes([b[0] ^ 0x10]))


def _reseal(path):
    """Seal a file again after editing it (what a tool that knows the checksum could do): the
    datasets' own digests must still catch the edit."""
    from sim.io import seal
    path.write_bytes(seal(path.read_bytes()))


def test_damaged_result_is_never_trusted(tmp_path):
    """A flipped bit in a dataset, an edited value or a removed digest: read_result refuses the file,
    and `sim figures` says so in one line instead of drawing it."""
    out = tmp_path / "r.h5"
    write_result(out, {"pnp/phi": Q(np.linspace(0, 1, 50), "V"), "pnp/x": Q(np.linspace(0, 1e-8, 50), "m"),
                       "note": Q("text", "")}, {"schema_version": 2, "kind": "pnp"})
    r = read_result(out)                                  # intact: read and verified
    np.testing.assert_array_equal(r.value("pnp/phi"), np.linspace(0, 1, 50))
    _flip_byte_in(out, "pnp/phi")
    with pytest.raises(ResultFileError, match="do not match the checksum"):
        read_result(out)
    _reseal(out)                                          # the datasets' own digest catches it too
    with pytest.raises(ResultFileError, match="do not match the digest"):
        read_result(out)
    write_result(out, {"a": Q(np.arange(4.0), "m")}, {"schema_version": 2})
    with h5py.File(out, "r+") as f:
        f["a"][1] = 7.0
    with pytest.raises(ResultFileError, match="do not match the checksum"):
        read_result(out)
    _reseal(out)
    with pytest.raises(ResultFileError, match="do not match the digest"):
        read_result(out)
    write_result(out, {"a": Q(np.arange(4.0), "m", {"meaning": "x"})}, {"schema_version": 2, "kind": "pnp"})
    read_result(out)
    with h5py.File(out, "r+") as f:
        f.attrs["kind"] = "pnq"                               # an edited root attribute
    _reseal(out)
    with pytest.raises(ResultFileError, match="do not match the digest"):
        read_result(out)
    write_result(out, {"a": Q(np.arange(4.0), "m", {"meaning": "x"})}, {"schema_version": 2, "kind": "pnp"})
    with h5py.File(out, "r+") as f:
        f["a"].attrs["meaning"] = "y"                         # an edited dataset attribute
    _reseal(out)
    with pytest.raises(ResultFileError, match="do not match the digest"):
        read_result(out)
    with h5py.File(out, "r+") as f:
        del f.attrs["content_sha256"]
    _reseal(out)
    with pytest.raises(ResultFileError, match="no content digest"):
        read_result(out)
    proc = subprocess.run([sys.executable, "-m", "sim", "figures", str(out)], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "no content digest" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_resume_verifies_every_completed_case_and_repairs_damage(tmp_path, capsys):
    """--resume recomputes a case whose data were altered, whose group is missing or whose id is
    duplicated in the summary, reports each repair, and ends equal to an undamaged run."""
    from sim.studies import load_summary, run_sweep
    (tmp_path / "base.toml").write_text(SWEEP_BASE)
    sweep = tmp_path / "s.toml"
    sweep.write_text('base = "base.toml"\n[parameters."materials.LPS.eps_r"]\nrange = [6.0, 12.0]\npoints = 6\n')
    reference = run_sweep(sweep, tmp_path / "ref.h5", executor="serial", progress=False)
    out = tmp_path / "damaged.h5"
    run_sweep(sweep, out, executor="serial", progress=False)
    with h5py.File(out, "r+") as f:
        phi = f["cases/pnp/phi"][1]
        phi[5] += 1e-3
        f["cases/pnp/phi"][1] = phi                     # silent change of one number
        f["case_records"][3] = ""                       # a lost case record
        ids = f["summary/case_id"][()]
        ids[4] = 2                                      # case 2 listed twice, case 4 not at all
        f["summary/case_id"][...] = ids
    with pytest.raises(ResultFileError, match="do not match the checksum"):
        load_summary(out)
    capsys.readouterr()
    table = run_sweep(sweep, out, executor="serial", resume=True, progress=False)
    report = capsys.readouterr().out
    assert "does not match its checksum" in report and "rebuilt from the 2 completed case(s)" in report
    assert "case 1: data do not match its digest" in report
    assert "case 3: marked ok but its rows are missing" in report
    assert "case 2: case_id listed twice" in report
    assert list(table["case_id"]) == list(range(6)) and list(table["status"]) == ["ok"] * 6
    for c in reference.dtype.names:
        if reference[c].dtype.kind == "f" and "wall_time" not in c:
            np.testing.assert_array_equal(table[c], reference[c], err_msg=c)
    read_result(out)                                    # every case verifies again
    with h5py.File(out, "r+") as f:
        f["cases/pnp/phi"][0] = f["cases/pnp/phi"][0] + 1e-9
    with pytest.raises(ResultFileError, match="do not match the checksum"):
        read_result(out)
    _reseal(out)
    with pytest.raises(ResultFileError, match="case 0: its rows do not match the digest"):
        read_result(out)


def test_failure_inside_a_design_map_names_the_pnp_case(tmp_path):
    from sim.run import run_case
    text = (Path(ROOT) / "cases" / "design_map.toml").read_text()
    text = text.replace('pnp_cases = ["lco_lps.toml", "lco_lno_lps.toml"]', 'pnp_cases = ["stiff.toml"]')
    text = text.replace("points = 161", "points = 11")
    (tmp_path / "map.toml").write_text(text)
    (tmp_path / "stiff.toml").write_text(PNP_TWO_LAYER + "[solver_options]\ncontinuation = false\npredictor = false\n"
                                         "max_iter = 1\n")
    with pytest.raises(ConvergenceError, match=r"stiff\.toml \(a pnp case of the design map\)"):
        run_case(tmp_path / "map.toml", tmp_path / "map.h5")
    assert not (tmp_path / "map.h5").exists()


def _children(pid):
    """Pids whose parent is `pid` (from /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


def _running(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_sigkill_of_a_process_pool_sweep_leaves_no_orphan_workers(tmp_path):
    (tmp_path / "base.toml").write_text(SWEEP_BASE)
    (tmp_path / "s.toml").write_text('base = "base.toml"\n[parameters."materials.LPS.eps_r"]\n'
                                     'range = [6.0, 12.0]\npoints = 400\n')
    proc = subprocess.Popen([sys.executable, "-m", "sim", "sweep", "s.toml", "-o", "o.h5", "--executor",
                             "processes", "--jobs", "2"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": ROOT})
    deadline = time.time() + 60
    workers = []
    while time.time() < deadline and len(workers) < 2:
        time.sleep(0.2)
        workers = [p for p in _children(proc.pid) if _running(p)]
    assert len(workers) >= 2, "the pool did not start"
    time.sleep(1.0)                                   # the workers are computing
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 15
    while time.time() < deadline and any(_running(p) for p in workers):
        time.sleep(0.2)
    alive = [p for p in workers if _running(p)]
    for p in alive:                                   # do not leave them behind if the test fails
        os.kill(p, signal.SIGKILL)
    assert not alive, f"orphan workers still running: {alive}"


def test_file_size_limit_is_one_clean_line_not_a_crash(tmp_path):
    """`ulimit -f 64`: HDF5 writing to disk itself used to segfault at close; now the result is built in
    memory and written with plain file I/O, so the limit is one line, exit code 2, nothing left behind."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
    out = tmp_path / "sub" / "o.h5"
    for _ in range(3):
        proc = subprocess.run([sys.executable, "-m", "sim", "run", str(Path(ROOT) / "cases" / "lco_lps.toml"),
                               "-o", str(out)], cwd=ROOT, capture_output=True, text=True, preexec_fn=limit)
        assert proc.returncode == 2, proc.stderr[-500:]
        assert proc.stderr.strip().splitlines() == [
            f"error: {out}: could not write the result (File too large); the previous file, if any, is unchanged"]
    assert sorted(p.name for p in out.parent.iterdir()) == []          # no temporary file, no lock


def test_arrays_in_case_files_are_bounded(tmp_path):
    from sim.case import load_case
    from sim.errors import CaseError
    text = (Path(ROOT) / "cases" / "lco_lps_charging.toml").read_text()
    long = "[" + ", ".join(["1.0"] * 100_000) + "]"
    p = tmp_path / "c.toml"
    p.write_text(text.replace("current_densities_mA_cm2 = [0.1, 1.0, 3.0]", f"current_densities_mA_cm2 = {long}"))
    with pytest.raises(CaseError, match=r"current_densities_mA_cm2.*100000 values.*at most 1000 values"):
        load_case(p)
    p.write_text(text.replace("current_densities_mA_cm2 = [0.1, 1.0, 3.0]",     # each value is a transient
                              "current_densities_mA_cm2 = [" + ", ".join(["1.0"] * 60) + "]"))
    with pytest.raises(CaseError, match=r"at most 50 values \(60 given\)"):
        load_case(p)


def test_validation_of_a_million_case_sweep_is_bounded_and_still_checks_the_extremes(tmp_path, monkeypatch):
    from sim.errors import CaseError
    from sim.studies import spec
    calls = []
    real = spec.validate_document
    monkeypatch.setattr(spec, "validate_document", lambda doc, name: calls.append(name) or real(doc, name))
    (tmp_path / "base.toml").write_text(SWEEP_BASE)
    axes = ('[parameters."materials.LPS.eps_r"]\nrange = [6.0, 12.0]\npoints = 100\n'
            '[parameters."materials.LPS.conductivity_S_cm"]\nrange = [1e-5, 1e-3]\npoints = 100\n')
    (tmp_path / "s.toml").write_text('base = "base.toml"\n' + axes +
                                     '[parameters."layers.sse.thickness_m"]\nrange = [15e-9, 30e-9]\npoints = 100\n')
    sweep = spec.load_sweep(tmp_path / "s.toml")
    assert sweep.n == 1_000_000 and len(calls) == spec.VALIDATE_ALL_UP_TO
    # an invalid value reached only at one end of one axis is still found
    (tmp_path / "bad.toml").write_text('base = "base.toml"\n' + axes +
                                       '[parameters."layers.sse.thickness_m"]\nrange = [30e-9, -1e-9]\npoints = 100\n')
    with pytest.raises(CaseError, match="thickness_m"):
        spec.load_sweep(tmp_path / "bad.toml")


def test_no_result_holds_infinity_or_undocumented_nan(tmp_path):
    out = tmp_path / "o.h5"
    out.write_bytes(b"previous")
    with pytest.raises(ResultFileError, match=r"infinite value in /pnp/excess_resistance \(1 of 3\)"):
        write_result(out, {"pnp/excess_resistance": Q(np.array([1.0, np.inf, 2.0]), "ohm cm^2")}, {"schema_version": 2})
    assert out.read_bytes() == b"previous"
    with pytest.raises(ResultFileError, match=r"NaN in /pnp/x \(1 of 2\), which that dataset does not document"):
        write_result(out, {"pnp/x": Q(np.array([1.0, np.nan]), "V", {"meaning": "vs Li/Li+"})}, {"schema_version": 2})
    assert out.read_bytes() == b"previous"
    write_result(out, {"pnp/x": Q(np.array([1.0, np.nan]), "V", {"meaning": "NaN: no cathode"})},
                 {"schema_version": 2})                                   # documented NaN is allowed
    assert np.isnan(read_result(out).value("pnp/x")[1])


def test_randomly_damaged_results_are_refused_or_unchanged(tmp_path):
    """Bit flips, zeroed blocks and truncations of a real result: read_result refuses the file in
    one clean error (before HDF5 parses it: a damaged file once kept HDF5 busy for minutes) or,
    where the damage missed everything the checksum covers, returns exactly the original data."""
    from sim.run import run_case
    good = run_case(Path(ROOT) / "cases" / "separator_budget.toml", tmp_path / "good.h5")
    original, intact = good.read_bytes(), read_result(good)
    rng = random.Random(7)
    refused = 0
    for trial in range(60):
        data = bytearray(original)
        op = trial % 3
        if op == 0:
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif op == 1:
            i = rng.randrange(len(data))
            n = rng.randint(1, 4096)
            data[i:i + n] = bytes(len(data[i:i + n]))
        else:
            data = data[:rng.randrange(len(data))]
        p = tmp_path / f"d{trial}.h5"
        p.write_bytes(bytes(data))
        try:
            r = read_result(p)
        except ResultFileError as e:
            assert str(p) in str(e)
            refused += 1
            continue
        assert set(r.data) == set(intact.data)
        for k in r.data:
            assert np.array_equal(np.asarray(r.data[k].value), np.asarray(intact.data[k].value)), k
    assert refused >= 50


def test_undefined_observables_are_documented_nan(tmp_path):
    """A one-sided layer with no potential step has no layer: the observables that are then undefined
    are NaN, each dataset says so, and the result is written (the writer refuses undocumented NaN)."""
    from sim.case import load_case
    from sim.run import run_case
    out = run_case(load_case(Path(ROOT) / "cases" / "li_llzo.toml", [("surface.bulk_potential_V", 0.0)]), tmp_path / "z.h5")
    r = read_result(out)
    nan_paths = [k for k, q in r.data.items() if not isinstance(q.value, str)
                 and np.asarray(q.value).dtype.kind == "f" and np.isnan(q.value).any()]
    assert "pnp/verification/charge_relative_error" in nan_paths
    assert "pnp/observables/surface/integral_capacitance" in nan_paths
    from sim.io import documents_nan
    for k in nan_paths:
        assert documents_nan(r[k].attrs), k


def test_resume_of_an_unreadable_damaged_sweep_keeps_it_and_starts_afresh(tmp_path, capsys):
    """A truncated sweep file (HDF5 cannot open it, nothing can be salvaged): --resume moves it aside
    (nothing lost), computes every case and ends equal to an undamaged run.  A file sim did not write
    is never moved: that stays an error."""
    from sim.studies import run_sweep
    (tmp_path / "base.toml").write_text(SWEEP_BASE)
    sweep = tmp_path / "s.toml"
    sweep.write_text('base = "base.toml"\n[parameters."materials.LPS.eps_r"]\nrange = [6.0, 12.0]\npoints = 4\n')
    reference = run_sweep(sweep, tmp_path / "ref.h5", executor="serial", progress=False)
    out = tmp_path / "cut.h5"
    damaged = (tmp_path / "ref.h5").read_bytes()[:3000]
    out.write_bytes(damaged)
    capsys.readouterr()
    table = run_sweep(sweep, out, executor="serial", resume=True, progress=False)
    assert "moved it to" in capsys.readouterr().out
    aside = list(tmp_path.glob("cut.damaged-*.h5"))
    assert len(aside) == 1 and aside[0].read_bytes() == damaged
    for c in reference.dtype.names:
        if reference[c].dtype.kind == "f" and "wall_time" not in c:
            np.testing.assert_array_equal(table[c], reference[c], err_msg=c)
    read_result(out)
    foreign = tmp_path / "notes.h5"
    foreign.write_bytes(b"my own notes, not HDF5")
    with pytest.raises(ResultFileError, match="not an HDF5 file"):
        run_sweep(sweep, foreign, executor="serial", resume=True, progress=False)
    assert foreign.read_bytes() == b"my own notes, not HDF5"
