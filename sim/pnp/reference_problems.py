"""Builders of common problems: the one-sided single-carrier layer used for verification."""
import numpy as np

from sim.pnp.mesh import layered_mesh
from sim.units import thermal_voltage
from sim.pnp.problem import Problem
from sim.pnp.analytic import debye_length
from sim.pnp import analytic as an
from sim.pnp.carriers import frenkel_pair
from sim.pnp.mesh import double_layer_mesh


def one_sided_layer(psi0, eps_r=9.0, c0=3.1e3, c_sites=None, T=298.15, D=1e-13,
                    length_debye=40.0, h_min_debye=0.01, h_max_debye=1.0, growth=1.05, mesh=None):
    """A single layer on [0, L]: blocking interface at x = 0 held at psi0 (kT/e units) relative
    to the bulk; bulk reservoir (c = c0, psi = 0) at x = L.  One species z = +1 on a uniform
    background c0.  c_sites = None gives the dilute limit (c_max = 1e12 c0)."""
    lam = debye_length(eps_r, c0, T)
    if mesh is None:
        mesh = layered_mesh([length_debye * lam], h_min_debye * lam, h_max_debye * lam, growth,
                            grade_outer=(True, False))
    n = mesh.n
    cmax = c_sites if c_sites is not None else 1e12 * c0
    ones = np.ones((1, n))
    return Problem(
        mesh=mesh, temperature_K=T, eps_r=np.full(n, eps_r), c_bg=np.full(n, c0),
        species=["Li"], z=np.array([1.0]), present=np.ones((1, n), bool),
        c_max=cmax * ones, c_bulk=c0 * ones, mu0=np.zeros((1, n)), D=D * ones,
        psi_bc=np.array([psi0, 0.0]), c_bc=np.array([[np.nan], [c0]]), closed=False,
        layer_names=["layer"])


def neutral_slab(length_m=50e-9, eps_r=9.0, c0=3.1e3, c_sites=3.1e4, T=298.15, D=1e-13, h_m=0.5e-9):
    """A uniform single-carrier slab for transport tests: Li+ (z = +1) on a background c0.

    x = 0: Li+ enters at a prescribed flux (galvanostatic end), zero field.
    x = L: reservoir at c0 and psi = 0.
    """
    mesh = layered_mesh([length_m], h_m, h_m, 1.0)
    n = mesh.n
    ones = np.ones((1, n))
    return Problem(
        mesh=mesh, temperature_K=T, eps_r=np.full(n, eps_r), c_bg=np.full(n, c0),
        species=["Li"], z=np.array([1.0]), present=np.ones((1, n), bool),
        c_max=c_sites * ones, c_bulk=c0 * ones, mu0=np.zeros((1, n)), D=D * ones,
        psi_bc=np.array([np.nan, 0.0]), c_bc=np.array([[np.nan], [c0]]), closed=False,
        layer_names=["slab"])


def one_sided_frenkel(phi0_V, site_density_mol_m3, formation_energy_eV, eps_r, alpha, T, D=1e-12, mesh=None,
                      mesh_options=None):
    """Swift & Qi's electrode | Frenkel-electrolyte double layer: the electrolyte bulk sits phi0_V
    above the (blocking) electrode surface at x = 0; bulk reservoir at x = L.  Semi-infinite by
    default: the mesh follows from the saturated width and the screening lengths."""
    if mesh is None:
        x1 = an.frenkel_saturated_width(phi0_V, site_density_mol_m3, formation_energy_eV, eps_r, alpha, T)
        lam_s = an.saturated_screening_length(eps_r, site_density_mol_m3, alpha, T)
        lam_b = an.frenkel_bulk_screening_length(eps_r, site_density_mol_m3, formation_energy_eV, alpha, T)
        mesh = double_layer_mesh(x1, min(lam_s, lam_b), lam_b, **(mesh_options or {}))
    sp = frenkel_pair(site_density_mol_m3, alpha, formation_energy_eV, 0.0, T, D, D)
    names = list(sp)
    n = mesh.n
    col = lambda key: np.array([[sp[s][key]] * n for s in names], float)
    V_T = thermal_voltage(T)
    return Problem(
        mesh=mesh, temperature_K=T, eps_r=np.full(n, eps_r), c_bg=np.zeros(n), species=names,
        z=np.array([sp[s]["z"] for s in names]), present=np.ones((2, n), bool), c_max=col("c_max"),
        c_bulk=col("c_bulk"), mu0=col("mu0_eV") / V_T, D=col("D"),
        psi_bc=np.array([-phi0_V / V_T, 0.0]), c_bc=np.array([[np.nan, np.nan], [sp[s]["c_bulk"] for s in names]]),
        closed=False, layer_names=["electrolyte"])
