"""One package per case kind, and the one registry of kinds.

Each kind package exposes SCHEMA (the case-file keys, `sim.schema` objects), check(params, file) (the
semantic checks), run(params, case_dir) -> {HDF5 path: Q} (case -> physics objects -> observables),
render(result, out_dir, formats) and compare(results, out_dir, formats) (figures from HDF5 alone).
The CLI, the case-file engine, the docs generator, the sweep engine and the figure command all read
REGISTRY.  Adding a kind: a package here and one line below.
"""
import importlib

REGISTRY = {
    "energy_density": "sim.kinds.energy_density",
    "polarization": "sim.kinds.polarization",
    "pnp": "sim.kinds.pnp",
    "design_map": "sim.kinds.design_map",
    "uncertainty": "sim.kinds.uncertainty",
    "fit": "sim.kinds.fit",
}


def kind(name):
    """The package of a kind (imported on first use)."""
    return importlib.import_module(REGISTRY[name])


def schemas():
    """{kind: (SCHEMA, check)} of every registered kind."""
    return {name: schema(name) for name in REGISTRY}


def schema(name):
    """(SCHEMA, check) of one registered kind (only its package is imported)."""
    return kind(name).SCHEMA, kind(name).check
