"""Schema of `kind = "energy_density"` cases (review Section 3, Fig. 3)."""
import math

from sim.case import materials_schema
from sim.errors import CaseError
from sim.materials import load_material, material_names
from sim.schema import Field, FieldMap, Table
from sim.stack.energy import presets
from sim.kinds.common import KIND, TITLE
from sim.schema import suggest

_PRESETS = ("LIB", "ASSLIB")
_SSE = ("LLZO", "LATP", "LGPS", "LPS")


def _increasing(v):
    return None if v[1] > v[0] else "the second value must exceed the first"


def _design_fields(preset_default):
    return {
        "preset": Field(str, "Table 1 design to start from", default=preset_default, choices=_PRESETS),
        "sse": Field(str, "solid electrolyte of separator and cathode composite (ASSLIB only); "
                     "for a non-garnet SSE the SSE volume in the cathode is kept", default=None, choices=_SSE),
        "loading_mg_cm2": Field(float, "cathode active-material loading; default: the preset's",
                                default=None, unit="mg/cm^2", low=0.0, low_open=True, high=1000.0),
        "separator_thickness_um": Field(float, "separator thickness; default: the preset's",
                                        default=None, unit="um", low=0.0, high=1e5),
        "collectors": Field(str, "current collectors: standard (10 um Al, 5 um Cu) or modified "
                            "(5 um Al, no Cu); default: the preset's", default=None,
                            choices=("standard", "modified")),
        "cathode_porosity": Field(float, "cathode porosity (default: the preset's)", default=None,
                                  low=0.0, high=1.0, high_open=True),
        "anode_porosity": Field(float, "anode porosity (default: the preset's)", default=None,
                                low=0.0, high=1.0, high_open=True),
        "separator_porosity": Field(float, "separator porosity (default: the preset's)", default=None,
                                    low=0.0, high=1.0, high_open=True),
        "cathode_mass_fractions": FieldMap(Field(float, "", low=0.0, high=1.0), "cathode solids mass fractions "
                                           "by material (default: the preset's); must sum to 1",
                                           key_choices=tuple(material_names())),
    }


SCHEMA = Table({
    "kind": KIND,
    "title": TITLE,
    "reference": Table({
        **_design_fields("LIB"),
        "specific_energy_Wh_kg": Field(float, "use this number as the reference E_S instead of the computed cell",
                                       default=None, unit="Wh/kg", low=0.0, low_open=True),
        "energy_density_Wh_L": Field(float, "use this number as the reference E_V instead of the computed cell",
                                     default=None, unit="Wh/L", low=0.0, low_open=True),
    }, "the reference cell for break-even thicknesses (default: the computed Table 1 LIB)", optional=True),
    "cell": Table(_design_fields("ASSLIB"),
                  "a single solid-state design, evaluated with its mass and thickness breakdown", optional=True),
    "fig3": Table({
        "enabled": Field(bool, "compute the Fig. 3 b-f data sets", default=True),
        "sse": Field(("list", str), "SSEs of Fig. 3b-c", default=["LLZO", "LATP", "LGPS"], min_length=1,
                     check=lambda v: None if set(v) <= set(_SSE) else f"each must be one of {list(_SSE)}"),
        "loading_mg_cm2": Field(float, "NCA loading of Fig. 3b", default=19.5, unit="mg/cm^2", low=0.0, low_open=True),
        "separator_range_um": Field(("list", float), "separator-thickness axis of Fig. 3b", default=[0.0, 200.0],
                                    unit="um", length=2, low=0.0, check=_increasing),
        "loading_range_mg_cm2": Field(("list", float), "loading axis of Fig. 3c-f", default=[1.0, 50.0],
                                      unit="mg/cm^2", length=2, low=0.0, low_open=True, check=_increasing),
        "points": Field(int, "points along each axis", default=199, low=2, high=100000),
        "fig3de_separator_um": Field(("list", float), "LLZO separator thicknesses of Fig. 3d-e",
                                     default=[5.0, 10.0, 20.0, 50.0, 100.0, 150.0], unit="um", low=0.0, min_length=1),
        "fig3f_separator_um": Field(float, "LLZO separator thickness of Fig. 3f", default=20.0, unit="um", low=0.0),
    }, "the data sets of the review's Fig. 3 b-f", optional=True),
    "materials": materials_schema(),
})


def check(params, file):
    """Cross-field checks: presets exist, mass fractions sum to 1, porosities in [0, 1)."""
    for section in ("reference", "cell"):
        p = params[section]
        preset = presets()[p["preset"]]
        fr = p.get("cathode_mass_fractions")
        if fr:
            if not math.isclose(sum(fr.values()), 1.0, abs_tol=1e-6):
                raise CaseError(file, f"{section}.cathode_mass_fractions", fr,
                                f"mass fractions must sum to 1 (they sum to {sum(fr.values()):.6g})")
            if preset["cathode_active"] not in fr:
                raise CaseError(file, f"{section}.cathode_mass_fractions", fr,
                                f"must include the active material {preset['cathode_active']}")
            for name in fr:
                if "density" not in load_material(name):
                    raise CaseError(file, f"{section}.cathode_mass_fractions.{name}", fr[name], "material has no density")
        if p.get("sse") and not preset.get("cathode_sse_reference"):
            raise CaseError(file, f"{section}.sse", p["sse"], f"preset {p['preset']} has no solid electrolyte to replace")
    for name in _PRESETS:
        pr = presets()[name]
        for part in ("cathode", "anode"):
            total = sum(pr[f"{part}_mass_fractions"].values())
            if not math.isclose(total, 1.0, abs_tol=1e-9):
                raise CaseError("sim/data/cell_presets.toml", f"{name}.{part}_mass_fractions", total, "mass fractions must sum to 1")
            por = pr[f"{part}_porosity"]
            if not 0.0 <= por < 1.0:
                raise CaseError("sim/data/cell_presets.toml", f"{name}.{part}_porosity", por, "porosity must be in [0, 1)")
    known = set(material_names())
    for name in params["materials"]:
        if name not in known:
            raise CaseError(file, f"materials.{name}", name, "unknown material" + suggest(name, known)
                            + " (stack cases use database materials only)")
