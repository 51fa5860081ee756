"""Schema pieces shared by several kinds."""
from ..schema import Field

KIND = Field(str, "model to run", choices=("energy_density", "polarization", "pnp", "design_map"))
TITLE = Field(str, "free text shown in figures and stored in the result", default="")
