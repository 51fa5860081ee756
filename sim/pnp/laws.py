"""The model's laws, one small function each: the single source every solver path evaluates.

Everything physical that the discrete equations assume about a carrier lives here — its
statistics, its mobility, the form of its flux, the reactions that create or consume it and
the laws at the boundaries — and nothing here knows about meshes, Jacobian layout or solvers.
The functions take NumPy arrays or scalars alike (element-wise arithmetic and ufuncs only), so
the residual (`operator`), its Jacobian, the impedance linearization (`impedance`), the
observables (`observables`) and the Nernst-Einstein transport (`carriers`) all evaluate the same
code.  docs/theory.md derives each law and gives its source.

Notation: theta = c / c_max the occupancy of the carrier's sites, w = ln(theta / (1 - theta))
its logit, m = mu0 / kT, psi = e phi / kT; every potential is in units of kT (per carrier).

To change a law, edit the one function here; tests/test_laws.py swaps a law and checks that
every path follows.
"""
from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------- lattice-gas statistics

def occupancy_from_logit(w):
    """(theta, 1 - theta, ln(1 - theta)) from the logit w, accurate at both ends:

        theta = 1 / (1 + e^-w),   1 - theta = 1 / (1 + e^w),   ln(1 - theta) = -ln(1 + e^w).

    (Fermi-Dirac statistics of a carrier on its own sites: eta / kT = m + w + z psi.)"""
    log_om = -np.logaddexp(0.0, w)
    return np.exp(-np.logaddexp(0.0, -w)), np.exp(log_om), log_om


def logit(theta):
    """w = ln(theta / (1 - theta)), the inverse of `occupancy_from_logit`."""
    return np.log(theta) - np.log1p(-theta)


def chemical_potential_slope(c, one_minus):
    """d(eta / kT) / dc = 1 / (c (1 - theta)) of the lattice gas (1 / c in the dilute limit)."""
    return 1.0 / (c * one_minus)


def effective_potential(z, psi, m, c_max, log_one_minus):
    """Phi = z psi + m - ln c_max - ln(1 - theta): the SEDAN effective potential, with which
    eta / kT = ln c + Phi, and the flux of `sg_flux` vanishes exactly where eta is uniform."""
    return z * psi + m - np.log(c_max) - log_one_minus


def effective_potential_slope(c_max, one_minus):
    """d Phi / dc = 1 / (c_max (1 - theta))."""
    return 1.0 / (c_max * one_minus)


def softplus(w):
    """ln(1 + e^w): the grand potential of one site per kT (d softplus / dw = theta)."""
    return np.logaddexp(0.0, w)


# ---------------------------------------------------------------- mobility laws
#
# N = -D c m(theta) d(eta / kT)/dx.  The drift of a carrier is scaled by m(theta); each law returns
# (m, dm/dtheta).  A carrier's law is a per-layer choice (case key `mobility`), see docs/theory.md.

def size_exclusion(theta, one_minus, param):
    """m = 1 - theta: the carrier hops into an empty site of its own sublattice (interstitials;
    Burger, Schlake & Wolfram, Nonlinearity 25 (2012) 961).  1 - theta is taken from the logit,
    so it stays accurate next to saturation."""
    return one_minus, -np.ones_like(one_minus)


def vacancy_hop(theta, one_minus, param):
    """m = 1 - alpha theta: a vacancy moves when a neighbouring Li ion hops into it; its sites are
    the alpha-capped fraction of the Li sites, so a neighbour is another vacancy with probability
    alpha theta at most (param = alpha)."""
    return 1.0 - param * theta, -param * np.ones_like(theta)


def unscaled(theta, one_minus, param):
    """m = 1: steric effects enter the chemical potential only, the mobility stays (Kilic,
    Bazant & Ajdari, Phys. Rev. E 75 (2007) 021502)."""
    return np.ones_like(theta), np.zeros_like(theta)


#: the mobility laws by name (a case's `mobility` key); the codes index this tuple
MOBILITY_LAWS = {"size_exclusion": size_exclusion, "vacancy_hop": vacancy_hop, "unscaled": unscaled}
MOBILITY_NAMES = tuple(MOBILITY_LAWS)


def mobility(codes, params, theta, one_minus):
    """(m, dm/dtheta) of arrays of carriers whose laws are given by integer `codes` (indices into
    MOBILITY_NAMES) and parameters `params` (all arrays of one shape)."""
    m = np.empty_like(theta)
    dm = np.empty_like(theta)
    for code in np.unique(codes):
        sel = codes == code
        m[sel], dm[sel] = MOBILITY_LAWS[MOBILITY_NAMES[code]](theta[sel], one_minus[sel], params[sel])
    return m, dm


def conductivity_weight(z, D, c, m):
    """z^2 D c m (mol m^-1 s^-1): sigma = (F^2 / R T) times the sum of these over the ionic carriers
    (Nernst-Einstein with the carrier's mobility law)."""
    return z * z * D * c * m


# ---------------------------------------------------------------- the flux

SMALL_T = 1e-4


