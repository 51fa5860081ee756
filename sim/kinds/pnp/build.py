"""Turn a validated `pnp` case into a `Problem`: materials, species, cathode potential, BCs.

Carrier models (docs/theory.md, `carriers.py`): a Frenkel pair Li_i* / V_Li' on alpha N sites
each (default for the shipped electrolytes and cathode), or a single Li+ carrier on a fixed
background.  Electrons `e` (z = -1) exist where the material lists
`electron_site_concentration`; their bulk is `electron_fraction` of it.  The background makes
every bulk neutral unless given.  Transport: D from the material's conductivity by
Nernst-Einstein.  The cathode potential U moves the cathode's Li+ level by the ionic part of
-e (U - U_ref) (`cathode_level_shift`).
"""
from __future__ import annotations

import copy
import json
import threading

import numpy as np

from sim.case import material_overrides_si
from sim.errors import CaseError
from sim.materials import load_material, material_field, material_table
from sim.units import AVOGADRO, thermal_voltage, to_si
from sim.pnp.carriers import (bulk_conductivity, cathode_li_level_shift, diffusivities_from_conductivity, frenkel_pair,
                              default_mobility, ionic_species, li_level_signs, set_mobility, x_of_potential)
from sim.pnp import analytic as an
from sim.pnp.laws import MOBILITY_NAMES
from sim.pnp.mesh import double_layer_mesh, layered_mesh
from sim.pnp.problem import Problem, Reaction

BUILTIN_Z = {"Li": 1.0, "e": -1.0, "Li_i": 1.0, "V_Li": -1.0}
SIZE_EXCLUSION = MOBILITY_NAMES.index("size_exclusion")
CONDUCTIVITY_MISMATCH = 0.10      # relative disagreement of sigma and the D given with it


def _material(params, layer, file, name):
    if layer.get("material") is None:
        return {}
    overrides = material_overrides_si(params["materials"])
    return load_material(layer["material"], overrides.get(layer["material"]), file=file,
                         key_prefix=f"layers.{name}.material")


def carrier_model(layer, case_materials=None):
    """'frenkel' or 'single': the layer's `carriers`, else its material's (database or defined in
    the case), else 'frenkel' when the layer gives Frenkel data, else 'single'."""
    if layer.get("carriers") is not None:
        return layer["carriers"]
    name = layer.get("material")
    if name is not None:
        own = (case_materials or {}).get(name, {}).get("carriers")
        if own is not None:
            return own
        try:
            return material_field(name, "carriers", "single")
        except KeyError:
            pass
    return "frenkel" if layer.get("frenkel") else "single"


def species_list(params, file=None, potential_V=None):
    """Names of the species of the case, in order of first appearance."""
    return build_layers(params, file, potential_V)[0]


def layer_mesh_controls(params, name):
    """(h_min, h_max, growth) of one layer: its own values, else the [mesh] defaults."""
    layer, mesh = params["layers"][name], params["mesh"]
    return tuple(layer.get(k) if layer.get(k) is not None else mesh[k] for k in ("h_min_m", "h_max_m", "growth"))


def cathode_layer(params):
    return params["cathode"].get("layer") or next(iter(params["layers"]))


def ocv_table(params, file=None):
    """(x_Li, U) of the cathode: the case's ocv_x / ocv_V, else the material's `ocv` table."""
    cat = params["cathode"]
    if cat.get("ocv_x") is not None and cat.get("ocv_V") is not None:
        return np.array(cat["ocv_x"]), np.array(cat["ocv_V"])
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


