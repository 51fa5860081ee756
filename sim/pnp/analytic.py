"""Analytic limits of the one-sided space-charge layer (docs/theory.md, analytic limits).

One mobile species (z = +1) on a uniform background c0; psi0 = e dphi / kT is the potential at
the interface relative to the bulk; lambda = sqrt(eps kT / (e^2 c0)).
"""
import numpy as np

from sim.units import FARADAY, VACUUM_PERMITTIVITY, thermal_voltage


def debye_length(eps_r, c0, T):
    return np.sqrt(VACUUM_PERMITTIVITY * eps_r * thermal_voltage(T) / (FARADAY * c0))


def gouy_chapman_charge(psi0, eps_r, c0, T):
    """|sigma| = sqrt(2 eps kT c0) sqrt(e^-psi0 + psi0 - 1)  (C/m^2), dilute (Boltzmann)."""
    eps = VACUUM_PERMITTIVITY * eps_r
    return np.sqrt(2 * eps * thermal_voltage(T) * FARADAY * c0) * np.sqrt(np.exp(-psi0) + psi0 - 1)


def saturated_charge(psi0, eps_r, c0, c_sites, T):
    """|sigma| = sqrt(2 eps kT c0 F(psi0)), F = psi + ln(1 - x0 + x0 e^-psi) / x0, x0 = c0/c_s."""
    x0 = c0 / c_sites
    Fpsi = psi0 + np.log(1 - x0 + x0 * np.exp(-psi0)) / x0
    eps = VACUUM_PERMITTIVITY * eps_r
    return np.sqrt(2 * eps * thermal_voltage(T) * FARADAY * c0 * Fpsi)


def mott_schottky_width(dphi_V, eps_r, c0, T):
    """w = sqrt(2 eps (dphi - kT/e) / (e c0))  (m), depletion limit."""
    eps = VACUUM_PERMITTIVITY * eps_r
    return np.sqrt(2 * eps * (dphi_V - thermal_voltage(T)) / (FARADAY * c0))


def mott_schottky_inverse_c2(dphi_V, eps_r, c0, T):
    """1/C^2 = 2 (dphi - kT/e) / (eps e c0)  (m^4/F^2)."""
    eps = VACUUM_PERMITTIVITY * eps_r
    return 2 * (dphi_V - thermal_voltage(T)) / (eps * FARADAY * c0)


# ---------------------------------------------------------------------------------------------
# Frenkel-pair double layer (Swift, Swift & Qi, Nat. Comput. Sci. 1 (2021) 212)
#
# Interstitials (z = +1) and vacancies (z = -1), each on alpha N sites, occupation at potential
# psi (kT/e, relative to the bulk)  theta_+- = 1 / (1 + B e^{+-psi}),  B = alpha exp(E_f0 / kT).
# rho = e alpha N (theta_+ - theta_-); the first integral of Poisson's equation gives
#     (eps / 2) E^2 = alpha N kT G(psi),  G = ln(1 + B e^psi) + ln(1 + B e^-psi) - 2 ln(1 + B).

def frenkel_b(formation_energy_eV, alpha, T):
    """B = alpha exp(E_f0 / kT); the bulk occupation of each defect is 1 / (1 + B)."""
    return alpha * np.exp(formation_energy_eV / thermal_voltage(T))


def frenkel_g(psi0, B):
    """G(psi) = ln(1 + B e^psi) + ln(1 + B e^-psi) - 2 ln(1 + B) = ln(1 + X),
    X = 4 B sinh^2(psi/2) / (1 + B)^2, evaluated as softplus(ln X): no overflow at large psi and
    no cancellation when B is huge (dilute defects) or psi small."""
    y = np.abs(np.asarray(psi0, float)) / 2
    with np.errstate(divide="ignore"):
        log_sinh = y + np.log1p(-np.exp(-2 * y)) - np.log(2.0)
        log_x = np.log(4.0) + np.log(B) + 2 * log_sinh - 2 * np.logaddexp(0.0, np.log(B))
    return np.logaddexp(0.0, log_x)


def frenkel_charge(phi0_V, site_density_mol_m3, formation_energy_eV, eps_r, alpha, T):
    """|Q| = sqrt(2 eps R T alpha N G(psi0))  (C/m^2): charge of the double layer per area."""
    B = frenkel_b(formation_energy_eV, alpha, T)
    psi0 = phi0_V / thermal_voltage(T)
    eps = VACUUM_PERMITTIVITY * eps_r
    c_s = alpha * site_density_mol_m3
    return np.sqrt(2 * eps * thermal_voltage(T) * FARADAY * c_s * frenkel_g(psi0, B))


def frenkel_saturated_width(phi0_V, site_density_mol_m3, formation_energy_eV, eps_r, alpha, T):
    """x1 = |Q| / (F alpha N)  (m): width of a fully saturated layer holding the whole charge
    (Swift & Qi's two-region approximation)."""
    q = frenkel_charge(phi0_V, site_density_mol_m3, formation_energy_eV, eps_r, alpha, T)
    return q / (FARADAY * alpha * site_density_mol_m3)


def saturated_screening_length(eps_r, site_density_mol_m3, alpha, T):
    """lambda_s = sqrt(eps kT / (e^2 alpha N))  (m): Debye length of the saturated defect density."""
    return debye_length(eps_r, alpha * site_density_mol_m3, T)


def frenkel_bulk_screening_length(eps_r, site_density_mol_m3, formation_energy_eV, alpha, T):
    """Linear (bulk) screening length of the Frenkel pair: lambda_s / sqrt(2 theta_b (1 - theta_b))."""
    B = frenkel_b(formation_energy_eV, alpha, T)
    th = 1.0 / (1.0 + B)
    return saturated_screening_length(eps_r, site_density_mol_m3, alpha, T) / np.sqrt(2 * th * (1 - th))
