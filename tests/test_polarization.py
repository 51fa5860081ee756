"""Ohm's-law polarization budget."""
import numpy as np
import pytest

from sim.stack import polarization as pol


def test_review_introduction_example_16_7_um():
    # 50 mV at 3 mA/cm2 (30 A/m2) through sigma = 0.1 mS/cm (0.01 S/m)
    L = pol.max_separator_thickness(0.05, 30.0, 0.01)
    assert float(L) * 1e6 == pytest.approx(16.6667, rel=1e-4)


def test_polarization_sum_and_c_rate():
    J = pol.current_density_from_c_rate(2.0, 3.9 * 3.6e4)       # 2C at 3.9 mAh/cm2 -> A/m2
    assert float(J) == pytest.approx(2.0 * 3.9e-3 * 3600 / 1e-4 / 3600)   # 7.8 mA/cm2 = 78 A/m2
    dE = pol.polarization(J, [20e-6, 60e-6], [0.01, 0.02], [1e-3])
    assert float(dE) == pytest.approx(J * (20e-6 / 0.01 + 60e-6 / 0.02 + 1e-3))


def test_no_thickness_fits_when_interfaces_exceed_budget():
    assert np.isnan(pol.max_separator_thickness(0.05, 30.0, 0.01, other_resistance_ohm_m2=1.0))
