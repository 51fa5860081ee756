"""The uncertainty kind: Sobol' indices of Ohm's law against their closed form, Morris screening, failed runs,
the shipped study on a process pool resumed after SIGKILL, and one clear line for each bad input."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.case import load_case
from sim.errors import CaseError
from sim.kinds.uncertainty import analysis
from sim.run import run_case

ROOT = Path(__file__).resolve().parent.parent

#: the Ohm's-law case: a separator of thickness L and conductivity sigma at current density J, no interface,
#: so that polarization/total = J L / sigma exactly
OHM = """kind = "polarization"
[current]
current_density_mA_cm2 = 3.0
[budget]
max_polarization_V = 0.050
[layers.separator]
thickness_um = 20.0
conductivity_S_cm = 1.0e-4
"""
#: log-uniform ranges of J (mA/cm^2), L (um), sigma (S/cm), and a budget that does not reach polarization/total
RANGES = {"current.current_density_mA_cm2": (1.0, 3.0), "layers.separator.thickness_um": (10.0, 40.0),
          "layers.separator.conductivity_S_cm": (1e-4, 1e-3)}
NO_EFFECT = ("budget.max_polarization_V", 0.01, 0.1)


def study(tmp_path, method="sobol", samples=512, extra="", inputs=None, base=OHM, name="u.toml"):
    (tmp_path / "ohm.toml").write_text(base)
    text = (f'kind = "uncertainty"\ncase = "ohm.toml"\nmethod = "{method}"\nsamples = {samples}\nseed = 3\n'
            f'outputs = ["polarization/total"]\n{extra}\n')
    for key, (lo, hi) in (inputs or RANGES).items():
        text += f'[inputs."{key}"]\ndistribution = "loguniform"\nlow = {lo}\nhigh = {hi}\n'
    p = tmp_path / name
    p.write_text(text)
    return p


def loguniform_moments(a, b):
    """E[X] and E[X^2] of X log-uniform on [a, b]."""
    w = np.log(b / a)
    return (b - a) / w, (b * b - a * a) / (2 * w)


def product_indices(factors):
    """Exact S1 and ST of Y = prod X_i over independent factors with (E X_i, E X_i^2): with v_i = Var X_i,
    V(Y) = prod E X_i^2 - prod (E X_i)^2, V[E(Y|X_i)] = v_i prod_{j!=i} (E X_j)^2 and
    E[V(Y|X~i)] = v_i prod_{j!=i} E X_j^2."""
    m = np.array([f[0] for f in factors])
    s = np.array([f[1] for f in factors])
    v = s - m * m
    total = np.prod(s) - np.prod(m * m)
    s1 = np.array([v[i] * np.prod(np.delete(m * m, i)) for i in range(len(m))]) / total
    st = np.array([v[i] * np.prod(np.delete(s, i)) for i in range(len(m))]) / total
    return s1, st


def exact_ohm():
    """S1, ST of J L / sigma in the order of RANGES (1/sigma is log-uniform on [1/high, 1/low])."""
    (j0, j1), (l0, l1), (s0, s1) = RANGES.values()
    return product_indices([loguniform_moments(j0, j1), loguniform_moments(l0, l1), loguniform_moments(1 / s1, 1 / s0)])


def test_sobol_indices_of_ohms_law_match_the_closed_form(tmp_path):
    """V = J L / sigma with log-uniform J, L, sigma: S1 and ST of every input within 1.5 of its 95 % half-width
    (about 3 standard errors) of the exact values, the half-widths small enough to mean something; an input
    that does not reach V (the budget) gets indices within their intervals of 0; P(V < 50 mV) agrees with a
    10^6-draw sample of the closed form."""
    inputs = dict(RANGES)
    inputs[NO_EFFECT[0]] = NO_EFFECT[1:]
    path = study(tmp_path, inputs=inputs, extra='[thresholds]\n"polarization/total" = [0.05]')
    out = run_case(load_case(path), tmp_path / "u.h5")
    r = sim.open(out)
    g = "uncertainty/ohm/polarization.total"
    assert list(r.value("uncertainty/inputs")) == list(inputs)
    s1, st = exact_ohm()
    for name, exact in (("S1", s1), ("ST", st)):
        got, conf = r.value(f"{g}/{name}"), r.value(f"{g}/{name}_conf")
        assert np.all(conf[:3] < 0.2), (name, conf)
        assert np.all(np.abs(got[:3] - exact) <= 1.5 * conf[:3]), (name, got, exact, conf)
        assert abs(got[3]) <= max(1.5 * conf[3], 1e-12), (name, got[3], conf[3])
    assert int(r.value(f"{g}/complete_blocks")) == 512 and int(r.value("uncertainty/runs")) == 512 * 6
    rng = np.random.default_rng(0)
    draw = [np.exp(rng.uniform(np.log(a), np.log(b), 10**6)) for a, b in RANGES.values()]
    volts = draw[0] * 10.0 * draw[1] * 1e-6 / (draw[2] * 100.0)           # J (A/m^2) L (m) / sigma (S/m)
    p_ref = float(np.mean(volts < 0.05))
    p, conf = float(r.value(f"{g}/probability_below")[0]), float(r.value(f"{g}/probability_below_conf")[0])
    assert abs(p - p_ref) <= 1.5 * conf + 3 * np.sqrt(p_ref * (1 - p_ref) / 1e6), (p, conf, p_ref)
    np.testing.assert_allclose(r.value(f"{g}/quantiles")[2], np.median(volts), rtol=0.05)
    # the runs are J L / sigma of the stored inputs, to rounding
    x = {k: r.value(f"uncertainty/input_values/{k}") for k in RANGES}
    expect = x["current.current_density_mA_cm2"] * 10.0 * x["layers.separator.thickness_um"] * 1e-6 / (
        x["layers.separator.conductivity_S_cm"] * 100.0)
    np.testing.assert_allclose(r.value(f"{g}/values"), expect, rtol=1e-12)


def test_morris_ranks_the_inputs_and_gives_zero_to_one_without_effect(tmp_path):
    inputs = dict(RANGES)
    inputs[NO_EFFECT[0]] = NO_EFFECT[1:]
    out = run_case(load_case(study(tmp_path, "morris", 40, inputs=inputs)), tmp_path / "m.h5")
    r = sim.open(out)
    g = "uncertainty/ohm/polarization.total"
    mu = r.value(f"{g}/mu_star")
    assert mu[3] == 0.0 and r.value(f"{g}/sigma")[3] == 0.0
    assert mu[2] > mu[1] > mu[0] > 0.0                    # sigma spans a decade, L a factor 4, J a factor 3
    assert r[f"{g}/mu_star"].units == "V" and int(r.value("uncertainty/runs")) == 40 * 5
    assert "S1" not in r.keys(g)[0] and f"{g}/S1" not in r.data


def test_failed_runs_are_nan_their_blocks_dropped_and_counted(tmp_path, monkeypatch):
    """Runs whose current density exceeds 2.5 mA/cm^2 fail: they are NaN, counted, their blocks left out of
    the indices; the analysis equals one of only the complete blocks."""
    import sim.kinds.polarization as pol
    from sim.errors import ConvergenceError
    original = pol.run

    def flaky(params, case_dir=None):
        if params["current"]["current_density_mA_cm2"] > 2.5:
            raise ConvergenceError("no convergence (test)")
        return original(params, case_dir)
    monkeypatch.setattr(pol, "run", flaky)
    path = study(tmp_path, samples=64, extra='[execution]\nexecutor = "serial"',
                 base=OHM.replace("current_density_mA_cm2 = 3.0", "current_density_mA_cm2 = 2.0"))    # the nominal runs
    with pytest.warns(UserWarning, match="runs failed"):
        out = run_case(load_case(path), tmp_path / "f.h5")
    r = sim.open(out)
    g = "uncertainty/ohm/polarization.total"
    J = r.value("uncertainty/input_values/current.current_density_mA_cm2")
    failed = r.value("uncertainty/ohm/run_failed").astype(bool)
    np.testing.assert_array_equal(failed, J > 2.5)
    assert int(r.value("uncertainty/ohm/failed_runs")) == int((J > 2.5).sum()) > 0
    assert np.all(np.isnan(r.value(f"{g}/values")[failed]))
    complete = ~failed.reshape(64, 5).any(axis=1)
    assert int(r.value(f"{g}/complete_blocks")) == complete.sum() < 64
    Y = r.value(f"{g}/values").reshape(64, 5)[complete].reshape(-1, 1)
    X = np.column_stack([r.value(f"uncertainty/input_values/{k}") for k in RANGES]).reshape(64, 5, 3)[complete].reshape(-1, 3)
    prob = {"num_vars": 3, "names": list(RANGES), "bounds": [list(b) for b in RANGES.values()], "dists": ["logunif"] * 3}
    idx, used = analysis.indices("sobol", prob, X, Y, 5, 3)
    np.testing.assert_array_equal(idx["S1"][0], r.value(f"{g}/S1"))
    np.testing.assert_array_equal(idx["ST_conf"][0], r.value(f"{g}/ST_conf"))
    assert used[0] == complete.sum()


def test_rank_transform_and_thresholds_of_a_known_sample():
    """The rank transform maps each point's values onto (0, 1) in order, NaN kept; P(Y < t) counts the runs."""
    Y = np.array([[3.0, -1.0], [1.0, np.nan], [2.0, 5.0], [10.0, 0.0]])
    R = analysis.transformed(Y, "rank")
    np.testing.assert_allclose(R[:, 0], [3 / 5, 1 / 5, 2 / 5, 4 / 5])
    assert np.isnan(R[1, 1]) and list(np.argsort(R[[0, 2, 3], 1])) == [0, 2, 1]
    L = analysis.transformed(Y, "log10")
    assert np.isnan(L[0, 1]) and np.isnan(L[3, 1]) and L[2, 1] == np.log10(5.0)
    ex = analysis.exceedance(Y, 2, [2.5], 0)
    np.testing.assert_allclose(ex["probability_below"][:, 0], [2 / 4, 2 / 3])
    np.testing.assert_allclose(ex["probability_above"][:, 0], [2 / 4, 1 / 3])


