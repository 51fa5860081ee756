"""Hostile input: generated case and sweep files only ever fail with the package's own errors.

The default run tries a few hundred documents; the slow suite (`-m slow`) at least 1,000 per loader.
Every failure must be a SimError (CaseError, ...) naming the file and the key; nothing else may
escape, and nothing may hang (hypothesis deadline).
"""
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.case import load_case
from sim.errors import CaseError, SimError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = ["separator_budget.toml", "fig3_energy_density.toml", "lco_lps.toml", "lco_lno_lps_charging.toml",
         "design_map.toml"]
DEFAULT_EXAMPLES, SLOW_EXAMPLES = 150, 1000


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f'"{k}" = {toml_value(x)}' for k, x in v.items()) + "}"
    raise TypeError(type(v))


def dumps(doc, prefix=""):
    """Minimal TOML writer for the generated documents."""
    scalars = [(k, v) for k, v in doc.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in doc.items() if isinstance(v, dict)]
    lines = [f'"{k}" = {toml_value(v)}' for k, v in scalars]
    for k, v in tables:
        name = f'{prefix}."{k}"' if prefix else f'"{k}"'
        lines += ["", f"[{name}]", dumps(v, name)]
    return "\n".join(lines)


def load_base(name):
    import tomllib
    with open(os.path.join(ROOT, "cases", name), "rb") as f:
        return tomllib.load(f)


def paths(doc, prefix=()):
    for k, v in doc.items():
        yield prefix + (k,)
        if isinstance(v, dict):
            yield from paths(v, prefix + (k,))


HOSTILE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**12, 10**12), st.booleans(),
    st.text(max_size=12), st.builds(list), st.lists(st.floats(allow_nan=True), max_size=4), st.builds(dict),
    st.sampled_from([0.0, -1.0, 1.0, 0.999999, 1.5, 1e300, -1e-30, 1e-320, 5e4, 1e-15]),
)


@st.composite
def mutated_case(draw):
    base = load_base(draw(st.sampled_from(CASES)))
    all_paths = list(paths(base))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["set", "delete", "add", "set", "rename"]))
        path = draw(st.sampled_from(all_paths))
        node = base
        for p in path[:-1]:
            node = node.get(p) if isinstance(node, dict) else None
            if not isinstance(node, dict):
                break
        if not isinstance(node, dict):
            continue
        key = path[-1]
        if op == "set":
            node[key] = draw(HOSTILE)
        elif op == "delete":
            node.pop(key, None)
        elif op == "add":
            node[draw(st.text(min_size=1, max_size=10))] = draw(HOSTILE)
        elif op == "rename" and key in node:
            node[key + draw(st.sampled_from(["_", "s", "x", "_m"]))] = node.pop(key)
    return base


def assert_only_sim_errors(tmp_path, text_or_bytes):
    p = tmp_path / "fuzz.toml"
    if isinstance(text_or_bytes, bytes):
        p.write_bytes(text_or_bytes)
    else:
        p.write_text(text_or_bytes, encoding="utf-8")
    try:
        load_case(p)
    except CaseError as e:
        assert str(p) in str(e) or "<" in e.key, str(e)     # names the file and a key
        assert e.key
    except SimError:
        pass


def _settings(n):
    return settings(max_examples=n, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow])


@_settings(DEFAULT_EXAMPLES)
@given(doc=mutated_case())
def test_mutated_cases_fail_cleanly(tmp_path, doc):
    assert_only_sim_errors(tmp_path, dumps(doc))


