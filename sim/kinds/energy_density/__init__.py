"""Case kind `energy_density`: schema, runner and figures (see sim.kinds)."""
from sim.kinds.energy_density.figures import render
from sim.kinds.energy_density.runner import run
from sim.kinds.energy_density.schema import SCHEMA, check


def compare(results, out_dir, formats):
    return []


__all__ = ["SCHEMA", "check", "compare", "render", "run"]