def _ok_cases(samples_dir):
    from sim.studies import load_summary
    n = 0
    for f in Path(samples_dir).glob("*.h5"):
        try:
            n += int((load_summary(f)["status"] == "ok").sum())
        except Exception:
            pass
    return n


# slow: the shipped study on a process pool, killed and resumed (~25 s); tests/test_reliability.py kills and resumes a sweep by default
@pytest.mark.slow
def test_shipped_study_runs_on_two_processes_and_resumes_after_sigkill(tmp_path):
    """cases/uncertainty_rscl.toml with N = 2 (and 2 of its 6 potentials) on a process pool of 2 workers,
    killed (SIGKILL) once some runs are stored: run again, it computes only the rest (the stored runs keep
    their records) and gives the same result, bit for bit, as an uninterrupted study."""
    from sim.studies import load_summary
    for name in ("lco_lps.toml", "lco_lno_lps.toml"):
        (tmp_path / name).write_text((ROOT / "cases" / name).read_text())
    shipped = (ROOT / "cases" / "uncertainty_rscl.toml").read_text()
    assert '"sweep.points" = 6' in shipped
    (tmp_path / "rscl.toml").write_text(shipped.replace('"sweep.points" = 6', '"sweep.points" = 2'))
    sets = ["--set", "samples=2", "--set", "execution.executor=processes", "--set", "execution.jobs=2",
            "--set", "execution.flush_interval_s=0"]
    out = tmp_path / "killed.h5"
    cmd = [sys.executable, "-m", "sim", "run", str(tmp_path / "rscl.toml"), "-o", str(out), *sets]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    samples = tmp_path / "killed_samples"
    deadline = time.time() + 120
    while time.time() < deadline and _ok_cases(samples) < 8 and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)                 # the parent and its pool
    proc.wait()
    assert not out.exists()
    before = {f.name: load_summary(f) for f in samples.glob("*.h5")}
    kept = sum(int((t["status"] == "ok").sum()) for t in before.values())
    assert 8 <= kept < 18 + 26                          # of 2 (7 + 2) + 2 (11 + 2) distinct runs
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for name, table in before.items():                  # stored runs were not computed again
        after = load_summary(samples / name)
        ok = table["status"] == "ok"
        np.testing.assert_array_equal(after["wall_time"][ok], table["wall_time"][ok])
    fresh = tmp_path / "fresh.h5"
    subprocess.run([*cmd[:5], "-o", str(fresh), *sets[:2]], cwd=tmp_path, check=True, capture_output=True, timeout=300)
    a, b = sim.open(out), sim.open(fresh)
    for k in a.keys("uncertainty"):
        if k.endswith("samples_file"):
            continue
        va, vb = a.value(k), b.value(k)
        if isinstance(va, str) or np.asarray(va).dtype.kind in "OSU":
            assert np.array_equal(np.asarray(va), np.asarray(vb)), k
        else:
            np.testing.assert_array_equal(va, vb, err_msg=k)


