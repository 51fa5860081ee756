"""Case kind `pnp`: layered PNP equilibria, potential sweeps, transients and impedance spectra.

schema (case keys), build (case -> `sim.pnp.Problem`: materials, carriers, cathode potential, BCs),
runner (equilibrium, sweeps, dispatch), transient and impedance (their runners), figures and
impedance_figures.
"""
from sim.kinds.pnp.runner import run
from sim.kinds.pnp.schema import SCHEMA, check, notes


def render(result, out_dir, formats):
    """Figures of a result (matplotlib is imported here, on first use: runs do not pay for it)."""
    from sim.kinds.pnp import figures, impedance_figures
    return figures.render(result, out_dir, formats) + impedance_figures.render(result, out_dir, formats)


def compare(results, out_dir, formats):
    from sim.kinds.pnp import figures, impedance_figures
    return figures.compare(results, out_dir, formats) + impedance_figures.compare(results, out_dir, formats)


__all__ = ["SCHEMA", "check", "compare", "notes", "render", "run"]
