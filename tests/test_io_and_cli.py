"""HDF5 round trip with units, provenance, atomic write, CLI."""
import json
import os
import signal
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from sim.cli import main
from sim.errors import ResultFileError
from sim.io import Q, read_result, write_result
from sim.run import run_case

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_round_trip_with_units(tmp_path):
    out = tmp_path / "r.h5"
    write_result(out, {"a/b": Q(np.arange(3.0), "V"), "a/s": Q("text", ""), "n": Q(np.array(["x", "y"]), "")},
                 {"schema_version": 2, "kind": "t"})
    r = read_result(out)
    assert r["a/b"].units == "V" and np.array_equal(r["a/b"].value, [0, 1, 2])
    assert r["a/s"].value == "text" and list(r["n"].value) == ["x", "y"]


def test_case_run_writes_provenance_and_units(tmp_path):
    out = run_case(os.path.join(ROOT, "cases", "separator_budget.toml"), tmp_path / "s.h5")
    with h5py.File(out) as f:
        for k in ("schema_version", "sim_version", "git_commit", "created_utc", "case_text", "parameters_json"):
            assert k in f.attrs
        assert "max_polarization_V = 0.050" in f.attrs["case_text"]
        missing = []
        f.visititems(lambda n, o: missing.append(n) if isinstance(o, h5py.Dataset) and "units" not in o.attrs else None)
        assert not missing
        assert f["polarization/max_separator_thickness"].attrs["units"] == "um"
        assert f["polarization/max_separator_thickness"][()] == pytest.approx(16.6667, rel=1e-4)
        params = json.loads(f.attrs["parameters_json"])
        assert params["budget"]["separator"] == "separator"


def test_reader_rejects_foreign_and_truncated(tmp_path):
    foreign = tmp_path / "f.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = 1.0
    with pytest.raises(ResultFileError, match="not a sim result file of schema version"):
        read_result(foreign)
    trunc = tmp_path / "t.h5"
    good = run_case(os.path.join(ROOT, "cases", "separator_budget.toml"), tmp_path / "g.h5")
    trunc.write_bytes(good.read_bytes()[:1000])
    with pytest.raises(ResultFileError, match=str(trunc.name)):
        read_result(trunc)
    with pytest.raises(ResultFileError, match="no such"):
        read_result(tmp_path / "missing.h5")


