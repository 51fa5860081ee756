"""Case kind `energy_density`: schema, runner and figures (see sim.kinds)."""
from sim.kinds.energy_density.runner import run
from sim.kinds.energy_density.schema import SCHEMA, check


def render(result, out_dir, formats):
    """Figures of a result (matplotlib is imported here, on first use: runs do not pay for it)."""
    from sim.kinds.energy_density import figures
    return figures.render(result, out_dir, formats)


def compare(results, out_dir, formats):
    return []


__all__ = ["SCHEMA", "check", "compare", "render", "run"]