BAD = [
    ('[inputs."materials.LPS.conductivity"]\n', 'inputs."materials.LPS.conductivity"', "did you mean"),
    ('[inputs."solver"]\ndistribution = "uniform"\nlow = 1.0\nhigh = 2.0\n', 'inputs."solver"', "number key"),
    ('[inputs."layers.sse.eps_r"]\ndistribution = "uniform"\nlow = 9.0\nhigh = 8.0\n', 'inputs."layers.sse.eps_r".high',
     "must exceed low"),
    ('[inputs."layers.sse.eps_r"]\ndistribution = "gauss"\nmean = 9.0\nsd = 1.0\n', 'inputs.layers.sse.eps_r.distribution',
     "one of"),
    ('[inputs."layers.sse.eps_r"]\ndistribution = "uniform"\nlow = 0.5\nhigh = 8.0\n', 'inputs."layers.sse.eps_r"',
     "must be >= 1"),
    ('[inputs."layers.sse.eps_r"]\ndistribution = "normal"\nmean = 3.0\nsd = 1.0\n', 'inputs."layers.sse.eps_r"',
     "truncated_normal"),
    ('[inputs."layers.sse.eps_r"]\nlow = 7.0\nhigh = 8.0\n', 'inputs."layers.sse.eps_r".distribution', "required"),
    ('[inputs."layers.sse.eps_r"]\ndistribution = "uniform"\n', 'inputs."layers.sse.eps_r".low', "required by uniform"),
    ('[inputs."layers.sse.eps_r"]\ndistribution = "uniform"\nlow = 7.0\nhigh = 8.0\npeak = 7.5\n',
     'inputs."layers.sse.eps_r".peak', "not a parameter of uniform"),
    ('[inputs."materials.LPS.conductivity_S_cm"]\ndistribution = "loguniform"\nlow = 0.0\nhigh = 1e-3\n',
     'inputs."materials.LPS.conductivity_S_cm".low', "low > 0"),
    ('[inputs."layers.buffer.eps_r"]\ndistribution = "uniform"\nlow = 20.0\nhigh = 30.0\n', 'inputs."layers.buffer.eps_r"',
     "reaches no value"),
    ('[inputs."materials.LPS.eps_r"]\n[fixed]\n"mesh.growth" = 5.0\n', "fixed.mesh.growth", "<= 2"),
    ('[inputs."materials.LPS.eps_r"]\n[thresholds]\n"pnp/observables/total" = [1.0]\n',
     'thresholds."pnp/observables/total"', "not one of the outputs"),
]


