"""Analytic limits of the one-sided space-charge layer (PHYSICS.md section 7).

One mobile species (z = +1) on a uniform background c0; psi0 = e dphi / kT is the potential at
the interface relative to the bulk; lambda = sqrt(eps kT / (e^2 c0)).
"""
import numpy as np

from ..units import FARADAY, VACUUM_PERMITTIVITY, thermal_voltage


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
