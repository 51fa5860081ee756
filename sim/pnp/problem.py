"""The discrete PNP problem: mesh, per-cell material data, species and boundary conditions.

Dimensionless potentials are used throughout the numerics: psi = e phi / k_B T, and standard
chemical potentials m = mu0 / k_B T.  Concentrations stay in mol/m^3.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from sim.units import FARADAY, VACUUM_PERMITTIVITY, thermal_voltage
from sim.pnp import laws
from sim.pnp.mesh import Mesh


@dataclass
class Reaction:
    """A bulk reaction given as data (the peer code PoNPs' reactions, on lattices):

        sum_r |nu_r| R  ->  sum_p nu_p P,   net rate r of `laws.lattice_mass_action` (mol m^-3 s^-1)

    with rate constant `rate` (1/s) and reference concentration `c_ref` (mol/m^3) per cell (rate 0 where
    the reaction does not run).  Charge neutral (sum nu z = 0): its equilibrium constant does not depend on
    the potential.  The Frenkel pair, perfect lattice -> Li_i* + V_Li', is nu = +1, +1."""
    name: str
    nu: np.ndarray          # (S,) stoichiometric coefficients, products > 0
    rate: np.ndarray        # (N,) 1/s
    c_ref: np.ndarray       # (N,) mol/m^3


@dataclass
class Problem:
    """A layered 1D PNP problem.

    Arrays of shape (S, N) are per species and cell.  `present[s, k]` says whether species s
    exists in cell k; absent cells hold c = 0 and have no flux across their faces.

    Boundary conditions at the two outer faces (index 0 = left, 1 = right):
      psi_bc[b]    Dirichlet value of psi, or NaN for zero field
      c_bc[b, s]   Dirichlet concentration (mol/m^3), or NaN for zero flux
      eta_bc[b, s] exchange with a reservoir at this electrochemical potential (kT), or NaN
    Mobility: every carrier's drift is scaled by its law m(theta) of `sim.pnp.laws` (size exclusion
    unless `mobility_code` says otherwise).  Reactions: bulk sources of `Reaction`s in the balances (a
    steady closed problem then keeps the combinations of inventories they leave unchanged:
    `operator.conserved_quantities`).
    `closed`: the steady problem conserves the inventory of each species (replaces one balance
    per connected region by an inventory constraint: that of `inventory_c`, or of the bulk values when it
    is None) and pins psi = 0 in the last cell when no Dirichlet potential is given.
    Continuation parameter lam in [0, 1] scales mu0 from `mu0_start` (a state where the bulk
    is already in equilibrium with psi = 0) to `mu0`, and psi_bc from 0 to its value.
    """
    mesh: Mesh
    temperature_K: float
    eps_r: np.ndarray            # (N,)
    c_bg: np.ndarray             # (N,) background concentration, charge -F c_bg
    species: list                # names
    z: np.ndarray                # (S,)
    present: np.ndarray          # (S, N) bool
    c_max: np.ndarray            # (S, N)
    c_bulk: np.ndarray           # (S, N) bulk value of the layer the cell is in
    mu0: np.ndarray              # (S, N) in k_B T
    D: np.ndarray                # (S, N) m^2/s
    psi_bc: np.ndarray = field(default_factory=lambda: np.full(2, np.nan))
    c_bc: np.ndarray = None      # (2, S)
    eta_bc: np.ndarray = None    # (2, S) reservoir electrochemical potential (kT), NaN: none
    kinetics: dict = None        # Butler-Volmer at one interface: face, species, i0 (A/m^2), alpha
    closed: bool = False
    mu0_start: np.ndarray = None
    layer_names: list = field(default_factory=list)
    mobility_code: np.ndarray = None   # (S, N) int: the carrier's mobility law, an index into laws.MOBILITY_NAMES
    mobility_param: np.ndarray = None  # (S, N) the law's parameter (alpha of `laws.vacancy_hop`)
    reactions: list = field(default_factory=list)   # bulk `Reaction`s
    inventory_c: np.ndarray = None     # (S, N) the state whose inventories a steady closed problem keeps; None: the bulk

    def __post_init__(self):
        S = len(self.species)
        if self.mobility_code is None:     # size exclusion for every carrier
            self.mobility_code = np.full(self.c_max.shape, laws.MOBILITY_NAMES.index("size_exclusion"))
        if self.mobility_param is None:
            self.mobility_param = np.zeros(self.c_max.shape)
        if self.c_bc is None:
            self.c_bc = np.full((2, S), np.nan)
        if self.eta_bc is None:
            self.eta_bc = np.full((2, S), np.nan)
        if self.mu0_start is None:
            self.mu0_start = self.mu0.copy()

    @property
    def n(self):
        return self.mesh.n

    @property
    def n_species(self):
        return len(self.species)

    @property
    def thermal_voltage(self):
        return thermal_voltage(self.temperature_K)

    def mobility_names(self):
        """The mobility law of every species in every layer: [[name per layer] per species]."""
        first = [int(np.flatnonzero(self.mesh.layer_of_cell == k)[0]) for k in range(len(self.mesh.layer_faces) - 1)]
        return [[laws.MOBILITY_NAMES[self.mobility_code[s, k]] for k in first] for s in range(self.n_species)]

    @property
    def c_scale(self):
        """Per-species concentration scale (max site density)."""
        return np.max(np.where(self.present, self.c_max, 0.0), axis=1)

    def at(self, lam):
        """The problem at continuation parameter lam."""
        return replace(self, mu0=self.mu0_start + lam * (self.mu0 - self.mu0_start),
                       psi_bc=lam * self.psi_bc, mu0_start=self.mu0_start)

    def debye_length(self):
        """Per-cell Debye length sqrt(eps kT / (F^2 sum z^2 c_bulk / (R T)))  (m)."""
        strength = np.sum(self.z[:, None] ** 2 * self.c_bulk * self.present, axis=0)
        eps = VACUUM_PERMITTIVITY * self.eps_r
        return np.sqrt(eps * self.thermal_voltage / (FARADAY * np.maximum(strength, 1e-300)))

    def initial_state(self):
        """Bulk values everywhere, psi = 0: the exact equilibrium at lam = 0."""
        return np.zeros(self.n), np.where(self.present, self.c_bulk, 0.0)

    def components(self, s):
        """Connected runs of cells holding species s, as a list of index arrays."""
        idx = np.flatnonzero(self.present[s])
        if idx.size == 0:
            return []
        breaks = np.flatnonzero(np.diff(idx) > 1) + 1
        return np.split(idx, breaks)
