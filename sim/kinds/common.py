"""Schema pieces shared by several kinds."""
from sim.kinds import REGISTRY
from sim.schema import Field

KIND = Field(str, "model to run", choices=tuple(REGISTRY))
TITLE = Field(str, "free text shown in figures and stored in the result", default="")


def check_current(params, file):
    """`[current]` names the current one way: exactly one of current_density_mA_cm2 and c_rate_per_h."""
    from sim.errors import CaseError
    cur = params["current"]
    if (cur.get("current_density_mA_cm2") is None) == (cur.get("c_rate_per_h") is None):
        raise CaseError(file, "current", cur, "give exactly one of current_density_mA_cm2 and c_rate_per_h")
    return cur
