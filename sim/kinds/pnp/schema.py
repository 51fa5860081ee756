"""Schema of `kind = "pnp"` cases: layered Poisson-Nernst-Planck equilibrium and potential sweeps."""
import re

import numpy as np

from sim.case import case_material_names, materials_schema
from sim.errors import CaseError
from sim.kinds.common import KIND, TITLE
from sim.kinds.pnp.build import cathode_potential, layer_mesh_controls, model_of, ocv_table
from sim.materials import _raw as database
from sim.pnp.circuits import parse
from sim.pnp.laws import MOBILITY_NAMES
from sim.schema import Field, Table, TableMap, suggest

MAX_TRANSIENTS = 50        # transient runs in one case: each costs seconds; sweeps take more

SPECIES_IN_LAYER = Table({
    "present": Field(bool, "whether the species exists in this layer (default: from the material)", default=None),
    "c_max_mol_m3": Field(float, "site density c_max (default: material li_concentration, or "
                          "electron_site_concentration for e)", default=None, unit="mol/m^3", low=0.0, low_open=True),
    "c_bulk_mol_m3": Field(float, "bulk concentration of the mobile carrier (default: mobile_fraction * c_max, "
                           "or electron_fraction * c_max for e)", default=None, unit="mol/m^3", low=0.0, low_open=True),
    "mu0_eV": Field(float, "standard chemical potential (default: material mu0_li for Li, 0 for e); "
                    "the cathode's Li value is shifted by -(U - reference_potential)", default=None, unit="eV",
                    low=-20.0, high=20.0),
    "D_m2_s": Field(float, "diffusion coefficient (default: material li_diffusivity or electron_diffusivity)",
                    default=None, unit="m^2/s", low=0.0, low_open=True),
    "mobility": Field(str, "mobility law m(theta) of the carrier's drift, N = -D c m d(eta/kT)/dx (docs/theory.md): "
                      "size_exclusion (1 - theta; default for Li_i*, Li+ and e'), vacancy_hop (1 - alpha theta; "
                      "default for V_Li'), unscaled (1)", default=None, choices=MOBILITY_NAMES),
}, "per-layer values of one species; anything not given comes from the material")

FRENKEL = Table({
    "site_density_cm3": Field(float, "defect site density N (default: material defect_site_density)",
                              default=None, unit="cm^-3", low=1e10, high=1e24),
    "saturation_alpha": Field(float, "saturation limit alpha: each defect lives on alpha N sites "
                              "(default: material saturation_alpha)", default=None, low=0.0, high=1.0, low_open=True),
    "formation_energy_eV": Field(float, "Frenkel formation energy per defect at charge neutrality E_f0 "
                                 "(default: material frenkel_energy)", default=None, unit="eV", low=-1.0, high=5.0),
    "bulk_occupation": Field(float, "bulk occupation theta_b of each defect's sites, instead of E_f0",
                             default=None, low=1e-30, high=1.0, low_open=True, high_open=True),
    "conductivity_S_m": Field(float, "bulk ionic conductivity; sets both defect diffusivities by "
                              "Nernst-Einstein (default: material conductivity)", default=None, unit="S/m",
                              low=0.0, low_open=True),
    "vacancy_diffusivity_ratio": Field(float, "D(V_Li') / D(Li_i*) when D follows from the conductivity "
                                       "(default: material value, else 1)", default=None, low=1e-6, high=1e6),
    "D_interstitial_m2_s": Field(float, "diffusivity of Li_i* (with D_vacancy_m2_s: instead of the conductivity)",
                                 default=None, unit="m^2/s", low=0.0, low_open=True),
    "D_vacancy_m2_s": Field(float, "diffusivity of V_Li'", default=None, unit="m^2/s", low=0.0, low_open=True),
    "capture_radius_m": Field(float, "Frenkel reaction: distance within which Li_i* and V_Li' recombine; the rate "
                              "constant is the diffusion-limited k = 4 pi r_c (D_i + D_v) N_A alpha N (default: "
                              "material frenkel_capture_radius)", default=None, unit="m", low=1e-12, high=1e-7),
    "rate_constant_1_s": Field(float, "Frenkel reaction rate constant k of r = k alpha N [K (1 - theta_i)(1 - theta_v) "
                               "- theta_i theta_v] instead of the diffusion-limited one; 0 switches the reaction off",
                               default=None, unit="1/s", low=0.0, high=1e20),
}, "Frenkel-pair carriers of this layer (Swift & Qi's model, docs/theory.md); anything not given comes "
   "from the material", optional=True)

