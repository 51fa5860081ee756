"""sim: transport across the interfaces of all-solid-state Li batteries.

    import sim
    s = sim.Simulation.from_file("cases/lco_lps.toml")    # a case (file, TOML text, dict or result file)
    r = s.solve()                                           # SimulationResult: named arrays with units
    r = sim.open("results/lco_lps.h5")                      # a result or sweep file, digests checked
    r.to_xarray("pnp"), r.to_dataframe()                    # xarray and pandas views

Sub-packages:
    sim.stack    stack-level polarization and energy density (review Section 3)
    sim.pnp      layered 1D Poisson-Nernst-Planck solvers (native Newton and FiPy)
    sim.figures  paper figures made from HDF5 result files
    sim.studies  parameter sweeps (serial, processes, Dask) into one resumable file
Modules:
    sim.api        the Python API: Simulation, SimulationResult, open
    sim.case       case-file loading and validation
    sim.materials  the materials database with sources
    sim.io         HDF5 writer (atomic) and reader with units
    sim.run        dispatch a validated case to its model
"""
__version__ = "0.1.0"

#: the API; imported on first use, so that `import sim` stays light (no solvers, h5py or matplotlib)
__all__ = ["Simulation", "SimulationResult", "open", "__version__"]
_LAZY = {"Simulation": "sim.api", "SimulationResult": "sim.api", "open": "sim.api"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__():
    return sorted(set(__all__) | {n for n in globals() if not n.startswith("_")})