@pytest.mark.parametrize("body, key, reason", BAD)
def test_bad_inputs_give_one_clear_line(tmp_path, body, key, reason):
    (tmp_path / "lco_lps.toml").write_text((ROOT / "cases" / "lco_lps.toml").read_text())
    p = tmp_path / "bad.toml"
    p.write_text('kind = "uncertainty"\ncase = "lco_lps.toml"\nsamples = 4\n'
                 'outputs = ["pnp/observables/total_excess_resistance"]\n' + body)
    with pytest.raises(CaseError) as e:
        load_case(p)
    msg = str(e.value)
    assert str(p) in msg and key in msg and reason in msg and "\n" not in msg, msg
    r = subprocess.run([sys.executable, "-m", "sim", "validate", str(p)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr


@pytest.mark.parametrize("top, tables, key, reason", [
    ('case = "missing.toml"\nsamples = 4\n', "", "case", "no such case file"),
    ('case = "ohm.toml"\ncases = ["ohm.toml"]\nsamples = 4\n', "", "case", "exactly one of"),
    ('case = "ohm.toml"\nsamples = 6\n', "", "samples", "power of 2"),
    ('case = "ohm.toml"\nsamples = 4\nmethod = "morris"\nlevels = 3\n', "", "levels", "even"),
    ('case = "u0.toml"\nsamples = 4\n', "", "case", "another uncertainty case"),
    ('case = "ohm.toml"\nsamples = 4\n', '[transforms]\n"polarization/total" = "log"\n',
     "transforms.polarization/total", "one of"),
    ('case = "ohm.toml"\nsamples = 4\nmethod = "morris"\n',
     '[inputs."current.current_density_mA_cm2"]\ndistribution = "normal"\nmean = 3.0\nsd = 0.1\n',
     "distribution", "bounded distribution"),
])
def test_bad_study_settings_give_one_clear_line(tmp_path, top, tables, key, reason):
    (tmp_path / "ohm.toml").write_text(OHM)
    study(tmp_path, name="u0.toml")
    p = tmp_path / "bad.toml"
    p.write_text(f'kind = "uncertainty"\n{top}outputs = ["polarization/total"]\n{tables}'
                 '[inputs."layers.separator.thickness_um"]\ndistribution = "uniform"\nlow = 10.0\nhigh = 20.0\n')
    with pytest.raises(CaseError) as e:
        load_case(p)
    msg = str(e.value)
    assert key in msg and reason in msg and "\n" not in msg, msg


def test_an_output_the_case_does_not_write_is_named_before_any_sample_runs(tmp_path):
    path = study(tmp_path, samples=4)
    path.write_text(path.read_text().replace('outputs = ["polarization/total"]', 'outputs = ["polarization/totl"]'))
    with pytest.raises(CaseError, match=r"outputs\[0\].*not a dataset of the result of ohm.toml.*polarization/total"):
        run_case(load_case(path), tmp_path / "o.h5")
    assert not (tmp_path / "o_samples" / "ohm.h5").exists()