LAYER = Table({
    "material": Field(str, "material name in the database (`python -m sim materials`)", default=None),
    "thickness_m": Field(float, "layer thickness (may be left out for the one layer of a [surface] case: "
                         "semi-infinite, length and mesh from its screening lengths)", default=None, unit="m",
                         low=0.0, low_open=True, high=1.0),
    "carriers": Field(str, "carrier model: frenkel (Li_i* and V_Li' defects) or single (one Li+ carrier on a "
                      "fixed background) (default: the material's)", default=None, choices=("frenkel", "single")),
    "frenkel": FRENKEL,
    "eps_r": Field(float, "relative permittivity (default: material eps_r)", default=None, low=1.0, high=1e5),
    "background_mol_m3": Field(float, "immobile background concentration c_bg, charge -F c_bg "
                               "(default: sum z c_bulk, a neutral bulk)", default=None, unit="mol/m^3"),
    "h_min_m": Field(float, "smallest cell of this layer (default: mesh.h_min_m)", default=None, unit="m",
                     low=1e-15, high=1e-3),
    "h_max_m": Field(float, "largest cell of this layer (default: mesh.h_max_m)", default=None, unit="m",
                     low=1e-15, high=1e-2),
    "growth": Field(float, "growth ratio in this layer (default: mesh.growth)", default=None, low=1.0, high=2.0),
    "species": TableMap(SPECIES_IN_LAYER, "per-species values in this layer: `[layers.<name>.species.<species>]`"),
}, "one layer; layers are listed from the cathode side (x = 0) to the electrolyte side")

