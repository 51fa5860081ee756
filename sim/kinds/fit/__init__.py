"""Case kind `fit`: keys of an impedance case fitted to measured spectra (schema, setup, model, optimize,
runner, figures; `synthetic` writes the synthetic spectra of the shipped examples)."""
from sim.kinds.fit.runner import run
from sim.kinds.fit.schema import SCHEMA, check


def render(result, out_dir, formats):
    """Figures of a result (matplotlib is imported here, on first use: runs do not pay for it)."""
    from sim.kinds.fit import figures
    return figures.render(result, out_dir, formats)


def compare(results, out_dir, formats):
    return []


__all__ = ["SCHEMA", "check", "compare", "render", "run"]