def cathode_level_shift(params, mat, potential_V, file=None, key="cathode"):
    """Change of the cathode's Li+ level (eV) at cathode potential U (see
    `carriers.cathode_li_level_shift`): a fraction of -e (U - U_ref), or the lattice-gas part of
    the Li chemical potential, with x from the OCV table."""
    U_ref = mat.get("reference_potential")
    if U_ref is None:
        raise CaseError(file, f"{key}.material", None,
                        "the cathode material needs reference_potential for a cathode potential")
    f = params["cathode"].get("ionic_fraction")
    T = params["temperature_K"]
    if f is not None:
        return cathode_li_level_shift(potential_V, None, U_ref, None, T, ionic_fraction=f)
    x_tab, V_tab = ocv_table(params, file)
    if not min(V_tab) <= potential_V <= max(V_tab):
        raise CaseError(file, "cathode.potential_V", potential_V,
                        f"outside the OCV table ({min(V_tab):g}-{max(V_tab):g} V), which gives x_Li for the "
                        "lattice-gas split: extend the table or give cathode.ionic_fraction")
    x = x_of_potential(potential_V, x_tab, V_tab)
    x_ref = x_of_potential(U_ref, x_tab, V_tab)
    if not (0.0 < x < 1.0 and 0.0 < x_ref < 1.0):
        inner = [v for xv, v in zip(x_tab, V_tab) if 0.0 < xv < 1.0]
        raise CaseError(file, "cathode.potential_V", potential_V,
                        f"the lattice-gas cathode needs 0 < x_Li < 1: keep U within {min(inner):g}-{max(inner):g} V "
                        "of the OCV table, or give cathode.ionic_fraction")
    return cathode_li_level_shift(potential_V, x, U_ref, x_ref, T)


def _frenkel_species(params, layer, mat, file, key, li_level):
    """Li_i* and V_Li' of a layer: case values ([layers.<name>.frenkel]), else the material's."""
    fr = layer.get("frenkel") or {}
    T = params["temperature_K"]

    def get(case_key, prop, required=True):
        v = fr.get(case_key)
        if v is None:
            v = mat.get(prop)
        if v is None and required:
            raise CaseError(file, f"{key}.frenkel.{case_key}", None,
                            f"required for carriers = 'frenkel' (the material has no {prop})")
        return v
    N = fr.get("site_density_cm3")
    N = N * 1e6 / AVOGADRO if N is not None else get("site_density_cm3", "defect_site_density")
    alpha = get("saturation_alpha", "saturation_alpha")
    occ = fr.get("bulk_occupation")
    E = None if occ is not None else get("formation_energy_eV", "frenkel_energy")
    sp = frenkel_pair(N, alpha, E, li_level, T, fr.get("D_interstitial_m2_s"), fr.get("D_vacancy_m2_s"),
                      bulk_occupation=occ)
    _mobility_choices(sp, layer, file, key, alpha)
    sp = _transport(sp, fr.get("vacancy_diffusivity_ratio", mat.get("vacancy_diffusivity_ratio", 1.0)),
                    fr.get("conductivity_S_m"), mat, T, file, key, layer)
    rate = fr.get("rate_constant_1_s")
    if rate is None:
        r_c = fr.get("capture_radius_m", mat.get("frenkel_capture_radius"))
        rate = 0.0 if r_c is None else frenkel_rate_constant(r_c, sp["Li_i"]["D"], sp["V_Li"]["D"], sp["Li_i"]["c_max"])
    return sp, rate


def frenkel_rate_constant(capture_radius_m, D_i, D_v, c_sites):
    """Diffusion-limited recombination (Waite, Phys. Rev. 107 (1957) 463): r = 4 pi r_c (D_i + D_v) N_A c_i c_v,
    which is the k c_ref theta_i theta_v of `laws.lattice_mass_action` with c_ref = alpha N for
    k = 4 pi r_c (D_i + D_v) N_A alpha N (1/s)."""
    return 4.0 * np.pi * capture_radius_m * (D_i + D_v) * AVOGADRO * c_sites


def _mobility_choices(sp, layer, file, key, alpha=None):
    """The layer's `species.<name>.mobility` choices over the carriers' default laws (before the
    diffusivities follow from sigma: Nernst-Einstein depends on the law)."""
    for name, v in sp.items():
        law = layer["species"].get(name, {}).get("mobility")
        if law is not None:
            try:
                set_mobility(v, name, law, alpha)
            except ValueError as e:
                raise CaseError(file, f"{key}.species.{name}.mobility", law, str(e).split(": ", 1)[1]) from None


def arrhenius(value, Ea_eV, T, T_ref):
    """value (T) = value(T_ref) exp(-(E_a / k) (1/T - 1/T_ref)): the material's sigma (or D) at T."""
    if Ea_eV is None or T_ref is None:
        return value
    return value * np.exp(-(Ea_eV / thermal_voltage(1.0)) * (1.0 / T - 1.0 / T_ref))


