"""Issue 29, the file part: every input path goes through one bounded gate (sim.inputs), a result's
structure is checked before any dataset is read, a sweep's records and root attributes are covered
by a digest, garbage JSON attributes are one clean line, and outputs are checked like inputs.

Tests that could block (a FIFO) run under an alarm: a regression fails the test instead of hanging
the suite (the alarm only bounds a hang; nothing asserts a duration)."""
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from sim import inputs
from sim.cli import main
from sim.errors import CaseError, ResultFileError, SimError
from sim.io import (USERBLOCK_BYTES, Lock, OutputLocked, Q, content_digest, read_result, seal, stored_records,
                    sweep_digest, write_result)

ROOT = Path(__file__).resolve().parent.parent
BUDGET = ROOT / "cases" / "separator_budget.toml"


@contextlib.contextmanager
def no_hang(seconds=60):
    """Turn a blocked call into a failure (SIGALRM) instead of a hung test run."""
    def fire(signum, frame):
        raise TimeoutError("blocked: the input was read or opened without the gate")
    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _err(capsys):
    return capsys.readouterr().err.strip()


def _one_line(capsys, *words):
    err = _err(capsys)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    return err


def _sealed(path, fill):
    """A file sealed as sim seals its results, filled by `fill(h5file)`."""
    bio = io.BytesIO()
    with h5py.File(bio, "w", userblock_size=USERBLOCK_BYTES) as f:
        fill(f)
    path.write_bytes(seal(bio.getbuffer()))
    return path


def _reseal(path):
    path.write_bytes(seal(path.read_bytes()))


# ---- the input gate -----------------------------------------------------------------------------

def test_fifo_dev_zero_directory_and_oversize_are_refused_for_every_kind_of_input(tmp_path, monkeypatch):
    """Result files, case files, measured CSVs, style files and lock files: a FIFO (which would block
    for ever), /dev/zero (which would fill the memory), a directory and a file over the limit are
    one error naming the file, before a byte is read."""
    from sim.case import load_case
    from sim.figures.style import use_style
    from sim.kinds.pnp.impedance import read_measured
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    readers = {
        "result": (lambda p: read_result(p), ResultFileError),
        "case": (lambda p: load_case(p), CaseError),
        "csv": (lambda p: read_measured(p), CaseError),
        "style": (lambda p: use_style(p).__enter__(), SimError),
    }
    with no_hang():
        for what, (read, error) in readers.items():
            for bad, words in ((fifo, "FIFO"), (Path("/dev/zero"), "character device"), (folder, "directory")):
                with pytest.raises(error, match=words) as e:
                    read(bad)
                assert bad.name in str(e.value)
            big = tmp_path / f"big.{what}"
            with open(big, "wb") as fh:                     # sparse: its size without its bytes
                fh.truncate(inputs.LIMITS[what] + 1)
            with pytest.raises(error, match="larger than"):
                read(big)
        monkeypatch.setitem(inputs.LIMITS, "result", 1000)   # a 20 GB result, scaled down: refused, not read whole
        good = write_result(tmp_path / "r.h5", {"a": Q(np.zeros(500), "1")}, {"schema_version": 2})
        with pytest.raises(ResultFileError, match="larger than the 1000-byte limit"):
            read_result(good)
        monkeypatch.undo()
        lock = tmp_path / "o.h5.lock"
        os.mkfifo(lock)                                      # a FIFO where the lock goes: refused, not read
        with pytest.raises(OutputLocked, match="FIFO"):
            with Lock(tmp_path / "o.h5"):
                pass
        assert lock.exists()


