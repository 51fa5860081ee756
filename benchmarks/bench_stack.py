"""Benchmark section of the stack-level energy-density model (sim.stack): designs evaluated per second."""
from __future__ import annotations

import numpy as np

from bench_harness import Target, timed


def measure_energy(tiny):
    from sim.stack import energy as en
    n = 10_000 if tiny else 1_000_000
    d = en.preset_design("ASSLIB")
    rng = np.random.default_rng(0)
    loads = rng.uniform(1, 50, n) * 1e-2
    L = rng.uniform(0, 200e-6, n)
    t, _, _ = timed(lambda: en.energy(d, loads, L), 5)
    tb, _, _ = timed(lambda: en.break_even_thickness(d, 264.0, loading_kg_m2=loads), 3)
    return {"designs": n, "energy_s": t, "designs_per_s": n / t, "bet_s": tb, "bet_per_s": n / tb}


def report_energy(e):
    return [f"{e['designs']:.0e} designs: E_S and E_V at **{e['designs_per_s']:.2e} designs/s**; break-even "
            f"thickness (root finding) at {e['bet_per_s']:.2e} designs/s."]


def targets_energy(e):
    return [Target("energy-density designs per second", e["designs_per_s"], 1e6)]