def _transport(sp, ratio, sigma_case, mat, T, file, key, layer):
    """Diffusivities of the ionic carriers: given, else from sigma (the case's, else the
    material's) by Nernst-Einstein, else the material's li_diffusivity.  A D given next to a sigma
    that it contradicts by more than 10 % is an error naming the material.  The material's sigma
    and D follow Arrhenius with its conductivity_activation_energy from reference_temperature."""
    Ea, T_ref = mat.get("conductivity_activation_energy"), mat.get("reference_temperature")
    sigma = sigma_case
    if sigma is None and mat.get("conductivity") is not None:
        sigma = arrhenius(mat["conductivity"], Ea, T, T_ref)
    D_material = mat.get("li_diffusivity")
    if D_material is not None:
        D_material = arrhenius(D_material, Ea, T, T_ref)
    given = all(v["D"] is not None for v in sp.values())
    if not given and sigma is not None:
        return diffusivities_from_conductivity(sp, sigma, T, ratio)
    if not given:
        if D_material is None:
            raise CaseError(file, f"{key}.frenkel.D_interstitial_m2_s", None,
                            "no diffusivity: give D_* or a conductivity (the material has neither)")
        sp = {k: dict(v, D=D_material * (ratio if k == "V_Li" else 1.0)) for k, v in sp.items()}
    elif sigma is not None:
        model = bulk_conductivity(sp, T)
        if abs(model / sigma - 1) > CONDUCTIVITY_MISMATCH:
            raise CaseError(file, f"{key}.frenkel", layer.get("material"),
                            f"the diffusivities give sigma = {model:.3g} S/m but the conductivity is "
                            f"{sigma:.3g} S/m ({model / sigma:.2g}x): give one of them")
    return sp


