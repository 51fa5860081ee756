"""Case kind `design_map`: schema, runner and figures (see sim.kinds)."""
from sim.kinds.design_map.figures import render
from sim.kinds.design_map.runner import run
from sim.kinds.design_map.schema import SCHEMA, check


def compare(results, out_dir, formats):
    return []


__all__ = ["SCHEMA", "check", "compare", "render", "run"]
