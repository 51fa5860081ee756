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


def study_of(result):
    """The study a result belongs to, for side-by-side comparisons (`sim demo`): impedance spectra,
    charging runs or equilibrium potential sweeps; None for anything else."""
    if "pnp/impedance/temperature" in result:
        return "impedance"
    if "pnp/transient/voltage" in result:
        return "charging"
    return "equilibrium" if "pnp/sweep/cathode_potential" in result else None


__all__ = ["SCHEMA", "check", "compare", "notes", "render", "run", "study_of"]
