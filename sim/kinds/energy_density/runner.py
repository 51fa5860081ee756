"""Runner of `energy_density` cases: reference cell, one design, and the Fig. 3 b-f data sets."""
import numpy as np

from sim.units import SI

from sim.case import material_overrides_si
from sim.io import Q
from sim.stack import energy as en



def _design(p, overrides, name):
    from dataclasses import replace
    d = en.preset_design(p["preset"], sse=p.get("sse"), loading_mg_cm2=p.get("loading_mg_cm2"),
                         separator_thickness_um=p.get("separator_thickness_um"),
                         collectors=p.get("collectors"), material_overrides=overrides, name=name)
    changes = {k: p[k] for k in ("cathode_porosity", "anode_porosity", "separator_porosity") if p.get(k) is not None}
    if p.get("cathode_mass_fractions"):
        changes["cathode_mass_fractions"] = dict(p["cathode_mass_fractions"])
    return replace(d, **changes) if changes else d


def _breakdown_q(prefix, design):
    b = en.breakdown(design)
    out = {f"{prefix}/specific_energy": Q(float(en.to_wh_kg(b["specific_energy"])), "Wh/kg"),
           f"{prefix}/energy_density": Q(float(en.to_wh_l(b["energy_density"])), "Wh/L"),
           f"{prefix}/areal_capacity": Q(float(b["areal_capacity"]) / 3.6e4, "mAh/cm^2"),
           f"{prefix}/total_mass": Q(float(b["total_mass"]) * 100.0, "mg/cm^2"),
           f"{prefix}/total_thickness": Q(float(b["total_thickness"]) / SI["um"], "um")}
    names = list(b["mass"])
    m, t = (f"{prefix}/breakdown/mass_component",), (f"{prefix}/breakdown/thickness_component",)   # dims (sim.io.Q)
    out[f"{prefix}/breakdown/mass_component"] = Q(np.array(names), "", dims=m)
    out[f"{prefix}/breakdown/mass"] = Q(np.array([float(b["mass"][k]) * 100.0 for k in names]), "mg/cm^2", dims=m)
    tnames = list(b["thickness"])
    out[f"{prefix}/breakdown/thickness_component"] = Q(np.array(tnames), "", dims=t)
    out[f"{prefix}/breakdown/thickness"] = Q(np.array([float(b["thickness"][k]) / SI["um"] for k in tnames]), "um",
                                             dims=t)
    return out


def run(params, case_dir=None):
    overrides = material_overrides_si(params["materials"])
    ref_p = params["reference"]
    ref_design = _design(ref_p, overrides, "reference")
    es_ref, ev_ref = (float(x) for x in en.energy(ref_design))
    es_ref = ref_p.get("specific_energy_Wh_kg") or es_ref
    ev_ref = ref_p.get("energy_density_Wh_L") or ev_ref
    out = _breakdown_q("energy/reference_lib", ref_design)
    out["energy/reference_lib/specific_energy"] = Q(es_ref, "Wh/kg", {"source": "given" if ref_p.get("specific_energy_Wh_kg") else "computed"})
    out["energy/reference_lib/energy_density"] = Q(ev_ref, "Wh/L", {"source": "given" if ref_p.get("energy_density_Wh_L") else "computed"})

    cell = _design(params["cell"], overrides, "cell")
    out.update(_breakdown_q("energy/cell", cell))
    out["energy/cell/bet_gravimetric"] = Q(float(en.break_even_thickness(cell, es_ref)) / SI["um"], "um")
    out["energy/cell/bet_volumetric"] = Q(float(en.break_even_thickness(cell, ev_ref, "volumetric")) / SI["um"], "um")

    f3 = params["fig3"]
    if not f3["enabled"]:
        return out
    n = f3["points"]
    L = np.linspace(*f3["separator_range_um"], n)
    loads = np.linspace(*f3["loading_range_mg_cm2"], n)
    for sse in f3["sse"]:
        d = en.preset_design("ASSLIB", sse=sse, loading_mg_cm2=f3["loading_mg_cm2"], material_overrides=overrides)
        es, ev = en.energy(d, separator_thickness_m=L * SI["um"])
        g = f"energy/fig3b/{sse}"
        on_L = (f"{g}/separator_thickness",)
        out[f"{g}/separator_thickness"] = Q(L, "um", dims=on_L)
        out[f"{g}/specific_energy"] = Q(es, "Wh/kg", dims=on_L)
        out[f"{g}/energy_density"] = Q(ev, "Wh/L", dims=on_L)
        out[f"{g}/bet_gravimetric"] = Q(float(en.break_even_thickness(d, es_ref)) / SI["um"], "um")
        out[f"{g}/bet_volumetric"] = Q(float(en.break_even_thickness(d, ev_ref, "volumetric")) / SI["um"], "um")
        g = f"energy/fig3c/{sse}"
        on_m = (f"{g}/loading",)
        out[f"{g}/loading"] = Q(loads, "mg/cm^2", dims=on_m)
        out[f"{g}/bet_gravimetric"] = Q(en.break_even_thickness(d, es_ref, loading_kg_m2=loads * SI["mg/cm^2"]) / SI["um"], "um",
                                        {"note": "NaN: the design cannot reach the reference at any thickness"}, on_m)
        out[f"{g}/bet_volumetric"] = Q(en.break_even_thickness(d, ev_ref, "volumetric", loading_kg_m2=loads * SI["mg/cm^2"]) / SI["um"], "um",
                                       {"note": "NaN: the design cannot reach the reference at any thickness"}, on_m)
    for t in f3["fig3de_separator_um"]:
        d = en.preset_design("ASSLIB", sse="LLZO", material_overrides=overrides)
        es, ev = en.energy(d, loading_kg_m2=loads * SI["mg/cm^2"], separator_thickness_m=t * SI["um"])
        g = f"energy/fig3de/{t:g}um"
        on_m = (f"{g}/loading",)
        out[f"{g}/loading"] = Q(loads, "mg/cm^2", dims=on_m)
        out[f"{g}/specific_energy"] = Q(es, "Wh/kg", dims=on_m)
        out[f"{g}/energy_density"] = Q(ev, "Wh/L", dims=on_m)
        out[f"{g}/separator_thickness"] = Q(t, "um")
    for cc in ("standard", "modified"):
        d = en.preset_design("ASSLIB", sse="LLZO", separator_thickness_um=f3["fig3f_separator_um"],
                             collectors=cc, material_overrides=overrides)
        es, ev = en.energy(d, loading_kg_m2=loads * SI["mg/cm^2"])
        g = f"energy/fig3f/{cc}"
        on_m = (f"{g}/loading",)
        out[f"{g}/loading"] = Q(loads, "mg/cm^2", dims=on_m)
        out[f"{g}/specific_energy"] = Q(es, "Wh/kg", dims=on_m)
        out[f"{g}/energy_density"] = Q(ev, "Wh/L", dims=on_m)
    out["energy/fig3f/separator_thickness"] = Q(f3["fig3f_separator_um"], "um")
    return out
