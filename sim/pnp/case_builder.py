"""Turn a validated `pnp` case into a `Problem`: materials, species, cathode potential, BCs.

Carrier model (documented in docs/theory.md): for Li+ in a layer, c_max is the Li site density
(`li_concentration`) and the mobile carriers are a fraction `mobile_fraction` of it (Swift & Qi's
saturation parameter).  Electrons `e` (z = -1) exist where the material lists
`electron_site_concentration`; their bulk is `electron_fraction` of it.  The background makes
every bulk neutral unless given.  The cathode potential U shifts mu0 of Li+ in the cathode by
-e (U - U_ref).
"""
from __future__ import annotations

import numpy as np

from ..case import material_overrides_si
from ..errors import CaseError
from ..materials import load_material
from ..units import thermal_voltage
from .mesh import layered_mesh
from .problem import Problem

BUILTIN_Z = {"Li": 1.0, "e": -1.0}
_DEFAULT_KEYS = {   # species -> (c_max, fraction, mu0, D) material property names
    "Li": ("li_concentration", "mobile_fraction", "mu0_li", "li_diffusivity"),
    "e": ("electron_site_concentration", "electron_fraction", None, "electron_diffusivity"),
}


def species_list(params, file=None):
    """Li, then e when a layer's material lists electronic carriers, then any named species."""
    names = ["Li"]
    for name, layer in params["layers"].items():
        if "electron_site_concentration" in _material(params, layer, file, name) and "e" not in names:
            names.append("e")
    for layer in params["layers"].values():
        for s in layer["species"]:
            if s not in names:
                names.append(s)
    for s in params["species"]:
        if s not in names:
            names.append(s)
    return names


def _material(params, layer, file, name):
    if layer.get("material") is None:
        return {}
    overrides = material_overrides_si(params["materials"])
    return load_material(layer["material"], overrides.get(layer["material"]), file=file,
                         key_prefix=f"layers.{name}.material")


def cathode_layer(params):
    return params["cathode"].get("layer") or next(iter(params["layers"]))


def ocv_table(params, file=None):
    """(x_Li, U) of the cathode: the case's ocv_x / ocv_V, else the material's `ocv` table."""
    cat = params["cathode"]
    if cat.get("ocv_x") is not None and cat.get("ocv_V") is not None:
        return np.array(cat["ocv_x"]), np.array(cat["ocv_V"])
    from ..materials import material_table
    name = cathode_layer(params)
    table = material_table(params["layers"][name].get("material"), "ocv")
    if table is None:
        raise CaseError(file, "cathode.ocv_x", None, "x_li needs an OCV table: give cathode.ocv_x and "
                        "cathode.ocv_V, or use a cathode material that has one")
    return np.array(table["x"], float), np.array(table["V"], float)


def cathode_potential(params, file=None):
    """U (V) of the case, or None when it is the material's reference (no shift)."""
    cat = params["cathode"]
    if cat.get("x_li") is not None:
        x, V = ocv_table(params, file)
        return float(np.interp(cat["x_li"], x, V))
    return cat.get("potential_V")


def build_layers(params, file=None, potential_V=None):
    """Resolved per-layer data: eps_r, background and per-species (present, c_max, c_bulk, mu0, D)."""
    names = species_list(params, file)
    zs = {}
    for s in names:
        if s in params["species"]:
            zs[s] = params["species"][s]["z"]
        elif s in BUILTIN_Z:
            zs[s] = BUILTIN_Z[s]
        else:
            raise CaseError(file, f"species.{s}.z", None, "unknown species: give its charge number")
    cat_name = cathode_layer(params)
    out = []
    for name, layer in params["layers"].items():
        key = f"layers.{name}"
        mat = _material(params, layer, file, name)
        eps_r = layer.get("eps_r") if layer.get("eps_r") is not None else mat.get("eps_r")
        if eps_r is None:
            raise CaseError(file, f"{key}.eps_r", None, "required: the layer has no material with eps_r")
        sp = {}
        for s in names:
            given = layer["species"].get(s, {})
            keys = _DEFAULT_KEYS.get(s, (None, None, None, None))
            default_present = keys[0] is not None and keys[0] in mat
            present = given.get("present", default_present if s in _DEFAULT_KEYS else bool(given))
            if not present:
                continue
            skey = f"{key}.species.{s}"
            c_max = given.get("c_max_mol_m3", mat.get(keys[0]) if keys[0] else None)
            if c_max is None:
                raise CaseError(file, f"{skey}.c_max_mol_m3", None, "required (no material default)")
            frac = mat.get(keys[1]) if keys[1] else None
            c_bulk = given.get("c_bulk_mol_m3", frac * c_max if frac is not None else None)
            if c_bulk is None:
                raise CaseError(file, f"{skey}.c_bulk_mol_m3", None, "required (the material has no mobile fraction)")
            if not c_bulk < c_max:
                raise CaseError(file, f"{skey}.c_bulk_mol_m3", c_bulk, f"must be below c_max = {c_max:g} mol/m^3")
            mu0 = given.get("mu0_eV", mat.get(keys[2], 0.0) if keys[2] else 0.0)
            if s == "Li" and name == cat_name and potential_V is not None:
                U_ref = mat.get("reference_potential")
                if U_ref is None:
                    raise CaseError(file, f"{key}.material", layer.get("material"),
                                    "the cathode material needs reference_potential for a cathode potential")
                mu0 = mu0 - (potential_V - U_ref)
            D = given.get("D_m2_s", mat.get(keys[3]) if keys[3] else None)
            if D is None:
                raise CaseError(file, f"{skey}.D_m2_s", None, "required (no material default)")
            sp[s] = dict(c_max=c_max, c_bulk=c_bulk, mu0=mu0, D=D)
        if not sp:
            raise CaseError(file, key, name, "no mobile species in this layer")
        bg = layer.get("background_mol_m3")
        if bg is None:
            bg = sum(zs[s] * v["c_bulk"] for s, v in sp.items())
        out.append(dict(name=name, thickness=layer["thickness_m"], eps_r=eps_r, background=bg, species=sp))
    return names, zs, out