def test_cli_refuses_a_fifo_or_dev_zero_in_one_line(tmp_path, capsys):
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    good = tmp_path / "good.h5"
    assert main(["run", str(BUDGET), "-o", str(good)]) == 0
    capsys.readouterr()
    with no_hang():
        assert main(["figures", str(fifo)]) == 2
        _one_line(capsys, "pipe.h5", "FIFO")
        assert main(["run", "--from", str(fifo)]) == 2
        _one_line(capsys, "FIFO")
        assert main(["figures", str(good), "--style", "/dev/zero", "--out", str(tmp_path / "f")]) == 2
        _one_line(capsys, "--style", "character device")
        case = tmp_path / "imp.toml"
        text = (ROOT / "cases" / "lco_lps_impedance.toml").read_text()
        case.write_text(text.replace("[impedance]", '[impedance]\nmeasured_csv = "/dev/zero"', 1))
        assert main(["run", str(case), "-o", str(tmp_path / "imp.h5"), "--set", "impedance.temperatures_K=[298.15]",
                     "--set", "impedance.points_per_decade=2"]) == 2
        _one_line(capsys, "impedance.measured_csv", "character device")


# ---- structure before data ----------------------------------------------------------------------

def _result_with(path, fill):
    """A sealed file with valid root attributes whose datasets `fill` makes (no content digest needed:
    the structure check must come first)."""
    def build(f):
        f.attrs["schema_version"] = 2
        f.attrs["kind"] = "pnp"
        fill(f)
    return _sealed(path, build)


