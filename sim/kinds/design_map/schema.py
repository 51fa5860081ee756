"""Schema of `kind = "design_map"` cases: the coupled polarization / energy-density design map."""
from sim.case import materials_schema
from sim.errors import CaseError
from sim.schema import Field, Table
from sim.kinds.common import TITLE
from sim.case import check_database_materials
from sim.kinds.common import check_current
from sim.case import load_case, parse_case_text, read_case_text

_SSE = ("LLZO", "LATP", "LGPS", "LPS")

SCHEMA = Table({
    "kind": Field(str, "model to run", choices=("design_map",)),
    "title": TITLE,
    "current": Table({
        "current_density_mA_cm2": Field(float, "applied current density; give this or c_rate_per_h",
                                        default=None, unit="mA/cm^2", low=0.0, low_open=True),
        "c_rate_per_h": Field(float, "C-rate at the cell's loading", default=None, unit="1/h", low=0.0, low_open=True),
    }, "the current"),
    "budget": Table({
        "max_polarization_V": Field(float, "allowed polarization dE_max of separator and interfaces",
                                    unit="V", low=0.0, low_open=True),
    }, "the polarization budget"),
    "interfaces": Table({
        "pnp_cases": Field(("list", str), "pnp case files (relative to this file) whose total interfacial "
                           "ASR sets R_interfaces, e.g. with and without a LiNbO3 buffer", min_length=1),
        "cathode_potential_V": Field(float, "cathode potential at which the ASR is evaluated", default=3.9,
                                     unit="V", low=0.0, high=10.0),
    }, "interfacial resistances, computed by the PNP model"),
    "cell": Table({
        "sse": Field(str, "SSE whose density (and cathode volume share) the ASSLIB uses", default="LPS", choices=_SSE),
        "loading_mg_cm2": Field(float, "NCA loading", default=19.5, unit="mg/cm^2", low=0.0, low_open=True),
        "collectors": Field(str, "current collectors", default="standard", choices=("standard", "modified")),
    }, "the ASSLIB of the review's Table 1 with the chosen SSE", optional=True),
    "grid": Table({
        "conductivity_range_S_cm": Field(("list", float), "SSE conductivity axis (log)", default=[1e-5, 1e-1],
                                         unit="S/cm", length=2, low=0.0, low_open=True),
        "thickness_range_um": Field(("list", float), "separator thickness axis", default=[1.0, 200.0],
                                    unit="um", length=2, low=0.0, low_open=True),
        "points": Field(int, "points per axis", default=121, low=2, high=5000),
    }, "map axes", optional=True),
    "markers": Field(("list", str), "SSEs marked at their database conductivity",
                     default=["LLZO", "LATP", "LGPS", "LPS"]),
    "materials": materials_schema(),
})


def check(params, file):
    check_database_materials(params, file)
    check_current(params, file)
    for key in ("conductivity_range_S_cm", "thickness_range_um"):
        a, b = params["grid"][key]
        if b <= a:
            raise CaseError(file, f"grid.{key}", [a, b], "the second value must exceed the first")
    from pathlib import Path
    base = Path(str(file)).parent if file else Path(".")
    for i, rel in enumerate(params["interfaces"]["pnp_cases"]):
        path = (base / rel)
        if not path.exists():
            raise CaseError(file, f"interfaces.pnp_cases[{i}]", rel, f"no such case file ({path})")
        doc = parse_case_text(read_case_text(path), path)       # its kind, without following its references
        if not isinstance(doc, dict) or doc.get("kind") != "pnp":
            raise CaseError(file, f"interfaces.pnp_cases[{i}]", rel, "not a pnp case")
        load_case(path)
