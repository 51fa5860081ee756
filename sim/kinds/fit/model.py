"""The impedance model as a function of the fitted keys: Z at the data's frequencies, one spectrum per
temperature.

Each evaluation sets the keys in a copy of the impedance case's resolved parameters; at each temperature the
pnp kind builds the problem once (`build.model_of` keeps the model of a parameter set; the mesh is shared
between evaluations), solves its steady state (`sim.kinds.pnp.impedance.steady_state`) and linearizes it at
the data's frequencies (`sim.pnp.impedance.current_drive` for Li-exchanging electrodes, `voltage_drive`
for blocking and reversible ones).
"""
from __future__ import annotations

import copy

from sim.errors import SimError, with_origin
from sim.kinds.fit.setup import set_path


def model_spectrum(params, T, frequencies_Hz):
    """Z (ohm m^2) of an impedance case (resolved parameters) at temperature T and the given frequencies."""
    from sim.kinds.pnp.impedance import steady_state
    from sim.pnp import impedance as imp
    from sim.pnp import observables as obs
    p, psi, c, w = steady_state(params, T)
    if params["impedance"]["electrodes"] == "li_exchanging":
        return imp.current_drive(p, psi, c, frequencies_Hz, obs.li_index(p), w=w)
    return imp.voltage_drive(p, psi, c, frequencies_Hz, w=w)


def with_values(params, keys, values):
    """A copy of resolved case parameters with the dotted `keys` set to `values` (case units)."""
    prm = copy.deepcopy(params)
    for k, v in zip(keys, values):
        set_path(prm, k, float(v))
    return prm


def spectra(setup, values, frequencies=None):
    """[Z (ohm m^2) on each spectrum's frequencies (or on `frequencies`, one array per temperature)] with the
    fitted keys at `values` (case units)."""
    prm = with_values(setup.params, [p.key for p in setup.parameters], values)
    grids = frequencies if frequencies is not None else [s.frequency for s in setup.spectra]
    out = []
    for T, f in zip(setup.temperatures, grids):
        try:
            out.append(model_spectrum(prm, T, f))
        except SimError as e:          # say where in parameter space the model failed
            at = ", ".join(f"{p.key} = {v:.6g}" for p, v in zip(setup.parameters, values))
            raise with_origin(e, f"fit: the model at {at}, {T:g} K") from None
    return out


def dense(f, per_decade=20):
    """Log-spaced frequencies over the range of f, per_decade per decade (for a smooth fitted curve)."""
    import numpy as np
    n = max(2, int(np.ceil(np.log10(f.max() / f.min()) * per_decade)) + 1)
    return np.geomspace(f.min(), f.max(), n)