SCHEMA = Table({
    "kind": KIND,
    "title": TITLE,
    "temperature_K": Field(float, "temperature", default=298.15, unit="K", low=1.0, high=3000.0),
    "solver": Field(str, "nonlinear solver", default="native", choices=("native", "fipy")),
    "ensemble": Field(str, "open: bulk values fixed at both outer ends (grand canonical); closed: "
                      "no flux and zero field at the ends, inventories conserved", default="open",
                      choices=("open", "closed")),
    "cathode": Table({
        "layer": Field(str, "name of the cathode layer (default: the first layer)", default=None),
        "potential_V": Field(float, "cathode potential vs Li/Li+ (default: the material's "
                             "reference_potential, i.e. no shift)", default=None, unit="V", low=0.0, high=10.0),
        "x_li": Field(float, "Li fraction of the cathode; gives U through the OCV table (ocv_x/ocv_V, "
                      "else the material's `ocv` table)",
                      default=None, low=0.0, high=1.0),
        "ocv_x": Field(("list", float), "OCV table: Li fraction (increasing)", default=None, min_length=2,
                       low=0.0, high=1.0),
        "ocv_V": Field(("list", float), "OCV table: potential vs Li/Li+", default=None, unit="V", min_length=2),
        "areal_capacity_mAh_cm2": Field(float, "cathode capacity for a change of x_li by 1; with x_li, "
                                        "transients move x_li by the charge passed and U along the OCV table", default=None,
                                        unit="mAh/cm^2", low=0.0, low_open=True),
        "ionic_fraction": Field(float, "fraction f of -e (U - U_ref) that moves the cathode's Li+ level "
                                "(default: none given, the lattice-gas part kT ln(x/(1-x)) of the Li chemical "
                                "potential, x from the OCV table; f = 1 puts all of it on Li+)", default=None,
                                low=0.0, high=1.0),
    }, "cathode state of charge: moves the Li+ level of the cathode (docs/theory.md, cathode potential)", optional=True),
    "surface": Table({
        "bulk_potential_V": Field(float, "one-sided double layer: potential of the electrolyte bulk relative "
                                  "to a blocking electrode surface at x = 0, phi(bulk) - phi(0) (Swift & Qi's phi0)",
                                  default=None, unit="V", low=-10.0, high=10.0),
    }, "electrode | electrolyte double layer (e.g. Li metal | solid electrolyte): a fixed surface potential "
       "at x = 0 instead of a cathode", optional=True),
    "transient": Table({
        "protocol": Field(str, "run transients under this protocol (default: none)", default=None,
                          choices=("galvanostatic", "potentiostatic", "current_table")),
        "current_densities_mA_cm2": Field(("list", float), "galvanostatic: one run per current density "
                                          "(> 0 charges the cathode); each is a full transient, so at most "
                                          f"{MAX_TRANSIENTS} (a longer study is a sweep: parallel and resumable)",
                                          default=None, unit="mA/cm^2", min_length=1, max_length=MAX_TRANSIENTS,
                                          low=-1e3, high=1e3),
        "overpotentials_V": Field(("list", float), "potentiostatic: one run per overpotential step of the "
                                  "cathode reservoir's Li electrochemical potential; at most "
                                  f"{MAX_TRANSIENTS} (a longer study is a sweep)", default=None, unit="V",
                                  min_length=1, max_length=MAX_TRANSIENTS, low=-5.0, high=5.0),
        "table_time_s": Field(("list", float), "current_table: times (increasing)", default=None, unit="s",
                              min_length=2, low=0.0),
        "table_current_density_mA_cm2": Field(("list", float), "current_table: current densities, linear "
                                              "in between, held after the end", default=None, unit="mA/cm^2",
                                              min_length=2, low=-1e3, high=1e3),
        "cutoff_voltage_V": Field(float, "end a run when the cell voltage (OCV + overpotential; the "
                                  "overpotential alone without an OCV) exceeds this", default=None, unit="V",
                                  low=-10.0, high=100.0),
        "duration_s": Field(float, "simulated time", default=3600.0, unit="s", low=0.0, low_open=True, high=1e9),
        "output_points": Field(int, "stored states, log-spaced from first_output_s to duration_s",
                               default=41, low=2, high=2000),
        "first_output_s": Field(float, "first stored time after t = 0", default=1e-6, unit="s",
                                low=0.0, low_open=True),
        "linear_output_points": Field(int, "additional stored states, evenly spaced in time", default=12,
                                      low=0, high=2000),
        "method": Field(str, "time integrator", default="bdf2", choices=("bdf1", "bdf2")),
        "rtol": Field(float, "relative local-error tolerance", default=1e-3, low=1e-10, high=0.5),
        "atol_psi": Field(float, "absolute tolerance on psi", default=1e-3, unit="kT/e", low=1e-12, high=10.0),
        "atol_c": Field(float, "absolute tolerance on c, as a fraction of c_max", default=1e-6, low=1e-15, high=0.1),
        "dt_initial_s": Field(float, "first time step", default=1e-9, unit="s", low=1e-18, high=1e6),
        "max_steps": Field(int, "step limit per run", default=200000, low=1, high=10**8),
    }, "transients under current from the equilibrium state (see docs/theory.md for the boundary "
       "conditions: Li+ enters at x = 0, electrons are blocked there, reservoir at x = L)", optional=True),
    "kinetics": Table({
        "exchange_current_density_mA_cm2": Field(float, "Butler-Volmer exchange current density of Li+ at "
                                                 "the chosen interface (default: off, ideal interface)",
                                                 default=None, unit="mA/cm^2", low=0.0, low_open=True),
        "alpha": Field(float, "anodic transfer coefficient", default=0.5, low=0.0, high=1.0, low_open=True,
                       high_open=True),
        "interface": Field(int, "index of the interface (0 = the first, from x = 0)", default=0, low=0, high=49),
    }, "optional interfacial charge-transfer kinetics", optional=True),
    "impedance": Table({
        "temperatures_K": Field(("list", float), "compute spectra at these temperatures (give [298.15] for one); "
                                "materials' conductivities follow Arrhenius", default=None, unit="K", min_length=1,
                                max_length=50, low=150.0, high=1500.0),
        "frequency_min_Hz": Field(float, "lowest frequency (default: a hundredth of the slowest relaxation "
                                  "frequency of the stack, L^2/D or the electrode charging; docs/theory.md)",
                                  default=None, unit="Hz", low=1e-9, high=1e12),
        "frequency_max_Hz": Field(float, "highest frequency (default: a hundred times the fastest bulk "
                                  "relaxation frequency sigma / (2 pi eps) of any layer, so every bulk arc is whole)",
                                  default=None, unit="Hz", low=1e-9, high=1e13),
        "points_per_decade": Field(int, "log-spaced frequencies per decade", default=6, low=1, high=200),
        "amplitude_mV": Field(float, "nominal perturbation amplitude (stored; the small-signal response is linear)",
                              default=5.0, unit="mV", low=0.0, high=100.0, low_open=True),
        "electrodes": Field(str, "li_exchanging: Li+ enters at x = 0, reservoir at x = L (the transient boundary "
                            "conditions); blocking: Dirichlet potentials, every species blocked; reversible: Dirichlet "
                            "potentials and bulk concentrations at both ends", default="li_exchanging",
                            choices=("li_exchanging", "blocking", "reversible")),
        "bias_current_density_mA_cm2": Field(float, "DC current bias of the steady state (li_exchanging only)",
                                             default=0.0, unit="mA/cm^2", low=-1e3, high=1e3),
        "circuit": Field(str, "equivalent circuit to fit, e.g. 'p(R0,C0)-p(R1,CPE1)' (elements R, C, CPE and W, a "
                         "finite-length Warburg; auto: p(R0,C0) for the fastest bulk arc, one p(Rk,CPEk) per further "
                         "layer or interface with kinetics, a series CPE_electrodes for blocking electrodes; each fitted "
                         "block is named after the process of the stack whose relaxation frequency is nearest its "
                         "own, stored as its `process`)", default="auto"),
        "measured_csv": Field(str, "measured spectrum to fit and overlay: CSV of f (Hz), Z' and Z'' (ohm cm^2) with "
                              "Z = dV/dI for e^(i omega t) (Z'' < 0 for a capacitor), '#' comments, relative to the case "
                              "file; validated like the fit kind's data (at least 5 rows, ordered frequencies, Re Z >= 0)",
                              default=None),
    }, "small-signal impedance spectra of the stack (docs/theory.md, impedance)", optional=True),
    "sweep": Table({
        "potential_V": Field(("list", float), "cathode potentials of a quasi-static sweep (start, stop)",
                             default=None, unit="V", length=2, low=0.0, high=10.0),
        "bulk_potential_V": Field(("list", float), "[surface] cases: bulk potentials phi0 of a sweep (start, stop)",
                                  default=None, unit="V", length=2, low=-10.0, high=10.0),
        "points": Field(int, "points of the sweep", default=9, low=2, high=10000),
    }, "optional quasi-static sweep of the cathode potential (or of a [surface] case's bulk potential)", optional=True),
    "mesh": Table({
        "h_min_m": Field(float, "smallest cell, at each interface", default=2e-12, unit="m",
                         low=1e-15, high=1e-3),
        "h_max_m": Field(float, "largest cell, in the bulk", default=5e-10, unit="m", low=1e-15, high=1e-2),
        "growth": Field(float, "geometric growth ratio of cell sizes away from an interface",
                        default=1.08, low=1.0, high=2.0),
        "grade_outer": Field(str, "grade the cells toward the two outer faces too (auto: where a double layer forms "
                             "there, with blocking or reversible impedance electrodes, and in a single-layer case, "
                             "so that h_min_m applies; otherwise the outer faces face a reservoir and need no "
                             "refinement)", default="auto", choices=("auto", "yes", "no")),
    }, "graded mesh controls", optional=True),
    "solver_options": Table({
        "tol": Field(float, "Newton: largest update in psi (kT/e) and logit(theta)", default=1e-10,
                     low=1e-16, high=1e-2),
        "max_iter": Field(int, "Newton iterations per continuation step", default=60, low=1, high=10000),
        "continuation": Field(bool, "ramp the mu0 steps from a neutral start", default=True),
        "predictor": Field(bool, "open problems: start Newton from the converged Poisson-Fermi-Dirac problem in "
                           "psi alone (docs/theory.md)", default=True),
        "fipy_max_sweeps": Field(int, "FiPy: maximum Newton sweeps", default=200, low=1, high=100000),
    }, "nonlinear solver controls", optional=True),
    "layers": TableMap(LAYER, "layers in order from x = 0: `[layers.<name>]`", min_entries=1, max_entries=50),
    "species": TableMap(Table({
        "z": Field(float, "charge number", low=-10.0, high=10.0),
    }, "a mobile species"), "mobile species and charge numbers; `Li` (z = +1) and `e` (z = -1) are built in",
        max_entries=10),
    "materials": materials_schema(),
})