def build_layers(params, file=None, potential_V=None):
    """Resolved per-layer data: eps_r, background and per-species (c_max, c_bulk, mu0 (eV), D); the
    cathode's Li+ level at cathode potential `potential_V` (None: the material's reference level)."""
    cat_name = cathode_layer(params)
    names, zs, out = [], {}, []
    T = params["temperature_K"]
    for name, layer in params["layers"].items():
        key = f"layers.{name}"
        mat = _material(params, layer, file, name)
        eps_r = layer.get("eps_r") if layer.get("eps_r") is not None else mat.get("eps_r")
        if eps_r is None:
            raise CaseError(file, f"{key}.eps_r", None, "required: the layer has no material with eps_r")
        li_level = mat.get("mu0_li", 0.0)
        if name == cat_name and potential_V is not None and params["surface"].get("bulk_potential_V") is None:
            li_level += cathode_level_shift(params, mat, potential_V, file, key)
        model = carrier_model(layer, params["materials"])
        rate = 0.0
        if model == "frenkel":
            sp, rate = _frenkel_species(params, layer, mat, file, key, li_level)
        else:
            sp = {}
            given = layer["species"].get("Li", {})
            if given.get("present", bool(given) or "li_concentration" in mat):
                c_max = given.get("c_max_mol_m3", mat.get("li_concentration"))
                frac = mat.get("mobile_fraction")
                if c_max is None:
                    raise CaseError(file, f"{key}.species.Li.c_max_mol_m3", None, "required (no material default)")
                c_bulk = given.get("c_bulk_mol_m3", frac * c_max if frac is not None else None)
                if c_bulk is None:
                    raise CaseError(file, f"{key}.species.Li.c_bulk_mol_m3", None, "required (the material has no mobile fraction)")
                if not c_bulk < c_max:
                    raise CaseError(file, f"{key}.species.Li.c_bulk_mol_m3", c_bulk, f"must be below c_max = {c_max:g} mol/m^3")
                sp = {"Li": dict(z=1.0, c_max=c_max, c_bulk=c_bulk, mu0_eV=given.get("mu0_eV", li_level),
                                 D=given.get("D_m2_s"), **default_mobility("Li"))}
                _mobility_choices(sp, layer, file, key)
                sp = _transport(sp, 1.0, None, mat, T, file, key, layer)
        if ("electron_site_concentration" in mat or layer["species"].get("e")) and \
                layer["species"].get("e", {}).get("present", True):
            given = layer["species"].get("e", {})
            c_max = given.get("c_max_mol_m3", mat.get("electron_site_concentration"))
            if c_max is None:
                raise CaseError(file, f"{key}.species.e.c_max_mol_m3", None, "required (the material has no electrons)")
            sp["e"] = dict(z=-1.0, c_max=c_max, c_bulk=given.get("c_bulk_mol_m3", mat.get("electron_fraction", 0.1) * c_max),
                           mu0_eV=given.get("mu0_eV", 0.0), D=given.get("D_m2_s", mat.get("electron_diffusivity")),
                           **default_mobility("e"))
            _mobility_choices({"e": sp["e"]}, layer, file, key)
        for s, given in layer["species"].items():       # further species, or values of built-in ones
            if s in ("Li", "e") or not given.get("present", True):
                continue
            z = params["species"].get(s, {}).get("z", BUILTIN_Z.get(s))
            if z is None:
                raise CaseError(file, f"species.{s}.z", None, "unknown species: give its charge number")
            base = sp.get(s, {})
            v = dict(z=z, c_max=given.get("c_max_mol_m3", base.get("c_max")), c_bulk=given.get("c_bulk_mol_m3", base.get("c_bulk")),
                     mu0_eV=given.get("mu0_eV", base.get("mu0_eV", 0.0)), D=given.get("D_m2_s", base.get("D")),
                     mobility=base.get("mobility", "size_exclusion"), mobility_param=base.get("mobility_param", 0.0))
            if s not in sp:
                _mobility_choices({s: v}, layer, file, key)
            for k2, case_key in (("c_max", "c_max_mol_m3"), ("c_bulk", "c_bulk_mol_m3"), ("D", "D_m2_s")):
                if v[k2] is None:
                    raise CaseError(file, f"{key}.species.{s}.{case_key}", None, "required (no material default)")
            if not v["c_bulk"] < v["c_max"]:
                raise CaseError(file, f"{key}.species.{s}.c_bulk_mol_m3", v["c_bulk"], f"must be below c_max = {v['c_max']:g} mol/m^3")
            sp[s] = v
        if not sp:
            raise CaseError(file, key, name, "no mobile species in this layer")
        for s, v in sp.items():
            if v["D"] is None:
                raise CaseError(file, f"{key}.species.{s}.D_m2_s", None, "required (no material default)")
            zs[s] = v["z"]
            if s not in names:
                names.append(s)
        bg = layer.get("background_mol_m3")
        if bg is None:
            bg = sum(v["z"] * v["c_bulk"] for v in sp.values())
        out.append(dict(name=name, thickness=layer.get("thickness_m"), eps_r=eps_r, background=bg, species=sp,
                        model=model, material=layer.get("material"), frenkel_rate=rate))
    return names, zs, out


class PnpModel:
    """A `pnp` case turned into a model once: its layers with their materials resolved, its species and its
    mesh.  `problem(U)` gives the discrete Problem at cathode potential U, changing only what depends on U:
    the cathode's Li+ level (the mu0 of its ionic carriers, `cathode_level_shift`), the continuation start
    and the contact potential.  `model_of` keeps the models of recent cases, so validation and the run (and
    every point of a potential sweep) share one."""

    def __init__(self, params, file=None):
        self.params, self.file = params, file
        self.names, self.zs, self.layers = build_layers(params, file, potential_V=None)
        self.cathode = cathode_layer(params)
        self.mesh = self._mesh()

    def _mesh(self):
        params, layers, file = self.params, self.layers, self.file
        phi0 = params["surface"].get("bulk_potential_V")
        if phi0 is not None and layers[0]["thickness"] is None:
            return _semi_infinite_mesh(params, layers[0], phi0, file)
        for L in layers:
            if L["thickness"] is None:
                raise CaseError(file, f"layers.{L['name']}.thickness_m", None,
                                "required (only the one layer of a [surface] case may be semi-infinite)")
        h_min, h_max, growth = zip(*(layer_mesh_controls(params, L["name"]) for L in layers))
        return layered_mesh([L["thickness"] for L in layers], h_min, h_max, growth, grade_outer=(outer_graded(params),) * 2)

    def level_shift(self, potential_V):
        """The cathode's Li+ level at potential U against its reference (eV); 0 for U = None or a
        [surface] case.  Raises CaseError where the OCV table cannot give it."""
        params = self.params
        if potential_V is None or params["surface"].get("bulk_potential_V") is not None:
            return 0.0
        layer = params["layers"][self.cathode]
        mat = _material(params, layer, self.file, self.cathode)
        return cathode_level_shift(params, mat, potential_V, self.file, f"layers.{self.cathode}")

    def problem(self, potential_V=None):
        """The Problem at cathode potential `potential_V` (None: the case's own)."""
        if potential_V is None:
            potential_V = cathode_potential(self.params, self.file)
        shift = self.level_shift(potential_V)
        layers = self.layers
        if shift:
            signs = dict(zip(self.names, li_level_signs(self.names)))
            layers = [dict(L, species={s: dict(v, mu0_eV=v["mu0_eV"] + signs[s] * shift) for s, v in L["species"].items()})
                      if L["name"] == self.cathode else L for L in layers]
        return _assemble(self.params, self.names, self.zs, layers, self.mesh, self.file)


