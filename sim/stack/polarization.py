"""Ohm's-law polarization budget of a cell stack.

    dE = J * sum_i L_i / sigma_i + J * sum_k R_k

J is the current density (A/m^2), L_i and sigma_i the thickness (m) and ionic conductivity
(S/m) of layer i, R_k an interfacial area-specific resistance (ohm m^2).  A C-rate converts to
a current density through the areal capacity Q_A (C/m^2):  J = n_C * Q_A / 3600 s.

The thickest separator that keeps dE within a budget dE_max, with every other resistance fixed:

    L_max = sigma_sep * (dE_max / J - sum_{i != sep} L_i / sigma_i - sum_k R_k)

which is negative (reported as NaN, "none") when the rest of the stack already exceeds the budget.
"""
from __future__ import annotations

import numpy as np

SECONDS_PER_HOUR = 3600.0


def current_density_from_c_rate(c_rate_per_h, areal_capacity_C_m2):
    """J (A/m^2) = C-rate (1/h) * areal capacity (C/m^2) / 3600 s."""
    return np.asarray(c_rate_per_h) * np.asarray(areal_capacity_C_m2) / SECONDS_PER_HOUR


def layer_drops(current_density_A_m2, thickness_m, conductivity_S_m):
    """Ohmic drop J L / sigma (V) of each layer; arrays broadcast."""
    return np.asarray(current_density_A_m2) * np.asarray(thickness_m) / np.asarray(conductivity_S_m)


def polarization(current_density_A_m2, thickness_m, conductivity_S_m, interface_asr_ohm_m2=()):
    """Total dE (V) = J sum L/sigma + J sum R."""
    J = np.asarray(current_density_A_m2, float)
    bulk = sum(layer_drops(J, L, s) for L, s in zip(thickness_m, conductivity_S_m))
    inter = sum(J * np.asarray(R) for R in interface_asr_ohm_m2)
    return bulk + inter


def max_separator_thickness(budget_V, current_density_A_m2, separator_conductivity_S_m,
                            other_resistance_ohm_m2=0.0):
    """L_max (m) = sigma_sep (dE_max/J - R_other); NaN where no thickness fits the budget."""
    J = np.asarray(current_density_A_m2, float)
    L = np.asarray(separator_conductivity_S_m) * (np.asarray(budget_V) / J - np.asarray(other_resistance_ohm_m2))
    return np.where(L >= 0.0, L, np.nan)
