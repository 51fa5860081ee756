"""Smoke test: the benchmark script runs on tiny sizes and writes its report (no timing asserted)."""
import importlib.util
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_benchmarks_run_on_tiny_sizes(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_run", os.path.join(ROOT, "benchmarks", "run.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.run(tiny=True, out=tmp_path / "b.json", md=tmp_path / "p.md")
    data = json.loads((tmp_path / "b.json").read_text())
    assert set(data) >= {"machine", "native_vs_fipy", "scaling", "transient", "sweeps", "energy", "profile"}
    for r in res["native_vs_fipy"].values():
        assert r["max_relative_difference"] < 1e-8          # both backends solved the same equations
    assert "# Performance" in (tmp_path / "p.md").read_text()
