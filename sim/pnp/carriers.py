"""Carrier models of one layer: which mobile species it holds, on how many sites, at what bulk
occupation, standard chemical potential and diffusivity.  Pure physics: SI in, SI out.

Frenkel pair (Maier's defect chemistry, in the saturating form of Swift, Swift & Qi, Nat.
Comput. Sci. 1 (2021) 212).  Li interstitials Li_i* (z = +1) and Li vacancies V_Li' (z = -1),
each on alpha N sites (N the defect site density, alpha the saturation limit).  With the Li+
level mu_Li (eV; the Li+ chemical potential of the neutral bulk, common reference of the stack)
and the formation energy per defect at charge neutrality E_f0 (eV):

    mu0(Li_i) = +mu_Li + E_f0 + kT ln alpha,     mu0(V_Li) = -mu_Li + E_f0 + kT ln alpha

so that eta(Li_i) + eta(V_Li) = 0 in every neutral bulk (Frenkel equilibrium), both defects sit
at the bulk occupation theta_b = 1 / (1 + B), B = alpha exp(E_f0 / kT), and the interstitial
electrochemical potential of the bulk is mu_Li + e phi.  Across an interface eta of each defect
is continuous; the mu0 steps follow from the mu_Li step and the two Frenkel energies.

Single carrier (the earlier model, kept as an option): Li+ (z = +1) on c_max sites at
c_bulk = mobile_fraction c_max on a fixed background; mu0 = mu_Li.

Nernst-Einstein: sigma = (F^2 / R T) sum_i z_i^2 D_i c_i m_i(theta_i), with m_i the carrier's
mobility law (`laws`; each species dict names it under "mobility", with its parameter
"mobility_param").
"""
from __future__ import annotations

import math

import numpy as np

from sim.errors import SimError
from sim.units import FARADAY, GAS_CONSTANT, thermal_voltage as kT_eV
from sim.pnp import laws
from sim.pnp.analytic import frenkel_b

#: Kroger-Vink names of the species (HDF5 attributes and figure labels)
KROGER_VINK = {"Li_i": "Li$_i^\\bullet$", "V_Li": "V$_{Li}'$", "Li": "Li$^+$", "e": "e$'$"}
KROGER_VINK_TEXT = {"Li_i": "Li_i^*", "V_Li": "V_Li'", "Li": "Li+", "e": "e'"}
IONIC = ("Li_i", "V_Li", "Li")


def frenkel_pair(site_density, alpha, formation_energy_eV, li_level_eV, T, D_interstitial=None,
                 D_vacancy=None, bulk_occupation=None):
    """Species of a Frenkel-disordered Li sublattice.

    site_density N (mol/m^3), alpha (saturation limit, 0 < alpha <= 1), E_f0 (eV per defect) or
    bulk_occupation theta_b directly (then E_f0 = kT ln((1 - theta_b) / (alpha theta_b))).
    Returns {name: dict(z, c_max, c_bulk, mu0_eV, D)}.
    """
    if bulk_occupation is not None:
        formation_energy_eV = kT_eV(T) * math.log((1.0 - bulk_occupation) / (alpha * bulk_occupation))
    c_max = alpha * site_density
    theta_b = 1.0 / (1.0 + float(frenkel_b(formation_energy_eV, alpha, T)))
    base = formation_energy_eV + kT_eV(T) * math.log(alpha)
    return {
        "Li_i": dict(z=1.0, c_max=c_max, c_bulk=theta_b * c_max, mu0_eV=li_level_eV + base, D=D_interstitial,
                     **default_mobility("Li_i", alpha)),
        "V_Li": dict(z=-1.0, c_max=c_max, c_bulk=theta_b * c_max, mu0_eV=-li_level_eV + base, D=D_vacancy,
                     **default_mobility("V_Li", alpha)),
    }


def default_mobility(name, alpha=None):
    """The mobility law a carrier has unless the case says otherwise (docs/theory.md, mobility laws):
    Li_i* hops into empty interstitial sites (`laws.size_exclusion`); V_Li' moves when one of its Li
    neighbours hops into it, so only other vacancies, at most the fraction alpha theta of the Li sites,
    block it (`laws.vacancy_hop` with alpha); a single Li+ carrier needs an empty site of its own
    (size exclusion); electrons (small polarons on the transition-metal sites) likewise."""
    if name == "V_Li":
        return {"mobility": "vacancy_hop", "mobility_param": float(alpha)}
    return {"mobility": "size_exclusion", "mobility_param": 0.0}