@_settings(DEFAULT_EXAMPLES // 3)
@given(raw=st.binary(max_size=300))
def test_random_bytes_fail_cleanly(tmp_path, raw):
    assert_only_sim_errors(tmp_path, raw)


@_settings(DEFAULT_EXAMPLES // 3)
@given(doc=mutated_case(), junk=st.binary(min_size=1, max_size=8))
def test_non_utf8_bytes_in_a_case(tmp_path, doc, junk):
    text = dumps(doc).encode() + b"\n# " + junk + b"\xff\xfe\n"
    assert_only_sim_errors(tmp_path, text)


@pytest.mark.slow
@_settings(SLOW_EXAMPLES)
@given(doc=mutated_case())
def test_mutated_cases_fail_cleanly_slow(tmp_path, doc):
    assert_only_sim_errors(tmp_path, dumps(doc))


@st.composite
def mutated_sweep(draw):
    doc = {"base": draw(st.sampled_from(["base.toml", "missing.toml", 3, ""])),
           "design": {"kind": draw(st.sampled_from(["grid", "zip", "lhs", "bogus", 1])),
                      "samples": draw(st.one_of(st.integers(-5, 50), HOSTILE)),
                      "seed": draw(st.integers(-3, 10))},
           "parameters": {}}
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(["materials.LPS.eps_r", "layers.sse.thickness_m", "layers.sse",
                                    "nonsense.key", "mesh.h_min_m", "kind", "materials.LPS.eps_r.x",
                                    "solver_options.max_iter"]))
        doc["parameters"][key] = draw(st.fixed_dictionaries({}, optional={
            "values": st.lists(HOSTILE, max_size=3), "range": st.lists(HOSTILE, max_size=3),
            "points": st.one_of(st.integers(-2, 20), HOSTILE), "scale": st.sampled_from(["log", "linear", "x"])}))
    if draw(st.booleans()):
        doc[draw(st.text(min_size=1, max_size=6))] = draw(HOSTILE)
    return doc


def _sweep_check(tmp_path, doc):
    from sim.studies import load_sweep
    (tmp_path / "base.toml").write_text(
        'kind = "pnp"\n[cathode]\npotential_V = 4.0\n[layers.cathode]\nmaterial = "LCO"\nthickness_m = 20e-9\n'
        '[layers.sse]\nmaterial = "LPS"\nthickness_m = 20e-9\n')
    p = tmp_path / "sweep.toml"
    p.write_text(dumps(doc))
    try:
        load_sweep(p)
    except SimError:
        pass


@_settings(DEFAULT_EXAMPLES // 2)
@given(doc=mutated_sweep())
def test_mutated_sweeps_fail_cleanly(tmp_path, doc):
    _sweep_check(tmp_path, doc)


@pytest.mark.slow
@_settings(SLOW_EXAMPLES)
@given(doc=mutated_sweep())
def test_mutated_sweeps_fail_cleanly_slow(tmp_path, doc):
    _sweep_check(tmp_path, doc)


def test_case_files_are_data_not_code(tmp_path):
    p = tmp_path / "evil.toml"
    p.write_text('kind = "polarization"\ntitle = "__import__(\'os\').system(\'touch PWNED\')"\n'
                 '[current]\ncurrent_density_mA_cm2 = 3.0\n[budget]\nmax_polarization_V = 0.05\n'
                 '[layers.separator]\nthickness_um = 20.0\nconductivity_S_cm = 1e-4\n')
    from sim.run import run_case
    run_case(p, tmp_path / "o.h5")
    assert not (tmp_path / "PWNED").exists() and not os.path.exists("PWNED")


def _campaign(tmp_path, *args):
    """Run tests/hostile_campaign.py in its own process (it limits its address space to 4 GB)."""
    import json
    import subprocess
    import sys
    out = tmp_path / "campaign.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "hostile_campaign.py"), *args,
                           "--json", str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=5400)
    assert out.exists(), proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["failures"] == [], report["failures"][:10]
    assert proc.returncode == 0
    return report["tally"]


def test_hostile_campaign_sample(tmp_path):
    """A fast sample of the independent campaign: text mutants of every shipped case and sweep through
    `validate` (the cheap kinds also through `run`), damaged results through `figures`, damaged sweep
    files through `--resume`.  No traceback, no hang, no out-of-memory, no damaged file trusted."""
    tally = _campaign(tmp_path, "--mutants", "150", "--damaged", "30", "--resumes", "3", "--runs", "10",
                      "--run-kinds", "polarization,energy_density", "--seed", "11")
    assert sum(tally["validate"].values()) == 150 and sum(tally["figures"].values()) == 30
    assert tally["validate"].get("accepted", 0) > 0 and tally["validate"].get("clean error", 0) > 0


@pytest.mark.slow
def test_hostile_campaign_full(tmp_path):
    """The full campaign: >= 2,000 mutants, valid ones of every kind run (docs/reliability.md)."""
    tally = _campaign(tmp_path, "--mutants", "2000", "--damaged", "200", "--resumes", "30", "--runs", "150",
                      "--seed", "1")
    assert sum(tally["validate"].values()) == 2000
