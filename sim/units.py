"""Unit conversion to SI for the units used in data and case files.

Only multiplicative units are needed.  Physical constants are CODATA 2022 values, the same
numbers scipy.constants holds (tests/test_io_and_cli.py compares them); they are written here
rather than imported because scipy.constants costs a fifth of a second at start-up.  e, k and N_A
are exact in the SI since 2019; F = e N_A and R = k N_A follow.
"""
ELEMENTARY_CHARGE = 1.602176634e-19                           # C (exact)
BOLTZMANN = 1.380649e-23                                      # J/K (exact)
AVOGADRO = 6.02214076e+23                                     # 1/mol (exact)
FARADAY = ELEMENTARY_CHARGE * AVOGADRO                        # C/mol
GAS_CONSTANT = BOLTZMANN * AVOGADRO                           # J/(mol K)
VACUUM_PERMITTIVITY = 8.8541878188e-12                        # F/m (CODATA 2022, rel. unc. 1.6e-10)

#: factor that converts a value in the named unit to SI, and the SI unit
UNIT_TO_SI = {
    "1": (1.0, "1"),
    "g/cm^3": (1e3, "kg/m^3"),
    "mAh/g": (3.6e3, "C/kg"),          # 1 mAh/g = 3.6 C/g = 3600 C/kg
    "V": (1.0, "V"),
    "eV": (1.0, "eV"),                  # kept in eV (energies per carrier); converted where used
    "mol/m^3": (1.0, "mol/m^3"),
    "cm^-3": (1e6 / AVOGADRO, "mol/m^3"),    # number density per cm^3 -> mol/m^3
    "S/cm": (1e2, "S/m"),
    "S/m": (1.0, "S/m"),
    "mS/cm": (1e-1, "S/m"),
    "mA/cm^2": (10.0, "A/m^2"),
    "mAh/cm^2": (3.6e4, "C/m^2"),       # 1 mAh = 3.6 C, over 1e-4 m^2
    "ohm cm^2": (1e-4, "ohm m^2"),
    "um": (1e-6, "m"),
    "nm": (1e-9, "m"),
    "mg/cm^2": (1e-2, "kg/m^2"),
    "A/m^2": (1.0, "A/m^2"),
    "cm^2/s": (1e-4, "m^2/s"),
    "m^2/s": (1.0, "m^2/s"),
    "K": (1.0, "K"),
}


#: factor to SI of each unit: x_SI = x * SI[unit], x = x_SI / SI[unit]
SI = {unit: factor for unit, (factor, _) in UNIT_TO_SI.items()}


def to_si(value, unit):
    """Return (value in SI, SI unit name) for `value` given in `unit`."""
    try:
        factor, si = UNIT_TO_SI[unit]
    except KeyError:
        raise KeyError(f"unknown unit {unit!r}; known: {sorted(UNIT_TO_SI)}") from None
    return value * factor, si


def thermal_voltage(temperature_K):
    """k_B T / e in volts."""
    return BOLTZMANN * temperature_K / ELEMENTARY_CHARGE
