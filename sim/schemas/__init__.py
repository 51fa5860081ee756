"""Case-file schemas, one module per kind.  KINDS maps kind -> (schema Table, semantic check)."""
from . import design_map, energy_density, pnp, polarization

KINDS = {
    "energy_density": (energy_density.SCHEMA, energy_density.check),
    "polarization": (polarization.SCHEMA, polarization.check),
    "pnp": (pnp.SCHEMA, pnp.check),
    "design_map": (design_map.SCHEMA, design_map.check),
}