def test_killed_write_leaves_previous_file_intact(tmp_path):
    out = tmp_path / "r.h5"
    write_result(out, {"v": Q(np.ones(3), "V")}, {"schema_version": 2})
    before = out.read_bytes()
    # a child writes a large result and is SIGKILLed mid-write
    code = textwrap.dedent(f"""
        import numpy as np, sys
        from sim import io
        orig = io.write_datasets
        def slow(group, data):
            orig(group, data)
            print("writing", flush=True)
            import time; time.sleep(30)
        io.write_datasets = slow
        io.write_result({str(out)!r}, {{"v": io.Q(np.zeros(10**6), "V")}}, {{"schema_version": 2}})
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "writing"
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert out.read_bytes() == before
    assert np.array_equal(read_result(out)["v"].value, np.ones(3))


def test_cli_validate_run_figures_materials(tmp_path, capsys):
    case = os.path.join(ROOT, "cases", "separator_budget.toml")
    assert main(["validate", case]) == 0
    out = tmp_path / "o.h5"
    assert main(["run", case, "-o", str(out)]) == 0
    assert main(["figures", str(out), "--format", "png", "--out", str(tmp_path / "figs")]) == 0
    assert (tmp_path / "figs" / "polarization_budget.png").exists()
    assert main(["materials", "--name", "LLZO"]) == 0
    assert "Review" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "polarization"\n')
    assert main(["validate", str(bad)]) == 2
    assert "bad.toml" in capsys.readouterr().err


def test_fig3_case_paths_and_figures(tmp_path):
    out = run_case(os.path.join(ROOT, "cases", "fig3_energy_density.toml"), tmp_path / "e.h5")
    r = read_result(out)
    assert r["energy/reference_lib/specific_energy"].units == "Wh/kg"
    for sse in ("LLZO", "LATP", "LGPS"):
        x = r[f"energy/fig3b/{sse}/separator_thickness"]
        assert x.units == "um" and x.value[0] == 0 and x.value[-1] == 200
        assert r[f"energy/fig3c/{sse}/loading"].value[0] == 1.0
    assert abs(float(r.value("energy/fig3b/LLZO/bet_gravimetric")) / 41 - 1) < 0.05
    for t in ("5", "10", "20", "50", "100", "150"):
        assert f"energy/fig3de/{t}um/specific_energy" in r
    assert "energy/fig3f/modified/energy_density" in r
    # the modified collectors always give more energy
    assert np.all(r.value("energy/fig3f/modified/specific_energy") > r.value("energy/fig3f/standard/specific_energy"))
    from sim.figures import render_all
    paths = render_all(out, tmp_path / "figs", ("png",))
    assert len(paths) == 5


def test_cli_validates_sweep_files(capsys):
    sweep = os.path.join(ROOT, "cases", "sweeps", "lno_thickness.toml")
    assert main(["validate", sweep]) == 0
    assert "sweep of 10 cases" in capsys.readouterr().out


def test_physical_constants_are_the_codata_values_of_scipy():
    import scipy.constants as c
    from sim import units
    assert units.FARADAY == c.physical_constants["Faraday constant"][0]
    assert units.GAS_CONSTANT == c.R and units.BOLTZMANN == c.k and units.ELEMENTARY_CHARGE == c.e
    assert units.VACUUM_PERMITTIVITY == c.epsilon_0 and units.AVOGADRO == c.Avogadro


def test_digest_bytes_of_float_scalars_are_those_of_their_arrays():
    """content_digest's shortcut for float scalars gives the bytes of the general path (dtype, shape
    (1,) of the contiguous array, raw bytes), so digests of files written before it still verify."""
    import numpy as np
    from sim.io import _canonical_bytes
    for v in (1.5, -0.0, 0.1, float("nan"), float("inf"), -float("inf"), 5e-324, 1e308, np.float64(2.5), np.float64(-7e-12)):
        general = _canonical_bytes(np.asarray(v))          # a 0-d array takes the general path
        assert _canonical_bytes(v) == general == np.dtype(float).str.encode() + b"(1,)" + np.float64(v).tobytes()


def test_run_ends_with_key_results_and_export_writes_csv_with_units(tmp_path, capsys):
    """`sim run` prints a few key results with units after the path; `sim export --csv` writes one CSV per
    table, each column headed 'name (units)', that reads back to the stored values."""
    import csv
    out = tmp_path / "b.h5"
    assert main(["run", os.path.join(ROOT, "cases", "separator_budget.toml"), "-o", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f"wrote {out}") and 3 <= len(lines) - 1 <= 6
    assert any("total polarization" in l and l.rstrip().endswith(" V") for l in lines[1:])
    assert any("thickest separator within the budget" in l and l.rstrip().endswith(" um") for l in lines[1:])
    assert main(["export", str(out), "--csv", str(tmp_path / "csv")]) == 0
    names = sorted(p.name for p in (tmp_path / "csv").iterdir())
    assert "scalars.csv" in names and "polarization.curve.separator_thickness.csv" in names
    with open(tmp_path / "csv" / "polarization.curve.separator_thickness.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["separator_thickness (um)", "polarization/curve/polarization (V)"]
    r = read_result(out)
    np.testing.assert_array_equal([float(v) for _, v in rows[1:]], r.value("polarization/curve/polarization"))
    with open(tmp_path / "csv" / "scalars.csv") as fh:
        scalars = {row[0]: row[1:] for row in csv.reader(fh)}
    assert scalars["polarization/total"] == [repr(float(r.value("polarization/total"))), "V"]


def test_export_of_a_sweep_and_of_a_two_dimensional_array(tmp_path, demo_results):
    import csv
    _, results = demo_results
    assert main(["export", str(results["lco_lps"]), "--csv", str(tmp_path / "pnp")]) == 0
    with open(tmp_path / "pnp" / "pnp.sweep.cathode_potential--pnp.x.csv") as fh:
        rows = list(csv.reader(fh))
    r = read_result(results["lco_lps"])
    n_u, n_x = len(r.value("pnp/sweep/cathode_potential")), len(r.value("pnp/x"))
    assert rows[0][:3] == ["cathode_potential (V)", "x (m)", "pnp/sweep/c/Li_i (mol/m^3)"] and len(rows) == 1 + n_u * n_x
    phi = rows[0].index("pnp/sweep/phi (V)")
    np.testing.assert_array_equal(np.array([float(row[phi]) for row in rows[1:]]).reshape(n_u, n_x),
                                  r.value("pnp/sweep/phi"))
    with open(tmp_path / "pnp" / "pnp.x.csv") as fh:
        header = next(csv.reader(fh))
    assert header[0] == "x (m)" and "pnp/phi (V)" in header and "pnp/c/Li_i (mol/m^3)" in header
    from sim.studies import run_sweep
    (tmp_path / "base.toml").write_text(open(os.path.join(ROOT, "cases", "separator_budget.toml")).read())
    (tmp_path / "s.toml").write_text('base = "base.toml"\n[parameters."layers.separator.thickness_um"]\n'
                                     'values = [5.0, 10.0]\n')
    run_sweep(tmp_path / "s.toml", tmp_path / "s.h5", executor="serial", progress=False)
    assert main(["export", str(tmp_path / "s.h5"), "--csv", str(tmp_path / "sw")]) == 0
    with open(tmp_path / "sw" / "summary.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:3] == ["case_id (1)", "param:layers.separator.thickness_um (um)", "status"] and len(rows) == 3