def outer_graded(params):
    """Whether the mesh is graded toward the outer faces (`mesh.grade_outer`; auto: with blocking or reversible
    impedance electrodes, where double layers form at both ends, and in a single-layer case)."""
    choice = params["mesh"].get("grade_outer", "auto")
    if choice != "auto":
        return choice == "yes"
    electrodes = params["impedance"].get("electrodes", "li_exchanging") if params["impedance"].get("temperatures_K") else None
    return electrodes in ("blocking", "reversible") or len(params["layers"]) == 1


def model_of(params, file=None):
    """The `PnpModel` of a case's parameters, built once per distinct parameter set (kept for the last
    MODELS_KEPT sets, compared by content, so a dict changed in place is built anew)."""
    key = json.dumps(params, sort_keys=True, default=repr)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
    if model is None:
        model = PnpModel(copy.deepcopy(params), file)
        with _MODELS_LOCK:
            if len(_MODELS) >= MODELS_KEPT:
                _MODELS.pop(next(iter(_MODELS)))
            _MODELS[key] = model
    return model


MODELS_KEPT = 16
_MODELS = {}
_MODELS_LOCK = threading.Lock()


def build_problem(params, file=None, potential_V=None):
    """The Problem of a case at cathode potential `potential_V` (None: the case's own), from its model."""
    return model_of(params, file).problem(potential_V)


def _assemble(params, names, zs, layers, mesh, file=None):
    """Spread resolved layers onto the mesh's cells: the Problem with its boundary conditions."""
    T = params["temperature_K"]
    V_T = thermal_voltage(T)
    phi0 = params["surface"].get("bulk_potential_V")
    n, S = mesh.n, len(names)
    lay = mesh.layer_of_cell
    # per layer (S, K) tables, spread to the cells by the layer index (the same values as cell by cell)
    present, c_max, c_bulk, mu0, D, mob, mob_param = (
        np.full((S, len(layers)), fill, dtype) for fill, dtype in
        ((False, bool), (1.0, float), (0.0, float), (0.0, float), (1.0, float), (SIZE_EXCLUSION, int), (0.0, float)))
    for k, L in enumerate(layers):
        for s, name in enumerate(names):
            if name in L["species"]:
                v = L["species"][name]
                present[s, k] = True
                c_max[s, k], c_bulk[s, k] = v["c_max"], v["c_bulk"]
                mu0[s, k], D[s, k] = v["mu0_eV"] / V_T, v["D"]
                mob[s, k] = MOBILITY_NAMES.index(v.get("mobility", "size_exclusion"))
                mob_param[s, k] = v.get("mobility_param", 0.0)
    present, c_max, c_bulk, mu0, D, mob, mob_param = (a[:, lay] for a in (present, c_max, c_bulk, mu0, D, mob, mob_param))
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
    if phi0 is not None:          # electrode surface at x = 0, blocking for every species
        psi_bc[:] = [-phi0 / V_T, 0.0]
        c_bc[1] = np.where(present[:, -1], c_bulk[:, -1], np.nan)
        closed = False
    elif not closed:
        psi_bc[:] = [contact_potential(present, z, mu0, odds, names), 0.0]
        for b, k in ((0, 0), (1, n - 1)):
            c_bc[b] = np.where(present[:, k], c_bulk[:, k], np.nan)
    reactions = []
    rates = np.array([L.get("frenkel_rate", 0.0) for L in layers])[lay]
    if "Li_i" in names and "V_Li" in names and np.any(rates > 0):
        i, v = names.index("Li_i"), names.index("V_Li")
        nu = np.zeros(S)
        nu[[i, v]] = 1.0
        both = present[i] & present[v]
        reactions.append(Reaction("frenkel", nu, np.where(both, rates, 0.0), np.where(both, c_max[i], 1.0)))
    p = Problem(mesh=mesh, temperature_K=T, eps_r=eps_r, c_bg=c_bg, species=names, z=z, present=present,
                c_max=c_max, c_bulk=c_bulk, mu0=mu0, D=D, psi_bc=psi_bc, c_bc=c_bc, closed=closed,
                mu0_start=mu0_start, layer_names=[L["name"] for L in layers], mobility_code=mob,
                mobility_param=mob_param, reactions=reactions,
                kinetics=_kinetics(params, mesh, present, names, file))
    return p


