"""Case kind `fit` (issue 27): the model fitted to spectra.  A blocking cell's eps_r and D come back from a
synthetic spectrum with 0.3 % noise within 2 %, with standard errors that cover the truth; spectra at two
temperatures fix an Arrhenius law jointly; a parameter the spectra do not fix, a bound, two parameters fixed only
in combination and an unfinished fit each give their warning; bad measured data give one line before any
spectrum is computed; the result opens in xarray."""
import warnings
from pathlib import Path

import numpy as np
import pytest

from sim.case import load_case
from sim.errors import CaseError
from sim.kinds.fit.runner import FitWarning
from sim.kinds.fit.synthetic import synthetic_spectrum
from sim.run import compute, run_case
from sim.spectra import MAX_POINTS, parse_spectrum, to_csv

ROOT = Path(__file__).resolve().parent.parent
CELL = ROOT / "cases" / "fit_blocking_cell" / "cell.toml"
T = 298.15
EPS, D = 9.0, 1e-13               # the values of CELL: the truth of every synthetic spectrum below
F = np.geomspace(1.0, 1e6, 60)
EPS_KEY, D_KEY = "layers.slab.eps_r", "layers.slab.species.Li.D_m2_s"

FIT = f"""
kind = "fit"
case = "{CELL}"
data = "spectrum.csv"
[parameters."{EPS_KEY}"]
low = 3.0
high = 200.0
start = 30.0
[parameters."{D_KEY}"]
low = 1e-16
high = 1e-10
scale = "log"
start = 1e-12
"""


def _spectrum(tmp_path, noise=0.003, seed=27, name="spectrum.csv", overrides=(), f=F, temperature=T):
    Z = synthetic_spectrum(load_case(CELL, list(overrides)).params, temperature, f, noise, seed)
    (tmp_path / name).write_text(to_csv(f, Z, ["synthetic"]))
    return Z


