"""Schema of `kind = "polarization"` cases (Ohm's-law budget of a stack)."""
from sim.case import materials_schema
from sim.errors import CaseError
from sim.schema import Field, Table, TableMap
from sim.kinds.common import KIND, TITLE, check_current
from sim.case import check_database_materials
from sim.schema import suggest
from sim.materials import load_material

LAYER = Table({
    "thickness_um": Field(float, "layer thickness (ignored for the free separator when solving for L_max)",
                          unit="um", low=0.0, high=1e6),
    "conductivity_S_cm": Field(float, "ionic conductivity; give this or `material`", default=None,
                               unit="S/cm", low=0.0, low_open=True),
    "material": Field(str, "take the conductivity from the materials database", default=None),
}, "one layer of the stack")

SCHEMA = Table({
    "kind": KIND,
    "title": TITLE,
    "current": Table({
        "current_density_mA_cm2": Field(float, "applied current density; give this or c_rate_per_h",
                                        default=None, unit="mA/cm^2", low=0.0, low_open=True),
        "c_rate_per_h": Field(float, "C-rate, converted through the areal capacity", default=None,
                              unit="1/h", low=0.0, low_open=True),
        "areal_capacity_mAh_cm2": Field(float, "areal capacity for the C-rate conversion", default=None,
                                        unit="mAh/cm^2", low=0.0, low_open=True),
    }, "the current"),
    "budget": Table({
        "max_polarization_V": Field(float, "allowed total polarization dE_max", unit="V", low=0.0, low_open=True),
        "separator": Field(str, "name of the layer whose maximum thickness is reported", default="separator"),
        "curve_max_thickness_um": Field(float, "upper end of the dE-versus-separator-thickness curve",
                                        default=100.0, unit="um", low=0.0, low_open=True),
    }, "the polarization budget"),
    "layers": TableMap(LAYER, "stack layers in series; `[layers.<name>]`", min_entries=1, max_entries=100),
    "interfaces": TableMap(Table({
        "asr_ohm_cm2": Field(float, "interfacial area-specific resistance", unit="ohm cm^2", low=0.0),
    }, "an interface"), "interfacial resistances in series; `[interfaces.<name>]`", max_entries=100),
    "materials": materials_schema(),
})


def check(params, file):
    check_database_materials(params, file)
    cur = check_current(params, file)
    if cur.get("c_rate_per_h") is not None and cur.get("areal_capacity_mAh_cm2") is None:
        raise CaseError(file, "current.areal_capacity_mAh_cm2", None, "required with c_rate_per_h")
    sep = params["budget"]["separator"]
    if sep not in params["layers"]:
        raise CaseError(file, "budget.separator", sep, "not a layer name" + suggest(sep, params["layers"]))
    for name, layer in params["layers"].items():
        if (layer.get("conductivity_S_cm") is None) == (layer.get("material") is None):
            raise CaseError(file, f"layers.{name}", layer, "give exactly one of conductivity_S_cm and material")
        if layer.get("material") is not None:
            props = load_material(layer["material"], file=file, key_prefix=f"layers.{name}.material")
            if "conductivity" not in props:
                raise CaseError(file, f"layers.{name}.material", layer["material"], "material has no conductivity in the database")
