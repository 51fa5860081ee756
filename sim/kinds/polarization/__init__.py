"""Case kind `polarization`: schema, runner and figures (see sim.kinds)."""
from sim.kinds.polarization.figures import render
from sim.kinds.polarization.runner import run
from sim.kinds.polarization.schema import SCHEMA, check


def compare(results, out_dir, formats):
    return []


__all__ = ["SCHEMA", "check", "compare", "render", "run"]