def _fit(tmp_path, text=FIT, **kw):
    path = tmp_path / "fit.toml"
    path.write_text(text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = compute(load_case(path, kw.get("overrides")))
    return out, [str(w.message) for w in caught if issubclass(w.category, FitWarning)]


def _values(out):
    keys = list(out["fit/parameters"].value)
    return {k: (float(v), float(s)) for k, v, s in zip(keys, out["fit/value"].value, out["fit/standard_error"].value)}


def test_blocking_cell_fit_recovers_eps_r_and_d_with_covering_standard_errors(tmp_path):
    """Acceptance of issue 27: from 30 and 1e-12 (3x and 10x off), eps_r and D within 2 % of the truth, each
    within three standard errors of it, the standard errors themselves small (well below 2 %) and the
    residual at the noise level."""
    _spectrum(tmp_path)
    out, notes = _fit(tmp_path)
    got = _values(out)
    for key, truth in ((EPS_KEY, EPS), (D_KEY, D)):
        v, se = got[key]
        assert abs(v / truth - 1) <= 0.02, (key, v)
        assert 0 < se < 0.005 * truth, (key, se)
        assert abs(v - truth) <= 3 * se, f"{key}: {v:.6g} is {abs(v - truth) / se:.1f} standard errors from {truth}"
    assert not notes and list(out["fit/warnings"].value) == [""]
    assert 0.002 < out["fit/relative_rms_residual"].value < 0.004          # the noise is 0.003 per component
    assert int(out["fit/converged"].value) == 1
    assert out["fit/evaluations"].value < 60
    C = out["fit/correlation"].value
    assert C.shape == (2, 2) and np.allclose(np.diag(C), 1.0) and abs(C[0, 1]) < 0.5
    se2 = np.sqrt(np.diag(out["fit/covariance"].value))
    assert np.allclose(se2, out["fit/standard_error"].value, rtol=1e-12)
    fitted = out["fit/T_298.15K/fit_z_real"].value + 1j * out["fit/T_298.15K/fit_z_imag"].value
    data = out["fit/T_298.15K/z_real"].value + 1j * out["fit/T_298.15K/z_imag"].value
    assert np.sqrt(np.mean(np.abs((fitted - data) / data) ** 2 / 2)) == pytest.approx(out["fit/relative_rms_residual"].value)


def test_standard_errors_are_those_of_repeated_noise(tmp_path):
    """The stated standard error is the scatter the noise gives: over five noise seeds, the mean of
    ((fit - truth) / standard error)^2 is chi^2 with 5 degrees of freedom over 5 (99 % within [0.08, 3.3]); a
    covariance that misses the chain rule of the log scale (a factor ln 10) gives about 5."""
    z = []
    for seed in range(5):
        _spectrum(tmp_path, seed=100 + seed)
        got = _values(_fit(tmp_path)[0])
        z.append([(got[k][0] - truth) / got[k][1] for k, truth in ((EPS_KEY, EPS), (D_KEY, D))])
    chi2 = np.mean(np.square(z), axis=0)
    assert np.all((chi2 > 0.08) & (chi2 < 3.3)), (chi2, z)


def test_spectra_at_two_temperatures_fix_an_arrhenius_law_jointly(tmp_path):
    """A material defined in the case with an Arrhenius conductivity: sigma(25 C), E_a and eps_r from spectra
    at 25 and 80 C fitted jointly, each within three standard errors of the truth."""
    cell = """kind = "pnp"
[impedance]
temperatures_K = [298.15, 353.15]
electrodes = "blocking"
[mesh]
h_max_m = 6.5e-10
[materials.SLAB]
carriers = "single"
eps_r = 9.0
li_concentration_mol_m3 = 3.1e12
mobile_fraction = 1e-12
conductivity_S_cm = 1.1e-9
conductivity_activation_energy_eV = 0.4
reference_temperature_K = 298.15
[layers.slab]
material = "SLAB"
thickness_m = 1.0465e-7
"""
    (tmp_path / "cell.toml").write_text(cell)
    params = load_case(tmp_path / "cell.toml").params
    f = np.geomspace(1.0, 1e6, 30)
    for i, temp in enumerate((298.15, 353.15)):
        (tmp_path / f"s{i}.csv").write_text(to_csv(f, synthetic_spectrum(params, temp, f, 0.003, 100 + i)))
    text = """kind = "fit"
case = "cell.toml"
data = ["s0.csv", "s1.csv"]
[parameters."materials.SLAB.conductivity_S_cm"]
low = 1e-12
high = 1e-6
scale = "log"
start = 1e-8
[parameters."materials.SLAB.conductivity_activation_energy_eV"]
low = 0.1
high = 1.0
start = 0.6
[parameters."materials.SLAB.eps_r"]
low = 3.0
high = 100.0
start = 20.0
"""
    out, notes = _fit(tmp_path, text)
    got = _values(out)
    for key, truth in (("materials.SLAB.conductivity_S_cm", 1.1e-9),
                       ("materials.SLAB.conductivity_activation_energy_eV", 0.4), ("materials.SLAB.eps_r", 9.0)):
        v, se = got[key]
        assert abs(v - truth) <= 3 * se and se < 0.01 * truth, (key, v, se)
    assert not notes
    assert list(out["fit/temperature"].value) == [298.15, 353.15]
    assert "fit/T_353.15K/fit_z_real" in out


def test_a_parameter_the_spectra_do_not_fix_is_reported(tmp_path):
    """c_max of a dilute carrier (1e12 times its concentration) does not change the spectrum."""
    _spectrum(tmp_path)
    text = FIT + """[parameters."layers.slab.species.Li.c_max_mol_m3"]
low = 1e10
high = 1e14
scale = "log"
"""
    out, notes = _fit(tmp_path, text)
    key = "layers.slab.species.Li.c_max_mol_m3"
    assert any(n.startswith(f"fit: {key} is not identifiable") for n in notes), notes
    assert any(key in w and "not identifiable" in w for w in out["fit/warnings"].value)
    assert all("\n" not in n for n in notes)
    assert abs(_values(out)[EPS_KEY][0] / EPS - 1) < 0.02            # the others are still fitted


def test_two_parameters_fixed_only_in_combination_are_reported(tmp_path):
    """Above 1 kHz the spectrum is the bulk R || C_geo: D and the carrier concentration enter only through
    sigma ~ D c, so only their product is fixed."""
    _spectrum(tmp_path)
    text = FIT.replace('data = "spectrum.csv"', 'data = "spectrum.csv"\nfrequency_range_Hz = [3e3, 1e6]') + """
[parameters."layers.slab.species.Li.c_bulk_mol_m3"]
low = 0.1
high = 100.0
scale = "log"
start = 1.0
"""
    out, notes = _fit(tmp_path, text)
    assert any("not separately identifiable" in n and D_KEY in n and "c_bulk_mol_m3" in n for n in notes), notes
    assert out["fit/T_298.15K/frequency"].value.min() >= 3e3


def test_a_bound_and_an_unfinished_fit_are_reported(tmp_path):
    _spectrum(tmp_path)
    out, notes = _fit(tmp_path, FIT.replace("high = 200.0", "high = 8.0").replace("start = 30.0", "start = 5.0"))
    assert any(n.startswith(f"fit: {EPS_KEY} ends at its upper bound") for n in notes), notes
    assert list(out["fit/at_bound"].value) == ["high", ""]
    out, notes = _fit(tmp_path, FIT + "", overrides=[("max_evaluations", 3)])
    assert any("did not converge" in n and "(max_evaluations = 3)" in n for n in notes), notes
    assert int(out["fit/converged"].value) == 0


# ---- bad measured data: one line each, before any spectrum is computed -------------------------------------------
GOOD = np.column_stack([F, 800 + 0 * F, -1e5 / F])


def _csv(rows):
    return "\n".join(",".join(f"{v:.10g}" for v in r) for r in rows) + "\n"


BAD = {
    "minus_z_imag": (_csv(GOOD * [1, 1, -1]), "looks like -Z''"),
    "swapped Z columns": (_csv(GOOD[:, [0, 2, 1]]), "are the columns swapped"),
    "frequency not first": (_csv(GOOD[:, [1, 0, 2]]), "frequency 800 Hz repeats"),
    "all-equal frequencies": (_csv(np.column_stack([np.full(60, 10.0), GOOD[:, 1:]])), "repeats the line before"),
    "a duplicate frequency": (_csv(np.vstack([GOOD[:30], GOOD[29:]])), "line 31: frequency"),
    "unordered frequencies": (_csv(GOOD[[0, 2, 1, 3, 4, 5, 6]]), "breaks the order"),
    "1e308": (_csv(GOOD).replace("800", "1e308", 1), "line 1: |Z| = 1e+308 ohm cm^2 is outside [1e-12, 1e+16]"),
    "1e-300 (its squares underflow in the fit)": (_csv(GOOD * [1, 1e-300, 1e-300]), "is outside [1e-12, 1e+16] ohm cm^2"),
    "a frequency of 1e-300 Hz": (_csv(GOOD * [1e-300, 1, 1]), "line 1: frequency 1e-300 Hz is outside [1e-09, 1e+13] Hz"),
    "all zero": (_csv(GOOD * [1, 0, 0]), "a short circuit"),
    "nan": (_csv(GOOD).replace("800", "nan", 1), "line 1: Z' = nan is not a finite number"),
    "inf frequency": ("inf,1,-1\n" + _csv(GOOD[1:]), "not a finite number"),
    "negative frequency": (_csv(GOOD * [-1, 1, 1]), "outside [1e-09, 1e+13] Hz"),
    "two columns": (_csv(GOOD[:, :2]), "line 1 has 2 values; each row is f (Hz), Z' (ohm cm^2), Z'' (ohm cm^2)"),
    "four columns": (_csv(np.column_stack([GOOD, GOOD[:, 0]])), "has 4 values"),
    "too few rows": (_csv(GOOD[:3]), "3 data rows; a spectrum needs at least 5 rows"),
    "a word": (_csv(GOOD[:10]) + "1e7,abc,-1\n", "line 11: 'abc' is not a number"),
    "empty": ("# nothing\n", "0 data rows"),
    "too many rows": ("1,1,-1\n" * (MAX_POINTS + 5000), "more than 20000 points"),
    "not UTF-8": (b"\xff\xfe1,2,3\n", "not UTF-8"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_data_give_one_line_before_any_spectrum(tmp_path, monkeypatch, name):
    import sim.kinds.fit.model as fit_model
    import sim.kinds.pnp.impedance as pnp_impedance

    def never(*a, **k):
        raise AssertionError("a spectrum was computed before the data were checked")
    monkeypatch.setattr(fit_model, "model_spectrum", never)
    monkeypatch.setattr(pnp_impedance, "steady_state", never)
    text, reason = BAD[name]
    (tmp_path / "spectrum.csv").write_bytes(text if isinstance(text, bytes) else text.encode())
    (tmp_path / "fit.toml").write_text(FIT)
    with pytest.raises(CaseError) as e:
        load_case(tmp_path / "fit.toml")
    msg = str(e.value)
    assert reason in msg and "\n" not in msg and "key 'data'" in msg and "fit.toml" in msg, msg


def test_bad_data_through_the_command_line_is_one_line_and_exit_2(tmp_path, capsys):
    from sim.cli import main
    (tmp_path / "spectrum.csv").write_text(BAD["minus_z_imag"][0])
    (tmp_path / "fit.toml").write_text(FIT)
    assert main(["run", str(tmp_path / "fit.toml"), "-o", str(tmp_path / "o.h5")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "convention = \"minus_z_imag\"" in err
    assert not (tmp_path / "o.h5").exists()


def test_accepted_layouts_and_the_minus_z_imag_convention():
    """Decreasing frequencies, a header, comments, semicolons and tabs are read; minus_z_imag negates Z''."""
    down = "# made by hand\nfreq;Zre;Zim\n" + "".join(f"{f:.10g};\t{800:g};{-1e5 / f:.10g}\n" for f in F[::-1])
    s = parse_spectrum(down, ValueError)
    assert np.all(np.diff(s.frequency) > 0) and s.frequency[0] == pytest.approx(1.0)
    assert s.z[0] == pytest.approx((800 - 1e5j) * 1e-4)
    flipped = _csv(GOOD * [1, 1, -1])
    assert parse_spectrum(flipped, ValueError, "minus_z_imag").z == pytest.approx(s.z)


def test_fit_case_errors_name_the_key(tmp_path):
    _spectrum(tmp_path)
    cases = {
        FIT.replace(EPS_KEY, "layers.slab.eps"): ('parameters."layers.slab.eps"', "not a numeric key"),
        FIT.replace(EPS_KEY, "impedance.frequency_min_Hz"): ("impedance.frequency_min_Hz", "cannot be fitted"),
        FIT.replace("low = 3.0", "low = 0.5"): ('parameters."layers.slab.eps_r".low', "must be >= 1"),
        FIT.replace("start = 30.0", "start = 300.0"): ('parameters."layers.slab.eps_r".start', "outside [low, high]"),
        FIT.replace("low = 1e-16", "low = 0.0"): ('.low', 'must be > 0 with scale = "log"'),
        FIT.replace("high = 200.0", "high = 2.0"): ('.high', "must exceed low"),
        FIT.replace(str(CELL), "nowhere.toml"): ("'case'", "no such case file"),
        FIT.replace(str(CELL), str(ROOT / "cases" / "lco_lps.toml")): ("'case'", "no [impedance] temperatures_K"),
        FIT.replace('data = "spectrum.csv"', 'data = "spectrum.csv"\ntemperatures_K = [298.15, 310.0]'):
            ("temperatures_K", "one temperature per data file"),
        FIT.replace('data = "spectrum.csv"', 'data = ["spectrum.csv", "spectrum.csv"]\ntemperatures_K = [298.15, 298.151]'):
            ("temperatures_K", "repeats"),
        FIT.replace('data = "spectrum.csv"', 'data = "spectrum.csv"\nfrequency_range_Hz = [1e7, 1e8]'):
            ("frequency_range_Hz", "leaves 0 points"),
    }
    for text, (key, reason) in cases.items():
        (tmp_path / "fit.toml").write_text(text)
        with pytest.raises(CaseError) as e:
            load_case(tmp_path / "fit.toml")
        assert key in str(e.value) and reason in str(e.value), (key, str(e.value))


def test_the_result_opens_in_xarray_with_labelled_parameters(tmp_path):
    xr = pytest.importorskip("xarray")
    _spectrum(tmp_path)
    (tmp_path / "fit.toml").write_text(FIT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        out = run_case(load_case(tmp_path / "fit.toml"), tmp_path / "fit.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = xr.open_dataset(out, engine="h5netcdf", group="fit").load()
        spec = xr.open_dataset(out, engine="h5netcdf", group="fit/T_298.15K").load()
        xr.open_datatree(out, engine="h5netcdf")
    assert ds["value"].dims == ("parameters",) and list(ds["parameters"].values) == [EPS_KEY, D_KEY]
    assert ds["covariance"].dims == ("cov_i", "cov_j") and ds["correlation"].shape == (2, 2)
    assert float(ds["value"].sel(parameters=EPS_KEY)) == pytest.approx(EPS, rel=0.02)
    assert ds["standard_error"].attrs["units"] == "per parameter: /fit/parameter_units"
    assert list(ds["parameter_units"].values) == ["1", "m^2/s"]
    import hashlib
    assert ds["data_file"].attrs["sha256"] == hashlib.sha256((tmp_path / "spectrum.csv").read_bytes()).hexdigest()
    assert spec["z_real"].dims == ("frequency",) and spec["frequency"].attrs["units"] == "Hz"
    from sim.io import read_result
    read_result(out)                                # still verifies after xarray read it


def test_the_figure_overlays_data_and_fit(tmp_path):
    from sim.figures import render_all
    _spectrum(tmp_path)
    (tmp_path / "fit.toml").write_text(FIT.replace("high = 200.0", "high = 8.0").replace("start = 30.0", "start = 5.0"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        out = run_case(load_case(tmp_path / "fit.toml"), tmp_path / "fit.h5")
    paths = render_all(out, tmp_path / "fig", ("png",))       # through conftest's referee checks, warnings shown
    assert [p.name for p in paths] == ["fit_spectrum.png"]


def test_a_rerun_from_the_result_refuses_changed_data(tmp_path):
    """`sim run --from` reproduces a fit only with the bytes it was fitted to (their sha256 in fit/data_file)."""
    from sim.cli import main
    _spectrum(tmp_path)
    (tmp_path / "fit.toml").write_text(FIT)
    out = tmp_path / "r.h5"
    assert main(["run", str(tmp_path / "fit.toml"), "-o", str(out)]) == 0
    text = (tmp_path / "spectrum.csv").read_text().splitlines()
    f, zr, zi = text[5].split(",")
    text[5] = ",".join([f, repr(float(zr) * 1.01), zi])
    (tmp_path / "spectrum.csv").write_text("\n".join(text) + "\n")
    assert main(["run", "--from", str(out), "-o", str(tmp_path / "r2.h5")]) == 2
    assert not (tmp_path / "r2.h5").exists()
