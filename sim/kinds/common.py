"""Schema pieces shared by several kinds."""
from sim.kinds import REGISTRY
from sim.schema import Field

KIND = Field(str, "model to run", choices=tuple(REGISTRY))
TITLE = Field(str, "free text shown in figures and stored in the result", default="")