def test_external_virtual_linked_filtered_or_oversize_datasets_are_refused_before_reading(tmp_path):
    """A dataset whose data live in another file (external storage on a FIFO, which would block the
    reader; a virtual dataset; an external or soft link), one passed through a filter, or one that
    declares more bytes than the file holds (unallocated storage reads as fill values of any size):
    refused by name before any dataset is read."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "other.h5").write_bytes(b"")

    def external(f):
        ds = f.create_dataset("pnp/x", shape=(1000,), dtype="f8", external=[(str(fifo), 0, 8000)])
        ds.attrs["units"] = "m"

    def virtual(f):
        layout = h5py.VirtualLayout(shape=(10,), dtype="f8")
        layout[:] = h5py.VirtualSource(str(fifo), "x", shape=(10,))
        f.create_virtual_dataset("pnp/x", layout).attrs["units"] = "m"

    def ext_link(f):
        f["pnp/x"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/x")

    def soft_link(f):
        f.create_dataset("pnp/y", data=np.ones(3)).attrs["units"] = "m"
        f["pnp/x"] = h5py.SoftLink("/pnp/y")

    def filtered(f):
        f.create_dataset("pnp/x", data=np.ones(1000), compression="gzip").attrs["units"] = "m"

    def oversize(f):
        f.create_dataset("pnp/x", shape=(8_000_000,), dtype="f8").attrs["units"] = "m"      # 64 MB, never written

    cases = {"external": (external, "external storage"), "virtual": (virtual, "virtual dataset"),
             "ext_link": (ext_link, "links into another file"), "soft_link": (soft_link, "soft link"),
             "filtered": (filtered, "filter"), "oversize": (oversize, "more than the whole file")}
    with no_hang():
        for name, (fill, words) in cases.items():
            path = _result_with(tmp_path / f"{name}.h5", fill)
            with pytest.raises(ResultFileError, match=words):
                read_result(path)
            assert main(["figures", str(path)]) == 2


# ---- digests over everything a reader trusts ----------------------------------------------------

@pytest.fixture
def sweep_file(tmp_path):
    from sim.studies import run_sweep
    (tmp_path / "base.toml").write_text(BUDGET.read_text())
    (tmp_path / "s.toml").write_text('base = "base.toml"\n[parameters."layers.separator.thickness_um"]\n'
                                     'values = [5.0, 10.0, 20.0]\n[parameters."current.current_density_mA_cm2"]\n'
                                     'values = [1.0, 3.0]\n')
    out = tmp_path / "s.h5"
    run_sweep(tmp_path / "s.toml", out, executor="serial", progress=False)
    read_result(out)
    return out


def test_a_sweep_whose_case_records_were_deleted_is_not_drawn(sweep_file, capsys):
    """Only the file seal recomputed: a deleted case record, or every record, is refused by `sim
    figures` in one line (the root digest covers the records; the summary still says ok)."""
    original = sweep_file.read_bytes()
    for damage in ("one", "all"):
        sweep_file.write_bytes(original)
        with h5py.File(sweep_file, "r+") as f:
            if damage == "one":
                f["case_records"][2] = ""
            else:
                del f["case_records"]
        _reseal(sweep_file)
        assert main(["figures", str(sweep_file), "--out", str(sweep_file.parent / "figs")]) == 2
        _one_line(capsys, "s.h5", "do not match the digest")
        assert not (sweep_file.parent / "figs").exists() or not list((sweep_file.parent / "figs").iterdir())


def test_a_sweeps_root_attributes_are_covered_by_its_digest(sweep_file, capsys):
    """varied_keys swapped (axes drawn the wrong way round), case or sweep text edited: refused."""
    original = sweep_file.read_bytes()
    for key, value in (("varied_keys", json.dumps(["current.current_density_mA_cm2", "layers.separator.thickness_um"])),
                       ("case_text", "kind = 'polarization'"), ("sweep_text", "base = 'x.toml'")):
        sweep_file.write_bytes(original)
        with h5py.File(sweep_file, "r+") as f:
            f.attrs[key] = value
        _reseal(sweep_file)
        with pytest.raises(ResultFileError, match="root attributes do not match the digest"):
            read_result(sweep_file)
        assert main(["figures", str(sweep_file)]) == 2
        _one_line(capsys, "s.h5")


def _recompute_sweep_digest(path):
    """What a forger who knows the (unkeyed) scheme can do: recompute the root digest and the seal."""
    with h5py.File(path, "r+") as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        f.attrs["content_sha256"] = sweep_digest(stored_records(f), f["summary"].attrs["digest"], attrs)
    _reseal(path)


def test_garbage_json_attributes_are_one_clean_line(tmp_path, sweep_file, capsys):
    """Even with every digest recomputed (a forged file), garbage JSON in a root attribute or a case
    record is one ResultFileError line from every reader, never a JSONDecodeError traceback."""
    out = tmp_path / "r.h5"
    assert main(["run", str(BUDGET), "-o", str(out)]) == 0
    capsys.readouterr()
    original = out.read_bytes()
    r = read_result(out)
    for key, garbage in (("parameters_json", "{not json"), ("overrides_json", '{"a": 1}'),
                         ("materials_json", "[1, 2"), ("warnings_json", "7"), ("overrides_json", "[[1]]")):
        out.write_bytes(original)
        attrs = {**r.attrs, key: garbage}
        with h5py.File(out, "r+") as f:
            f.attrs[key] = garbage
            f.attrs["content_sha256"] = content_digest(r.data, attrs)
        _reseal(out)
        with pytest.raises(ResultFileError, match=key):
            read_result(out)
        for argv in (["figures", str(out)], ["run", "--from", str(out), "-o", str(tmp_path / "again.h5")],
                     ["export", str(out), "--csv", str(tmp_path / "csv")]):
            assert main(argv) == 2
            _one_line(capsys, key)
    original = sweep_file.read_bytes()
    for damage in ("varied_keys", "record"):
        sweep_file.write_bytes(original)
        with h5py.File(sweep_file, "r+") as f:
            if damage == "varied_keys":
                f.attrs["varied_keys"] = "[not json"
            else:
                f["case_records"][1] = "{broken"
        _recompute_sweep_digest(sweep_file)
        assert main(["figures", str(sweep_file)]) == 2
        _one_line(capsys, "not valid JSON")


def test_digests_are_unkeyed_and_the_docs_say_so():
    text = (ROOT / "docs" / "reliability.md").read_text()
    assert "unkeyed" in text and "forgery" in text


# ---- outputs --------------------------------------------------------------------------------------

def test_sweep_output_is_checked_like_run_output(tmp_path, capsys):
    """`sim sweep -o` refuses a FIFO, a device, a directory, a non-HDF5 name and its own input files,
    as `sim run -o` does, before any case runs; nothing is replaced."""
    (tmp_path / "base.toml").write_text(BUDGET.read_text())
    sweep = tmp_path / "s.toml"
    sweep.write_text('base = "base.toml"\n[parameters."layers.separator.thickness_um"]\nvalues = [5.0, 10.0]\n')
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    (tmp_path / "dir.h5").mkdir()
    before = {p: p.read_bytes() for p in (sweep, tmp_path / "base.toml")}
    with no_hang():
        for out, words in ((fifo, "not a regular file"), (Path("/dev/null"), "not a regular file"),
                           (tmp_path / "dir.h5", "not a regular file"), (tmp_path / "out.txt", ".h5 or .hdf5"),
                           (sweep, ".h5 or .hdf5"), (tmp_path / "base.toml", ".h5 or .hdf5")):
            assert main(["sweep", str(sweep), "-o", str(out), "--executor", "serial"]) == 2
            _one_line(capsys, words)
            assert main(["run", str(BUDGET), "-o", str(out)]) == 2
            _one_line(capsys, words)
    assert fifo.is_fifo() and Path("/dev/null").is_char_device() and (tmp_path / "dir.h5").is_dir()
    assert {p: p.read_bytes() for p in before} == before and not (tmp_path / "out.txt").exists()


def test_an_output_that_is_an_input_is_refused(tmp_path, capsys):
    out = tmp_path / "r.h5"
    assert main(["run", str(BUDGET), "-o", str(out)]) == 0
    before = out.read_bytes()
    capsys.readouterr()
    assert main(["run", "--from", str(out), "-o", str(out)]) == 2
    _one_line(capsys, "is an input of this run")
    link = tmp_path / "same.h5"
    link.symlink_to(out)
    assert main(["run", "--from", str(out), "-o", str(link)]) == 2
    _one_line(capsys, "is an input of this run")
    assert out.read_bytes() == before


def test_results_are_created_with_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        out = write_result(tmp_path / "r.h5", {"a": Q(1.0, "1")}, {"schema_version": 2})
    finally:
        os.umask(old)
    assert (out.stat().st_mode & 0o777) == 0o640


def test_simulation_save_takes_the_writers_lock(tmp_path, monkeypatch):
    import sim
    import sim.api
    r = sim.Simulation.from_file(BUDGET).solve()
    out = tmp_path / "api.h5"
    with Lock(out):                                   # a sweep or run writes this file
        with pytest.raises(OutputLocked):
            r.save(out)
    assert not out.exists()
    held = []
    write = sim.api.write_result

    def spy(path, data, attrs):                       # the lock is ours while the file is written
        held.append(Path(str(path) + ".lock").read_text() == str(os.getpid()))
        return write(path, data, attrs)
    monkeypatch.setattr(sim.api, "write_result", spy)
    assert r.save(out).exists() and held == [True] and not Path(str(out) + ".lock").exists()
    with pytest.raises(ResultFileError, match=".h5 or .hdf5"):
        r.save(tmp_path / "api.txt")


def test_a_fifo_given_as_the_figures_output_or_export_folder_is_not_written(tmp_path, capsys):
    out = tmp_path / "r.h5"
    assert main(["run", str(BUDGET), "-o", str(out)]) == 0
    capsys.readouterr()
    (tmp_path / "afile").write_text("x")
    assert main(["export", str(out), "--csv", str(tmp_path / "afile")]) == 2
    _one_line(capsys, "not a folder")
    assert (tmp_path / "afile").read_text() == "x"


def test_reading_is_bounded_in_a_child_that_opens_a_fifo(tmp_path):
    """The whole CLI path in a fresh interpreter: `sim figures FIFO` exits with one line (a blocked open
    would never exit; the child is killed after 120 s and the test fails)."""
    fifo = tmp_path / "r.h5"
    os.mkfifo(fifo)
    proc = subprocess.run([sys.executable, "-m", "sim", "figures", str(fifo)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "FIFO" in proc.stderr
