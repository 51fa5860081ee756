"""Gravimetric and volumetric energy density of a cell stack from its bill of materials.

Per unit cell area (one cathode, one separator, one anode, one pair of current collectors):

    E_A   = C_A m_A V_A                       areal energy (J/m^2)
    E_S   = E_A / sum_i w_i                   specific energy  (J/kg)
    E_V   = E_A / sum_i t_i                   energy density   (J/m^3)

with w_i the areal mass and t_i the thickness of component i.  For a composite electrode with
solids mass fractions f_j, densities rho_j and porosity p, holding active mass m_act:

    m_solid = m_act / f_act,   t = sum_j (m_solid f_j / rho_j) / (1 - p)

The anode active mass follows from the cathode capacity and the capacity excess x:
m_anode = (1 + x) C_A m_A / C_anode.  A pore filler (the liquid electrolyte of a LIB) fills
every pore of both electrodes and the separator.  Everything is numpy-vectorized over the
loading m_A and the separator thickness, so millions of designs evaluate in well under a second.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.units import SI

from sim.materials import cell_presets as presets, load_material

J_PER_WH = 3600.0
UM = SI["um"]
MG_CM2 = SI["mg/cm^2"]


@dataclass(frozen=True)
class CellDesign:
    """A cell stack.  SI units: kg/m^2, m, kg/m^3 (densities come from the materials file)."""
    cathode_active: str
    cathode_loading_kg_m2: float
    cathode_mass_fractions: dict
    cathode_porosity: float
    anode_active: str
    anode_mass_fractions: dict
    anode_porosity: float
    anode_capacity_excess: float
    separator_material: str
    separator_thickness_m: float
    separator_porosity: float
    pore_filler: str | None
    al_thickness_m: float
    cu_thickness_m: float
    material_overrides: dict = field(default_factory=dict)
    name: str = ""

    def material(self, name):
        return load_material(name, self.material_overrides.get(name))


def sse_volume_fractions(base_fractions, reference_sse, new_sse, overrides=None):
    """Mass fractions after swapping the SSE in a composite while keeping its *volume*.

    m_new = m_ref * rho_new / rho_ref for the SSE component, other masses unchanged, then
    renormalised.  This keeps the loading and the cathode thickness of the reference design.
    """
    if new_sse == reference_sse:
        return dict(base_fractions)
    overrides = overrides or {}
    rho_ref = load_material(reference_sse, overrides.get(reference_sse))["density"]
    rho_new = load_material(new_sse, overrides.get(new_sse))["density"]
    masses = {k: v for k, v in base_fractions.items() if k != reference_sse}
    masses[new_sse] = base_fractions[reference_sse] * rho_new / rho_ref
    total = sum(masses.values())
    return {k: v / total for k, v in masses.items()}


def preset_design(preset="ASSLIB", sse=None, loading_mg_cm2=None, separator_thickness_um=None,
                  collectors=None, material_overrides=None, name=None):
    """A CellDesign from the Table 1 presets, optionally with another SSE, loading, separator
    thickness or collector set ("standard" or "modified")."""
    p = presets()[preset]
    overrides = material_overrides or {}
    fractions = dict(p["cathode_mass_fractions"])
    separator = p["separator_material"]
    if sse is not None:
        ref = p.get("cathode_sse_reference")
        if ref:
            fractions = sse_volume_fractions(fractions, ref, sse, overrides)
        separator = sse
    cc = presets()["collectors"][collectors or p["collectors"]]
    return CellDesign(
        cathode_active=p["cathode_active"],
        cathode_loading_kg_m2=(loading_mg_cm2 if loading_mg_cm2 is not None else p["cathode_loading_mg_cm2"]) * MG_CM2,
        cathode_mass_fractions=fractions,
        cathode_porosity=p["cathode_porosity"],
        anode_active=p["anode_active"],
        anode_mass_fractions=dict(p["anode_mass_fractions"]),
        anode_porosity=p["anode_porosity"],
        anode_capacity_excess=p["anode_capacity_excess"],
        separator_material=separator,
        separator_thickness_m=(separator_thickness_um if separator_thickness_um is not None else p["separator_thickness_um"]) * UM,
        separator_porosity=p["separator_porosity"],
        pore_filler=p["pore_filler"] or None,
        al_thickness_m=cc["al_thickness_um"] * UM,
        cu_thickness_m=cc["cu_thickness_um"] * UM,
        material_overrides=overrides,
        name=name or (preset if sse is None else f"{preset}-{sse}"),
    )


def _composite(design, fractions, active_mass, porosity):
    """Areal masses (dict, kg/m^2), solid volume and thickness (m) of a composite electrode."""
    total = active_mass / fractions[_active_of(design, fractions)]
    masses = {k: total * f for k, f in fractions.items()}
    solid = sum(m / design.material(k)["density"] for k, m in masses.items())
    return masses, solid / (1.0 - porosity)


def _active_of(design, fractions):
    for k in fractions:
        if k in (design.cathode_active, design.anode_active):
            return k
    raise ValueError("composite has no active material")


def breakdown(design, loading_kg_m2=None, separator_thickness_m=None, separator_density=None):
    """Areal mass (kg/m^2) and thickness (m) of every component, plus E_S and E_V.

    loading_kg_m2 and separator_thickness_m may be numpy arrays (broadcast together).
    separator_density overrides the separator material's density (kg/m^3), also broadcastable.
    Returns a dict with 'mass' and 'thickness' sub-dicts and the totals.
    """
    m_a = np.asarray(design.cathode_loading_kg_m2 if loading_kg_m2 is None else loading_kg_m2, float)
    L = np.asarray(design.separator_thickness_m if separator_thickness_m is None else separator_thickness_m, float)
    cat = design.material(design.cathode_active)
    capacity = cat["specific_capacity"] * m_a                    # C/m^2
    energy = capacity * cat["average_voltage"]                    # J/m^2

    mass, thick = {}, {}
    c_masses, t_cat = _composite(design, design.cathode_mass_fractions, m_a, design.cathode_porosity)
    for k, v in c_masses.items():
        mass[f"cathode/{k}"] = v
    thick["cathode"] = t_cat

    anode_cap = design.material(design.anode_active)["specific_capacity"]
    a_active = (1.0 + design.anode_capacity_excess) * capacity / anode_cap
    a_masses, t_an = _composite(design, design.anode_mass_fractions, a_active, design.anode_porosity)
    for k, v in a_masses.items():
        mass[f"anode/{k}"] = v
    thick["anode"] = t_an

    rho_sep = design.material(design.separator_material)["density"] if separator_density is None else np.asarray(separator_density, float)
    mass[f"separator/{design.separator_material}"] = L * (1.0 - design.separator_porosity) * rho_sep
    thick["separator"] = L

    if design.pore_filler:
        pores = t_cat * design.cathode_porosity + t_an * design.anode_porosity + L * design.separator_porosity
        mass[f"pores/{design.pore_filler}"] = pores * design.material(design.pore_filler)["density"]

    mass["collector/Al"] = np.asarray(design.al_thickness_m * design.material("Al")["density"])
    mass["collector/Cu"] = np.asarray(design.cu_thickness_m * design.material("Cu")["density"])
    thick["collector/Al"] = np.asarray(design.al_thickness_m)
    thick["collector/Cu"] = np.asarray(design.cu_thickness_m)

    total_mass = sum(mass.values())
    total_thickness = sum(thick.values())
    return {
        "mass": mass, "thickness": thick,
        "areal_capacity": capacity, "areal_energy": energy,
        "total_mass": total_mass, "total_thickness": total_thickness,
        "specific_energy": energy / total_mass,          # J/kg
        "energy_density": energy / total_thickness,      # J/m^3
    }


def energy(design, loading_kg_m2=None, separator_thickness_m=None, separator_density=None):
    """(E_S in Wh/kg, E_V in Wh/L), vectorized.  See `breakdown` for the arguments."""
    b = breakdown(design, loading_kg_m2, separator_thickness_m, separator_density)
    return to_wh_kg(b["specific_energy"]), to_wh_l(b["energy_density"])


def to_wh_kg(j_per_kg):
    return np.asarray(j_per_kg) / J_PER_WH


def to_wh_l(j_per_m3):
    return np.asarray(j_per_m3) / J_PER_WH / 1e3


def break_even_thickness(design, reference, which="gravimetric", loading_kg_m2=None,
                         separator_density=None, xtol_m=1e-12, max_iter=200):
    """Separator thickness (m) at which the design's energy equals `reference`.

    reference: E_S in Wh/kg (which="gravimetric") or E_V in Wh/L (which="volumetric");
    may be an array.  The root of g(L) = 1/E(L) - 1/E_ref is bracketed on [0, L_hi] and found
    by the Illinois (modified regula falsi) method, vectorized over all designs.  Where the
    design cannot reach the reference at any thickness (E(0) < E_ref) the result is NaN.
    """
    idx = 0 if which == "gravimetric" else 1
    m_a = design.cathode_loading_kg_m2 if loading_kg_m2 is None else loading_kg_m2

    def g(L):
        return 1.0 / energy(design, m_a, L, separator_density)[idx] - 1.0 / np.asarray(reference, float)

    shape = np.broadcast(np.asarray(m_a), np.asarray(reference), np.asarray(separator_density if separator_density is not None else 0.0)).shape
    a = np.zeros(shape)
    ga = g(a) * np.ones(shape)
    feasible = ga <= 0.0
    b = np.full(shape, 1e-4)
    gb = g(b) * np.ones(shape)
    for _ in range(60):                       # grow the bracket until g changes sign
        grow = feasible & (gb < 0)
        if not grow.any():
            break
        b = np.where(grow, b * 4.0, b)
        gb = np.where(grow, g(b), gb)
    for _ in range(max_iter):
        denom = np.where(gb != ga, gb - ga, 1.0)
        c = np.where(feasible, b - gb * (b - a) / denom, 0.0)
        gc = g(c) * np.ones(shape)
        flip = gc * gb < 0                    # root lies between b and c
        a, ga = np.where(flip, b, a), np.where(flip, gb, 0.5 * ga)
        b, gb = c, gc
        if np.all(~feasible | (np.abs(b - a) < xtol_m) | (gc == 0)):
            break
    return np.where(feasible, b, np.nan)
