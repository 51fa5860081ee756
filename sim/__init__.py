"""sim: transport across the interfaces of all-solid-state Li batteries.

Sub-packages:
    sim.stack    stack-level polarization and energy density (review Section 3)
    sim.pnp      layered 1D Poisson-Nernst-Planck solvers (native Newton and FiPy)
    sim.figures  paper figures made from HDF5 result files
Modules:
    sim.api        the Python API: Simulation (from a file, TOML text or dict) -> solve -> result
    sim.case       case-file loading and validation
    sim.materials  the materials database with sources
    sim.io         HDF5 writer (atomic) and reader with units
    sim.run        dispatch a validated case to its model
"""
__version__ = "0.1.0"


def __getattr__(name):
    """`sim.Simulation` without importing the solvers at `import sim` (lazy, for start-up time)."""
    if name in ("Simulation", "SimulationResult"):
        from sim import api
        return getattr(api, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