def _semi_infinite_mesh(params, layer, phi0, file):
    """Mesh of a semi-infinite one-sided layer from its screening lengths (`double_layer_mesh`):
    the saturated width x1 = |Q| / (F alpha N) of the Frenkel first integral, the saturated
    screening length and the bulk screening length."""
    if layer["model"] != "frenkel":
        raise CaseError(file, f"layers.{layer['name']}.thickness_m", None,
                        "required: a semi-infinite layer needs carriers = 'frenkel'")
    sp = layer["species"]["Li_i"]
    T = params["temperature_K"]
    alpha_N = sp["c_max"]
    theta_b = sp["c_bulk"] / sp["c_max"]
    E = thermal_voltage(T) * np.log((1 - theta_b) / theta_b)        # E_f0 + kT ln(alpha), here with alpha = 1
    args = (phi0, alpha_N, E, layer["eps_r"], 1.0, T)
    x1 = an.frenkel_saturated_width(*args)
    lam_s = an.saturated_screening_length(layer["eps_r"], alpha_N, 1.0, T)
    lam_b = an.frenkel_bulk_screening_length(layer["eps_r"], alpha_N, E, 1.0, T)
    return double_layer_mesh(x1, min(lam_s, lam_b), lam_b)


def _kinetics(params, mesh, present, names, file):
    """Butler-Volmer settings of the Problem, or None (ideal interfaces).  Every ionic carrier
    that exists on both sides crosses by its own Butler-Volmer channel; the exchange current
    is shared equally between the channels (a Frenkel pair: i0 / 2 by interstitials, i0 / 2 by
    vacancies), so the linear charge-transfer resistance is kT / (e i0) in every model."""
    kin = params["kinetics"]
    if kin.get("exchange_current_density_mA_cm2") is None:
        return None
    j = mesh.layer_faces[kin["interface"] + 1] - 1        # interior face between cells j and j + 1
    crossing = [s for s in ionic_species(names) if present[s, j] and present[s, j + 1]]
    if not crossing:
        raise CaseError(file, "kinetics.interface", kin["interface"], "no ionic carrier exists on both sides")
    i0 = to_si(kin["exchange_current_density_mA_cm2"], "mA/cm^2")[0]
    return dict(face=int(j), species=crossing, i0=i0 / len(crossing), alpha=kin["alpha"])


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


def with_uniform_mesh(params, cells):
    """A copy of the case parameters on a uniform mesh of about `cells` cells over the whole
    stack (per-layer refinement dropped): for scaling studies and benchmarks."""
    import copy
    prm = copy.deepcopy(params)
    L = sum(layer["thickness_m"] for layer in prm["layers"].values())
    for layer in prm["layers"].values():
        for k in ("h_min_m", "h_max_m", "growth"):
            layer.pop(k, None)
    prm["mesh"].update(h_min_m=L / cells, h_max_m=L / cells, growth=1.0, grade_outer="no")
    return prm