def set_mobility(sp, name, law, alpha=None, where="mobility"):
    """Give species dict `sp` the mobility law `law` (a name in `laws.MOBILITY_LAWS`); vacancy_hop takes the
    layer's saturation limit alpha.  Returns sp."""
    if law == "vacancy_hop":
        if alpha is None:
            raise ValueError(f"{where}: vacancy_hop needs a Frenkel layer (its saturation limit alpha)")
        sp.update(mobility=law, mobility_param=float(alpha))
    else:
        sp.update(mobility=law, mobility_param=0.0)
    return sp


def single_carrier(c_max, mobile_fraction, li_level_eV, D=None):
    """The single-carrier model: Li+ on c_max sites, c_bulk = mobile_fraction c_max."""
    return {"Li": dict(z=1.0, c_max=c_max, c_bulk=mobile_fraction * c_max, mu0_eV=li_level_eV, D=D)}


def bulk_mobility(sp):
    """m(theta_b) of a species in its bulk, by its mobility law (`laws.MOBILITY_LAWS`)."""
    theta = sp["c_bulk"] / sp["c_max"]
    law = laws.MOBILITY_LAWS[sp.get("mobility", "size_exclusion")]
    return float(law(np.float64(theta), np.float64(1.0 - theta), sp.get("mobility_param", 0.0))[0])


def transport_weight(sp):
    """z^2 c m(theta) of the bulk (mol/m^3): sigma = F^2 D / (R T) times this for one D."""
    return laws.conductivity_weight(sp["z"], 1.0, sp["c_bulk"], bulk_mobility(sp))


def bulk_conductivity(species, T):
    """sigma = (F^2 / R T) sum_i z_i^2 D_i c_i m_i(theta_i) over the ionic carriers (S/m)."""
    return FARADAY ** 2 / (GAS_CONSTANT * T) * sum(
        transport_weight(sp) * sp["D"] for name, sp in species.items() if name in IONIC)


def diffusivities_from_conductivity(species, sigma, T, ratio=1.0):
    """Fill D of the ionic carriers from a measured sigma (S/m) by Nernst-Einstein.

    ratio = D(V_Li) / D(Li_i) for a Frenkel pair.  Returns the species with D set (a copy).
    """
    out = {k: dict(v) for k, v in species.items()}
    rel = {name: (ratio if name == "V_Li" else 1.0) for name in out if name in IONIC}
    weight = sum(transport_weight(out[n]) * r for n, r in rel.items())
    D_ref = sigma * GAS_CONSTANT * T / (FARADAY ** 2 * weight)
    for n, r in rel.items():
        out[n]["D"] = D_ref * r
    return out


def li_level_signs(names):
    """How a change of the Li+ level enters each species' mu0: +1 for Li+ and Li_i*, -1 for
    V_Li' (a vacancy is a missing Li+), 0 for electrons and other species."""
    return [1.0 if n in ("Li", "Li_i") else -1.0 if n == "V_Li" else 0.0 for n in names]


def ionic_species(names):
    """Indices of the ionic carriers (everything but electrons)."""
    return [i for i, n in enumerate(names) if n != "e"]


class CapacityExhausted(SimError):
    """A transient drove the cathode's Li fraction to 0 or 1."""


def x_of_potential(U, ocv_x, ocv_V):
    """Li fraction x at potential U on a monotone OCV table (U falls as x rises)."""
    order = sorted(range(len(ocv_V)), key=lambda i: ocv_V[i])
    return float(np.interp(U, [ocv_V[i] for i in order], [ocv_x[i] for i in order]))


def cathode_li_level_shift(U, x, U_ref, x_ref, T, ionic_fraction=None):
    """Change (eV) of the Li+ level of the cathode between the reference state and (U, x).

    The cell voltage measures the Li chemical potential, -e dU = d mu_Li = d mu_Li+ + d mu_e; the
    electrolyte blocks electrons, so only d mu_Li+ reaches the space-charge layer.
      ionic_fraction f given:  d mu_Li+ = -f e (U - U_ref)           (f = 1: all on Li+)
      default (lattice gas):   d mu_Li+ = kT [ln(x/(1-x)) - ln(x_ref/(1-x_ref))]
    the ideal configurational part of Li on its sublattice; the rest of -e dU (interactions,
    the Co3+/Co4+ Fermi level) is carried by the electrons.
    """
    if ionic_fraction is not None:
        return -ionic_fraction * (U - U_ref)
    if not 0.0 < x < 1.0:
        raise CapacityExhausted(f"the cathode's Li fraction x_li reached {x:.6g} at U = {U:.4g} V: the charge "
                                "passed exceeds the cathode's capacity (raise cathode.areal_capacity_mAh_cm2, or "
                                "lower the current or the end time)")
    return kT_eV(T) * (math.log(x / (1 - x)) - math.log(x_ref / (1 - x_ref)))