#: names that become HDF5 group or dataset names
NAME = re.compile(r"[A-Za-z0-9_+\-]{1,64}")


def check(params, file):
    layers = params["layers"]
    for where, names in (("layers", layers), ("species", params["species"])):
        for name in names:
            if not NAME.fullmatch(name):
                raise CaseError(file, f"{where}.{name}", name, "names become HDF5 paths: use letters, digits, "
                                "_ + - (at most 64)")
    for name, layer in layers.items():
        for s in layer["species"]:
            if not NAME.fullmatch(s):
                raise CaseError(file, f"layers.{name}.species.{s}", s, "names become HDF5 paths: use letters, "
                                "digits, _ + - (at most 64)")
    cat = params["cathode"]
    if cat.get("layer") is not None and cat["layer"] not in layers:
        raise CaseError(file, "cathode.layer", cat["layer"], "not a layer name" + suggest(cat["layer"], layers))
    if (cat.get("ocv_x") is None) != (cat.get("ocv_V") is None):
        raise CaseError(file, "cathode.ocv_V" if cat.get("ocv_V") is None else "cathode.ocv_x", None,
                        "ocv_x and ocv_V go together")
    if cat.get("x_li") is not None:
        ocv_table(params, file)
    if cat.get("ocv_x") is not None:
        if len(cat["ocv_x"]) != len(cat["ocv_V"]):
            raise CaseError(file, "cathode.ocv_V", cat["ocv_V"], "must have as many values as ocv_x")
        if any(b <= a for a, b in zip(cat["ocv_x"], cat["ocv_x"][1:])):
            raise CaseError(file, "cathode.ocv_x", cat["ocv_x"], "must be strictly increasing")
    if cat.get("x_li") is not None and cat.get("potential_V") is not None:
        raise CaseError(file, "cathode.potential_V", cat["potential_V"], "give potential_V or x_li, not both")
    tr = params["transient"]
    proto = tr.get("protocol")
    needs = {"galvanostatic": ("current_densities_mA_cm2",), "potentiostatic": ("overpotentials_V",),
             "current_table": ("table_time_s", "table_current_density_mA_cm2")}
    for key in needs.get(proto, ()):
        if tr.get(key) is None:
            raise CaseError(file, f"transient.{key}", None, f"required with protocol = {proto!r}")
    if proto == "current_table":
        t = tr["table_time_s"]
        if len(t) != len(tr["table_current_density_mA_cm2"]):
            raise CaseError(file, "transient.table_current_density_mA_cm2", tr["table_current_density_mA_cm2"],
                            "must have as many values as table_time_s")
        if any(b < a for a, b in zip(t, t[1:])):
            raise CaseError(file, "transient.table_time_s", t, "must not decrease")
    if tr["first_output_s"] >= tr["duration_s"]:
        raise CaseError(file, "transient.first_output_s", tr["first_output_s"], "must be below duration_s")
    kin = params["kinetics"]
    if kin.get("exchange_current_density_mA_cm2") is not None and kin["interface"] >= len(layers) - 1:
        raise CaseError(file, "kinetics.interface", kin["interface"], f"the stack has {len(layers) - 1} interface(s)")
    if cat.get("areal_capacity_mAh_cm2") is not None and cat.get("x_li") is None:
        raise CaseError(file, "cathode.areal_capacity_mAh_cm2", cat["areal_capacity_mAh_cm2"],
                        "needs cathode.x_li and the OCV table")
    if params["solver"] == "fipy":           # what the FiPy solver does not solve (sim/pnp/fipy_solver.py)
        if params["ensemble"] == "closed":
            raise CaseError(file, "solver", "fipy", "the FiPy solver solves open problems only (ensemble = 'open')")
        if kin.get("exchange_current_density_mA_cm2") is not None:
            raise CaseError(file, "solver", "fipy", "the FiPy solver has no interface kinetics: use solver = 'native'")
        if proto == "potentiostatic":
            raise CaseError(file, "solver", "fipy", "the FiPy solver has no potentiostatic boundary: use solver = 'native'")
    mesh = params["mesh"]
    if mesh["h_min_m"] > mesh["h_max_m"]:
        raise CaseError(file, "mesh.h_min_m", mesh["h_min_m"], "must not exceed mesh.h_max_m")
    used = {layer.get("material") for layer in layers.values()}
    for name in case_material_names(params):
        if name not in used:
            raise CaseError(file, f"materials.{name}", name, "not in the database and no layer uses it"
                            + suggest(name, database()) + " (a new material needs a layer with material = "
                            f"\"{name}\")")
    surface = params["surface"].get("bulk_potential_V") is not None
    ip = params["impedance"]
    if ip.get("measured_csv") and file is not None:     # read and checked now: `validate` finds a bad file
        from pathlib import Path
        from sim.kinds.pnp.impedance import read_measured
        read_measured(ip["measured_csv"], Path(file).parent, file)
    if ip.get("temperatures_K") is not None:
        f_lo, f_hi = ip.get("frequency_min_Hz"), ip.get("frequency_max_Hz")
        if f_lo is not None and f_hi is not None and f_lo >= f_hi:
            raise CaseError(file, "impedance.frequency_min_Hz", f_lo, "must be below frequency_max_Hz")
        temps = sorted(ip["temperatures_K"])
        close = [(a, b) for a, b in zip(temps, temps[1:]) if b - a < 0.01]
        if close:
            raise CaseError(file, "impedance.temperatures_K", ip["temperatures_K"],
                            f"{close[0][0]:g} K and {close[0][1]:g} K are the same temperature (they must differ by at "
                            "least 0.01 K: each names its group of results, T_<T>K)")
        n_f = 13 * ip["points_per_decade"] * len(ip["temperatures_K"]) if f_lo is None or f_hi is None else \
            np.log10(f_hi / f_lo) * ip["points_per_decade"] * len(ip["temperatures_K"])
        if n_f > 20000:
            raise CaseError(file, "impedance.points_per_decade", ip["points_per_decade"],
                            f"{n_f:.0f} frequencies in all (limit 20000): fewer points, decades or temperatures")
        if surface:
            raise CaseError(file, "impedance.temperatures_K", ip["temperatures_K"], "not available for [surface] cases")
        if ip["electrodes"] != "li_exchanging" and params["ensemble"] != "open":
            raise CaseError(file, "impedance.electrodes", ip["electrodes"], "needs ensemble = 'open' (Dirichlet ends)")
        if ip["bias_current_density_mA_cm2"] != 0.0 and ip["electrodes"] != "li_exchanging":
            raise CaseError(file, "impedance.bias_current_density_mA_cm2", ip["bias_current_density_mA_cm2"],
                            "a DC bias needs electrodes = 'li_exchanging'")
        if ip["circuit"] != "auto":
            try:
                parse(ip["circuit"])
            except ValueError as e:
                raise CaseError(file, "impedance.circuit", ip["circuit"], str(e)) from None
    for key in ("potential_V", "bulk_potential_V"):
        v = params["sweep"].get(key)
        if v is not None and v[0] == v[1]:
            raise CaseError(file, f"sweep.{key}", v, "start and stop must differ")
    if params["sweep"].get("bulk_potential_V") is not None and not surface:
        raise CaseError(file, "sweep.bulk_potential_V", params["sweep"]["bulk_potential_V"],
                        "needs a [surface] case (surface.bulk_potential_V)")
    if surface and params["sweep"].get("potential_V") is not None:
        raise CaseError(file, "sweep.potential_V", params["sweep"]["potential_V"],
                        "a [surface] case has no cathode: sweep sweep.bulk_potential_V instead")
    if surface and len(layers) != 1:
        raise CaseError(file, "surface.bulk_potential_V", params["surface"]["bulk_potential_V"],
                        f"a one-sided double layer has one layer (this case has {len(layers)})")
    for name, layer in layers.items():
        h_min, h_max, growth = layer_mesh_controls(params, name)
        if h_min > h_max:
            raise CaseError(file, f"layers.{name}.h_min_m", h_min, f"must not exceed the layer's h_max_m = {h_max:g} m")
        if layer.get("thickness_m") is None:
            if not surface:
                raise CaseError(file, f"layers.{name}.thickness_m", None, "required (only the layer of a "
                                "[surface] case may be semi-infinite)")
            continue
        # guard against absurd meshes before anything is allocated
        n_est = layer["thickness_m"] / h_max + (np.log(h_max / h_min) / np.log(growth) if growth > 1 else layer["thickness_m"] / h_min)
        if n_est > 2e6:
            raise CaseError(file, f"layers.{name}.thickness_m", layer["thickness_m"],
                            f"needs about {n_est:.3g} cells; raise h_max_m / h_min_m or growth")
    # the full species/material resolution is checked by building the model (needs the database; the run
    # takes the same model from `model_of`), and the cathode's Li+ level at the case's potential and at
    # both ends of a potential sweep (the OCV table must cover them)
    model = model_of(params, file)
    model.level_shift(cathode_potential(params, file))
    for U in params["sweep"].get("potential_V") or []:
        try:
            model.level_shift(U)
        except CaseError as e:
            raise CaseError(file, "sweep.potential_V", params["sweep"]["potential_V"], e.reason) from None