def build_problem(params, file=None, potential_V=None):
    """The Problem of a case at cathode potential `potential_V` (None: the case's own)."""
    if potential_V is None:
        potential_V = cathode_potential(params, file)
    names, zs, layers = build_layers(params, file, potential_V)
    T = params["temperature_K"]
    V_T = thermal_voltage(T)
    from ..schemas.pnp import layer_mesh_controls
    h_min, h_max, growth = zip(*(layer_mesh_controls(params, L["name"]) for L in layers))
    mesh = layered_mesh([L["thickness"] for L in layers], h_min, h_max, growth)
    n, S = mesh.n, len(names)
    lay = mesh.layer_of_cell
    present = np.zeros((S, n), bool)
    c_max = np.ones((S, n))
    c_bulk = np.zeros((S, n))
    mu0 = np.zeros((S, n))
    D = np.ones((S, n))
    for k, L in enumerate(layers):
        cells = lay == k
        for s, name in enumerate(names):
            if name in L["species"]:
                v = L["species"][name]
                present[s, cells] = True
                c_max[s, cells], c_bulk[s, cells] = v["c_max"], v["c_bulk"]
                mu0[s, cells], D[s, cells] = v["mu0"] / V_T, v["D"]
    eps_r = np.array([L["eps_r"] for L in layers])[lay]
    c_bg = np.array([L["background"] for L in layers])[lay]
    z = np.array([zs[s] for s in names])
    th = np.where(present, c_bulk / c_max, 0.5)
    odds = np.log(th) - np.log1p(-th)
    # continuation start: mu0 such that the bulk eta of every species is uniform with psi = 0
    mu0_start = mu0.copy()
    for s in range(S):
        idx = np.flatnonzero(present[s])
        if idx.size:
            ref = idx[-1]
            mu0_start[s, idx] = mu0[s, ref] + odds[s, ref] - odds[s, idx]
    psi_bc = np.full(2, np.nan)
    c_bc = np.full((2, S), np.nan)
    closed = params["ensemble"] == "closed"
    if not closed:
        psi_bc[:] = [contact_potential(present, z, mu0, odds, names), 0.0]
        for b, k in ((0, 0), (1, n - 1)):
            c_bc[b] = np.where(present[:, k], c_bulk[:, k], np.nan)
    p = Problem(mesh=mesh, temperature_K=T, eps_r=eps_r, c_bg=c_bg, species=names, z=z, present=present,
                c_max=c_max, c_bulk=c_bulk, mu0=mu0, D=D, psi_bc=psi_bc, c_bc=c_bc, closed=closed,
                mu0_start=mu0_start, layer_names=[L["name"] for L in layers],
                kinetics=_kinetics(params, mesh, present, names, file))
    return p


def _kinetics(params, mesh, present, names, file):
    """Butler-Volmer settings of the Problem, or None (ideal interfaces)."""
    kin = params["kinetics"]
    if kin.get("exchange_current_density_mA_cm2") is None:
        return None
    j = mesh.layer_faces[kin["interface"] + 1] - 1        # interior face between cells j and j + 1
    s = names.index("Li")
    if not (present[s, j] and present[s, j + 1]):
        raise CaseError(file, "kinetics.interface", kin["interface"], "Li+ must exist on both sides")
    return dict(face=int(j), species=s, i0=kin["exchange_current_density_mA_cm2"] * 10.0, alpha=kin["alpha"])


def galvanostatic_problem(p):
    """The problem's boundary conditions for transients under current: at x = 0 Li+ enters at a
    prescribed flux (or from a potentiostatic reservoir), every other species is blocked and the
    field is zero; at x = L a reservoir holds the bulk concentrations and psi = 0.  Regions not
    connected to the reservoir (the cathode's electrons) keep their inventory at equilibrium."""
    from dataclasses import replace
    c_bc = np.full_like(p.c_bc, np.nan)
    c_bc[1] = np.where(p.present[:, -1], p.c_bulk[:, -1], np.nan)
    return replace(p, psi_bc=np.array([np.nan, 0.0]), c_bc=c_bc, closed=True)


def contact_potential(present, z, mu0, odds, names):
    """psi(left end) - psi(right end) (kT/e) that makes eta of the spanning species uniform.

    Species present at both outer cells must agree; none spanning gives 0.
    """
    values = []
    for s in range(len(z)):
        if present[s, 0] and present[s, -1] and np.all(present[s]):
            values.append((mu0[s, -1] + odds[s, -1] - mu0[s, 0] - odds[s, 0]) / z[s])
    if not values:
        return 0.0
    if max(values) - min(values) > 1e-8 * max(1.0, abs(values[0])):
        raise CaseError(None, "layers", [names[s] for s in range(len(z))],
                        "the bulk values of the species spanning the stack imply different contact potentials")
    return values[0]