def bernoulli(t):
    """B(t) = t / (e^t - 1) and B'(t) = (B / t)(1 - B) - B, for all t: the series
    1 - t/2 + t^2/12 and -1/2 + t/6 - t^3/180 for |t| < SMALL_T, B = 0 where e^t overflows."""
    t0 = np.asarray(t, float)
    t = np.atleast_1d(t0)
    small = np.abs(t) < SMALL_T
    any_small = small.any()
    ts = np.where(small, 1.0, t) if any_small else t
    with np.errstate(over="ignore", invalid="ignore"):
        B = ts / np.expm1(ts)
        nan = np.isnan(B)                              # t -> +inf
        if nan.any():
            B[nan] = 0.0
        dB = (B / ts) * (1.0 - B) - B
        if any_small:
            tt = t[small]
            B[small] = 1.0 - tt / 2 + tt * tt / 12
            dB[small] = -0.5 + tt / 6 - tt ** 3 / 180
    return (B, dB) if t0.ndim else (B[0], dB[0])


def sg_flux(dPhi, cK, cL):
    """The Scharfetter-Gummel flux from cell K to cell L per unit face coefficient A = D_f m_f / h:

        N = A S,   S = B(dPhi) c_K - B(-dPhi) c_L,   dPhi = Phi_L - Phi_K,

    exact for a constant flux between the two cell centres.  Returns (S, B(dPhi), B(-dPhi), G)
    with G = dS / d dPhi = B'(dPhi) c_K + B'(-dPhi) c_L (so dN/dc_K = A B(dPhi) at fixed dPhi)."""
    B1, dB1 = bernoulli(dPhi)
    B2, dB2 = bernoulli(-dPhi)
    return B1 * cK - B2 * cL, B1, B2, dB1 * cK + dB2 * cL


def face_mobility(mK, mL):
    """The mobility factor of a face: the mean of its two cells' (so that size exclusion gives
    1 - (theta_K + theta_L) / 2).  d m_f / d m_K = d m_f / d m_L = 1/2."""
    return 0.5 * (mK + mL)


# ---------------------------------------------------------------- reactions

def lattice_mass_action(k, c_ref, log_K, theta_r, om_r, theta_p, om_p):
    """Net rate (mol m^-3 s^-1) of a reaction  sum_r |nu_r| R  ->  sum_p nu_p P  on lattices:

        r = k c_ref [ K prod_r theta_r prod_p (1 - theta_p) - prod_p theta_p prod_r (1 - theta_r) ],

    forward: every reactant on its site and every product site empty; backward the reverse.
    K = exp(-sum_s nu_s (m_s + z_s psi)) (log_K given) makes r = 0 exactly where
    sum_s nu_s eta_s = 0 (detailed balance).  theta_r, om_r, theta_p, om_p: (n_reactants, ...)
    and (n_products, ...) arrays (stoichiometric coefficients as repeated rows).  Returns
    (r, dr/dtheta_r, dr/dtheta_p).  The Frenkel pair (perfect lattice -> Li_i* + V_Li') is
    r = k alpha N [K (1 - theta_i)(1 - theta_v) - theta_i theta_v], K = exp(-(m_i + m_v))."""
    K = np.exp(log_K)
    fwd = K * np.prod(theta_r, axis=0) * np.prod(om_p, axis=0)
    bwd = np.prod(theta_p, axis=0) * np.prod(om_r, axis=0)
    d_r = [k * c_ref * (K * _prod_except(theta_r, i) * np.prod(om_p, axis=0)
                        + np.prod(theta_p, axis=0) * _prod_except(om_r, i)) for i in range(len(theta_r))]
    d_p = [k * c_ref * (-K * np.prod(theta_r, axis=0) * _prod_except(om_p, i)
                        - _prod_except(theta_p, i) * np.prod(om_r, axis=0)) for i in range(len(theta_p))]
    return k * c_ref * (fwd - bwd), d_r, d_p


def _prod_except(rows, i):
    """Product over the rows of `rows` but row i (1 for a single row)."""
    out = np.ones_like(rows[0]) if len(rows) else 1.0
    for j, row in enumerate(rows):
        if j != i:
            out = out * row
    return out


def butler_volmer(i0_over_zF, alpha, d):
    """Interface rate N = i0 / (|z| F) [exp(alpha d) - exp(-(1 - alpha) d)] (mol m^-2 s^-1) for the
    drop d = (eta_K - eta_L) / kT of the carrier's electrochemical potential across the interface,
    and dN/dd.  d = 0 gives no flux (equilibria are those of ideal interfaces)."""
    ea, eb = np.exp(alpha * d), np.exp(-(1 - alpha) * d)
    return i0_over_zF * (ea - eb), i0_over_zF * (alpha * ea + (1 - alpha) * eb)


# ---------------------------------------------------------------- boundaries

def reservoir_logit(eta, m, z, psi):
    """Logit of a carrier's occupancy in equilibrium with a reservoir at electrochemical potential
    eta (kT) at potential psi: w = eta - m - z psi."""
    return eta - m - z * psi