def notes(params):
    """Keys that are legal but have no effect in this case (stored with the result as warnings)."""
    out = []
    tr, kin, sw, cat = params["transient"], params["kinetics"], params["sweep"], params["cathode"]
    defaults = {k: f.default for k, f in SCHEMA.fields["transient"].fields.items()}
    if tr.get("protocol") is None:
        changed = [k for k, v in tr.items() if k != "protocol" and v != defaults.get(k)]
        if changed:
            out.append(f"transient.{changed[0]} has no effect without transient.protocol")
    if kin.get("exchange_current_density_mA_cm2") is None and (kin["alpha"] != 0.5 or kin["interface"] != 0):
        out.append("kinetics.alpha / kinetics.interface have no effect without kinetics.exchange_current_density_mA_cm2")
    if sw.get("potential_V") is None and sw.get("bulk_potential_V") is None and sw["points"] != 9:
        out.append("sweep.points has no effect without sweep.potential_V or sweep.bulk_potential_V")
    used = {layer.get("material") for layer in params["layers"].values()}
    for name in params["materials"]:
        if name not in used:
            out.append(f"materials.{name}: no layer uses this material, so its overrides have no effect")
    for T in (params.get("impedance") or {}).get("temperatures_K") or []:
        if T < 200.0:
            out.append(f"impedance.temperatures_K contains {T:g} K: if you meant °C, add 273.15")
    for name, layer in (params.get("layers") or {}).items():
        t = layer.get("thickness_m")
        if t is not None and t < 1e-10:
            out.append(f"layers.{name}.thickness_m = {t:g} m is below one atomic spacing: a unit mistake (nm = 1e-9 m)?")
        if t is not None and t > 1e-3:
            out.append(f"layers.{name}.thickness_m = {t:g} m is over a millimetre: a unit mistake (µm = 1e-6 m)?")
    if cat.get("x_li") is not None:
        x, _ = ocv_table(params)
        if not min(x) <= cat["x_li"] <= max(x):
            out.append(f"cathode.x_li = {cat['x_li']:g} lies outside the OCV table ({min(x):g}-{max(x):g}); "
                       "the potential is held at the table's end")
    return out
