"""Smoke test: the benchmark script runs every section on tiny sizes, writes its JSON and report, and renders
the same report again from the JSON alone (no timing asserted)."""
import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_run", os.path.join(ROOT, "benchmarks", "run.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# slow: every benchmark script end to end (~35 s); benchmarks/run.py is their real run
@pytest.mark.slow
def test_benchmarks_run_on_tiny_sizes(tmp_path):
    mod = load_bench()
    md = tmp_path / "p.md"
    md.write_text("# Performance\n\n## 3. Old\n\nold text\n\n## Figures\n\nkept by hand\n")
    res = mod.run(tiny=True, out=tmp_path / "b.json", md=md)
    data = json.loads((tmp_path / "b.json").read_text())
    keys = [s.key for s in mod.SECTIONS]
    assert set(data) == {"machine", "tiny"} | set(keys)
    for key in keys:                      # measured, or honestly not (yet): never a failure
        st = data[key].get("status", "measured")
        assert st == "measured" or st.startswith(("not measured yet", "not available")), (key, st)
    for r in res["native_vs_fipy"]["rows"].values():
        if "max_relative_difference" in r:
            assert r["max_relative_difference"] < r["tolerance"]       # both solvers solved the same problem
    text = md.read_text()
    assert text.startswith("# Performance") and "## Targets" in text
    assert text.count("## Figures") == 1 and "kept by hand" in text and "old text" not in text
    for sec in mod.SECTIONS:
        assert sec.title in text
    assert "— met" in text or "missed" in text
    # --render: the same report from the JSON, measuring nothing
    again = tmp_path / "again.md"
    again.write_text(text)
    mod.write_report(data, again)
    assert again.read_text() == text


def test_a_failing_or_pending_section_is_reported_not_raised(tmp_path):
    mod = load_bench()
    from bench_harness import Section, not_measured, render, run_section

    def broken(tiny):
        raise ValueError("no such case")

    bad = run_section(Section("bad", "A broken benchmark", broken, lambda r: []), tiny=True)
    assert bad["status"] == "failed: ValueError: no such case"
    pending = Section("later", "Not yet", lambda tiny: not_measured("needs `sim.x:y`"), lambda r: [],
                      pending=["later thing (target ≤ 1 s)"])
    res = {"machine": mod.machine(), "bad": bad, "later": run_section(pending, tiny=True)}
    text = render(res, [Section("bad", "A broken benchmark", broken, lambda r: []), pending])
    assert "Failed: ValueError: no such case." in text
    assert "Not measured yet: needs `sim.x:y`." in text
    assert "- later thing (target ≤ 1 s): not measured yet: needs `sim.x:y`" in text
