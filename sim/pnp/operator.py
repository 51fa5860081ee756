"""The discrete PNP operator of the native solver: residual and analytic Jacobian.

Poisson, integrated over cell k (units C/m^2, then scaled by F c_s dx_k):

    sum_f eps0 eps_f V_T (psi_n - psi_k) / h_f  +  F (sum_s z_s c_sk - c_bg,k) dx_k = 0

with eps_f the distance-weighted harmonic mean, h_f the centre-to-centre distance (half a cell
at a Dirichlet boundary).  Nernst-Planck, integrated over cell k (scaled by D_k c_s / dx_k):

    dx_k (c_k - c_k^old) / dt + N_{k+1/2} - N_{k-1/2} = 0

Without any Dirichlet potential, the last Poisson row is replaced by the gauge psi_N = 0 (it is
implied by the others, which sum to the conserved total charge).  A steady closed problem also
replaces the last balance of each connected region by its inventory (a dense row).

Face flux: the excess-chemical-potential (SEDAN) Scharfetter-Gummel scheme for the
lattice gas.  With theta = c / c_max and the effective potential

    Phi = z psi + m - ln c_max - ln(1 - theta)          (m = mu0 / k_B T)

the continuum flux N = -D c m(theta) d(eta/kT)/dx equals -D m (dc/dx + c dPhi/dx), with m the
carrier's mobility law (`laws`: size exclusion 1 - theta, vacancy hops 1 - alpha theta, or 1),
discretised as

    N_KL = D_f m_f / h_f [ B(dPhi) c_K - B(-dPhi) c_L ],  dPhi = Phi_L - Phi_K,
    B(t) = t / (e^t - 1),  m_f = (m(theta_K) + m(theta_L)) / 2.

N_KL = 0 exactly when ln c + Phi (= eta / kT + const) is equal in K and L: the discrete
equilibrium is exact.  On a face between layers Phi carries the mu0 and c_max steps, so eta is
continuous and c jumps.  Faces to a cell where the species is absent carry no flux.

Every pointwise law (statistics, mobility, the flux's form, reactions, boundary states) is a
function of `sim.pnp.laws`; this module only assembles them on the mesh.
"""
from __future__ import annotations

import threading
import copy
from dataclasses import dataclass, field

import numpy as np

from sim.pnp import laws
from sim.units import FARADAY, VACUUM_PERMITTIVITY


@dataclass
class Geometry:
    """Face data of a problem, computed once."""
    dx: np.ndarray        # (N,)
    h: np.ndarray         # (N-1,) centre distances of interior faces
    eps_f: np.ndarray     # (N-1,) face permittivity eps0*eps_r (F/m)
    eps_b: np.ndarray     # (2,) eps0*eps_r of the outer cells
    D_f: np.ndarray       # (S, N-1) face diffusivity, 0 where blocked
    open_f: np.ndarray    # (S, N-1) bool: species passes the face
    comps: list           # per species: list of index arrays (connected regions)
    row_psi: np.ndarray   # (N,) Poisson row scale
    row_c: np.ndarray     # (S, N) NP row scale
    c_s: float
    #: index structures derived from the fields above, built on first use and shared by the copies
    #: `geometry` hands out: "jacobian": (rows, cols, (N, S)) of `jacobian`'s entries; "newton_step":
    #: see `newton.newton_step_matrix`
    shared: dict = field(default_factory=dict, repr=False, compare=False)


def geometry(p):
    """The face data of problem p.  A problem whose mesh, permittivity, species presence, diffusivities
    and site densities equal those of the last problem seen in this thread (the same case at another
    cathode potential: a potential sweep, the neighbours of a differential capacitance) gets a copy of
    that geometry, which those data alone determine, instead of a new one."""
    # compared by their bytes (a few microseconds: a solve on a thousand cells takes a millisecond);
    # equal bytes are equal data, and the rare equal data with other bytes (-0.0) only costs a rebuild
    source = tuple((a.shape, a.dtype.str, a.tobytes()) for a in (p.mesh.faces, p.eps_r, p.present, p.D, p.c_max))
    last = getattr(_LAST_GEOMETRY, "entry", None)
    if last is not None and last[0] == source:
        return copy.copy(last[1])
    g = _geometry(p)
    _LAST_GEOMETRY.entry = (source, g)
    return copy.copy(g)


_LAST_GEOMETRY = threading.local()


def _geometry(p):
    m = p.mesh
    xc, xf, dx = m.centers, m.faces, m.widths
    h = np.diff(xc)
    hK = xf[1:-1] - xc[:-1]
    hL = xc[1:] - xf[1:-1]
    eps = VACUUM_PERMITTIVITY * p.eps_r
    eps_f = h / (hK / eps[:-1] + hL / eps[1:])
    both = p.present[:, :-1] & p.present[:, 1:]
    Dk = np.where(p.present, p.D, 1.0)
    D_f = np.where(both, h / (hK / Dk[:, :-1] + hL / Dk[:, 1:]), 0.0)
    c_s = float(np.max(p.c_scale))
    row_psi = 1.0 / (FARADAY * c_s * dx)
    row_c = dx / (Dk * np.maximum(p.c_scale[:, None], 1e-300))
    comps = [p.components(s) for s in range(p.n_species)]
    return Geometry(dx, h, eps_f, eps[[0, -1]], D_f, both, comps, row_psi, row_c, c_s)


def occupancy(p, c, w=None):
    """(theta, 1 - theta, ln(1 - theta), c_max with 1 where absent) of every species and cell.

    From the logit w = ln(theta / (1 - theta)) when it is given (`laws.occupancy_from_logit`), so
    that 1 - theta stays accurate next to saturation (theta -> 1) and theta next to depletion; from
    c = theta c_max otherwise.
    """
    cmax = np.where(p.present, p.c_max, 1.0)
    if w is None:
        theta = np.where(p.present, c / cmax, 0.0)
        one_minus = 1.0 - theta
        return theta, one_minus, np.log(one_minus), cmax
    theta, one_minus, log_om = laws.occupancy_from_logit(np.where(p.present, w, -np.inf))
    return theta, one_minus, log_om, cmax


@dataclass
class Local:
    """The laws evaluated in every cell at one state (each (S, N))."""
    Phi: np.ndarray        # effective potential (kT), `laws.effective_potential`
    dPhi_dc: np.ndarray    # its derivative (m^3/mol)
    theta: np.ndarray
    one_minus: np.ndarray
    cmax: np.ndarray       # site density, 1 where absent
    m: np.ndarray          # mobility factor (`laws.mobility`)
    dm_dc: np.ndarray      # its derivative with respect to c (m^3/mol)


def local_terms(p, psi, c, w=None):
    """`Local` at state (psi, c): statistics, effective potential and mobility of every carrier."""
    theta, one_minus, log_om, cmax = occupancy(p, c, w)
    Phi = laws.effective_potential(p.z[:, None], psi[None, :], p.mu0, cmax, log_om)
    m, dm = laws.mobility(p.mobility_code, p.mobility_param, theta, one_minus)
    return Local(Phi, laws.effective_potential_slope(cmax, one_minus), theta, one_minus, cmax, m, dm / cmax)


def face_fluxes(p, g, psi, c, with_derivatives=False, w=None, local=None):
    """Interior face fluxes N (S, N-1), mol m^-2 s^-1, positive to the right.

    With derivatives, also returns dN/dc_K, dN/dc_L, dN/dpsi_L (= -dN/dpsi_K), each (S, N-1).
    w: the logit of the occupancy, for accurate 1 - theta (see `occupancy`).  local: `local_terms`
    at this state, if already computed.
    """
    t = local_terms(p, psi, c, w) if local is None else local
    dPhi = np.where(g.open_f, t.Phi[:, 1:] - t.Phi[:, :-1], 0.0)
    A = g.D_f * laws.face_mobility(t.m[:, :-1], t.m[:, 1:]) / g.h
    S, B1, B2, G = laws.sg_flux(dPhi, c[:, :-1], c[:, 1:])
    N = A * S
    dA_dcK = 0.5 * g.D_f * t.dm_dc[:, :-1] / g.h
    dA_dcL = 0.5 * g.D_f * t.dm_dc[:, 1:] / g.h
    dN_dcK = A * B1 - A * G * t.dPhi_dc[:, :-1] + dA_dcK * S
    dN_dcL = -A * B2 + A * G * t.dPhi_dc[:, 1:] + dA_dcL * S
    dN_dpsiL = A * G * p.z[:, None]
    if p.kinetics:
        _butler_volmer(p, t, c, N, dN_dcK, dN_dcL, dN_dpsiL)
    if not with_derivatives:
        return N
    return N, dN_dcK, dN_dcL, dN_dpsiL


def _butler_volmer(p, t, c, N, dK, dL, dpL):
    """Replace the flux of the kinetics' species on its interface face by `laws.butler_volmer`
    with d = (eta_K - eta_L) / kT, eta / kT = ln c + Phi (d eta / dc: `laws.chemical_potential_slope`)."""
    kin = p.kinetics
    j, a = kin["face"], kin["alpha"]
    K, L = j, j + 1
    species = kin["species"] if np.ndim(kin["species"]) else [kin["species"]]
    for s in species:
        d = (np.log(c[s, K]) + t.Phi[s, K]) - (np.log(c[s, L]) + t.Phi[s, L])
        N[s, j], G = laws.butler_volmer(kin["i0"] / (abs(p.z[s]) * FARADAY), a, d)
        dK[s, j] = G * laws.chemical_potential_slope(c[s, K], t.one_minus[s, K])
        dL[s, j] = -G * laws.chemical_potential_slope(c[s, L], t.one_minus[s, L])
        dpL[s, j] = -G * p.z[s]


def boundary_fluxes(p, g, psi, c, with_derivatives=False, w=None, local=None):
    """Fluxes through the outer faces Nb (2, S), positive to the right, and their derivatives
    dNb/dc and dNb/dpsi with respect to the adjacent cell (each (2, S)).

    Boundary states, over half a cell: a Dirichlet concentration c_bc (at psi_bc, or at the
    cell's psi under zero field where psi_bc is NaN), or a reservoir at electrochemical potential
    eta_bc (kT), whose occupancy at the cell's potential has the logit `laws.reservoir_logit`; the
    flux is the Scharfetter-Gummel flux of `face_fluxes` over the half cell, with the face
    mobility of the boundary state and the cell."""
    t = local_terms(p, psi, c, w) if local is None else local
    S_ = p.n_species
    N, dNdc, dNdpsi = np.zeros((2, S_)), np.zeros((2, S_)), np.zeros((2, S_))
    z = p.z
    for b, k in ((0, 0), (1, p.n - 1)):
        cb, eta = p.c_bc[b], p.eta_bc[b]
        res = np.isfinite(eta)
        active = p.present[:, k] & (res | np.isfinite(cb))
        if not active.any():
            continue
        cm = t.cmax[:, k]
        mu0 = p.mu0[:, k]
        with np.errstate(all="ignore"):
            th_r, om_r, _ = laws.occupancy_from_logit(laws.reservoir_logit(eta, mu0, z, psi[k]))
        fixed_psi = np.isfinite(p.psi_bc[b])
        thb = np.where(res, th_r, cb / cm)
        omb = np.where(res, om_r, 1.0 - cb / cm)
        dthb = np.where(res, -z * th_r * om_r, 0.0)                 # d theta_b / d psi_k
        psib = np.where(res | ~fixed_psi, psi[k], p.psi_bc[b])       # zero field: the state follows the cell
        dpsib = np.where(res | ~fixed_psi, 1.0, 0.0)
        cbv, dcb = cm * thb, cm * dthb
        with np.errstate(all="ignore"):
            Phib = laws.effective_potential(z, psib, mu0, cm, np.log(omb))
            mb, dmb = laws.mobility(p.mobility_code[:, k], p.mobility_param[:, k], thb, omb)
        dPhib = z * dpsib + dthb / omb
        h = g.dx[k] / 2
        D = np.where(p.present[:, k], p.D[:, k], 0.0)
        A = D * laws.face_mobility(mb, t.m[:, k]) / h
        dA_dc = 0.5 * D * t.dm_dc[:, k] / h
        dA_dpsi = 0.5 * D * dmb * dthb / h
        if b == 0:      # boundary state on the left (K), cell on the right (L)
            Sv, B1, B2, G = laws.sg_flux(np.where(active, t.Phi[:, k] - Phib, 0.0), cbv, c[:, k])
            dc = -A * B2 + A * G * t.dPhi_dc[:, k] + dA_dc * Sv
            dS_dpsi = G * (z - dPhib) + B1 * dcb
        else:           # cell on the left (K), boundary state on the right (L)
            Sv, B1, B2, G = laws.sg_flux(np.where(active, Phib - t.Phi[:, k], 0.0), c[:, k], cbv)
            dc = A * B1 - A * G * t.dPhi_dc[:, k] + dA_dc * Sv
            dS_dpsi = G * (dPhib - z) - B2 * dcb
        N[b] = np.where(active, A * Sv, 0.0)
        dNdc[b] = np.where(active, dc, 0.0)
        dNdpsi[b] = np.where(active, dA_dpsi * Sv + A * dS_dpsi, 0.0)
    return (N, dNdc, dNdpsi) if with_derivatives else N


def fluxes_with_derivatives(p, g, psi, c, w=None):
    """What Newton needs at one state, evaluated once: {"face": `face_fluxes` with derivatives,
    "boundary": `boundary_fluxes` with derivatives, "local": `local_terms`}."""
    t = local_terms(p, psi, c, w)
    return {"face": face_fluxes(p, g, psi, c, with_derivatives=True, w=w, local=t),
            "boundary": boundary_fluxes(p, g, psi, c, with_derivatives=True, w=w, local=t),
            "local": t}


def _interior_and_boundary_fluxes(p, g, psi, c, w, cache):
    """(face fluxes N (S, N-1), boundary fluxes Nb (2, S)); with a cache dict, evaluated with their
    derivatives and kept there for the Jacobian at the same state."""
    if cache is None:
        t = local_terms(p, psi, c, w)
        return face_fluxes(p, g, psi, c, w=w, local=t), boundary_fluxes(p, g, psi, c, w=w, local=t)
    cache.update(fluxes_with_derivatives(p, g, psi, c, w))
    return cache["face"][0], cache["boundary"][0]


def residual(p, g, psi, c, c_old=None, dt=None, steady_closed=None, boundary_flux_in=None, gauge=True, w=None,
             cache=None):
    """Scaled residuals (R_psi (N,), R_c (S, N)).

    c_old, dt: add the storage term dx (c - c_old)/dt.  steady_closed (default: p.closed and
    no time step) replaces the last balance of every connected region by its inventory
    constraint and pins psi in the last cell.  boundary_flux_in (2, S): prescribed fluxes
    into the domain at the outer faces (for galvanostatic problems), added to the balance.
    gauge=False keeps the physical last Poisson row (the FiPy backend pins psi_N instead).
    w: logit of the occupancy (accurate 1 - theta near saturation), see `occupancy`.
    cache: a dict that receives the face and boundary fluxes with their derivatives at this state,
    for `jacobian(..., fluxes=cache)` at the same state (Newton evaluates both there).
    """
    V_T = p.thermal_voltage
    dx = g.dx
    # Poisson
    flux_e = g.eps_f * V_T * (psi[1:] - psi[:-1]) / g.h          # eps dphi/dx on faces
    P = np.zeros(p.n)
    P[:-1] += flux_e
    P[1:] -= flux_e
    for b, k in ((0, 0), (1, -1)):
        if np.isfinite(p.psi_bc[b]):
            P[k] += g.eps_b[b] * V_T * (p.psi_bc[b] - psi[k]) / (dx[k] / 2)
    rho = (p.z[:, None] * c).sum(axis=0) - p.c_bg
    P += FARADAY * rho * dx
    R_psi = P * g.row_psi
    # Nernst-Planck
    N, Nb = _interior_and_boundary_fluxes(p, g, psi, c, w, cache)
    div = np.zeros_like(c)
    div[:, :-1] += N
    div[:, 1:] -= N
    div[:, 0] -= Nb[0]
    div[:, -1] += Nb[1]
    if boundary_flux_in is not None:
        div[:, 0] -= boundary_flux_in[0]
        div[:, -1] -= boundary_flux_in[1]
    if c_old is not None:
        div += dx * (c - c_old) / dt
    if steady_closed is None:
        steady_closed = p.closed and c_old is None
    if p.reactions:
        t = cache["local"] if cache is not None else local_terms(p, psi, c, w)
        for nu, r, _ in reaction_terms(p, t):
            div -= nu[:, None] * r[None, :] * dx
    R_c = np.where(p.present, div * g.row_c, 0.0)
    if gauge and not np.any(np.isfinite(p.psi_bc)):
        R_psi[-1] = psi[-1]      # gauge: the last Poisson row is implied by charge conservation
    if steady_closed:
        _closed_rows(p, g, c, R_c)
    return R_psi, R_c


def reaction_terms(p, t):
    """[(nu (S,), r (N,), {species: dr/dc_species (N,)})] of the problem's reactions at the state whose
    `local_terms` are t (`laws.lattice_mass_action`; log K = -sum nu m, the reactions being neutral)."""
    out = []
    for rx in p.reactions:
        reactants = [s for s in range(p.n_species) for _ in range(int(max(-rx.nu[s], 0)))]
        products = [s for s in range(p.n_species) for _ in range(int(max(rx.nu[s], 0)))]
        log_K = -(rx.nu[:, None] * np.where(p.present, p.mu0, 0.0)).sum(axis=0)
        r, d_r, d_p = laws.lattice_mass_action(rx.rate, rx.c_ref, log_K, t.theta[reactants], t.one_minus[reactants],
                                               t.theta[products], t.one_minus[products])
        slopes = {}
        for s, d in zip(reactants + products, list(d_r) + list(d_p)):
            slopes[s] = slopes.get(s, 0.0) + d / t.cmax[s]
        out.append((rx.nu, r, slopes))
    return out


def conserved_quantities(p, g=None):
    """[(s, k, a (S,), cells, target, scale)] of every conserved quantity of the problem: for each connected
    region of a group of species that its reactions link (one species alone without reactions) and that
    touches no reservoir, each combination sum_s a_s inventory_s that the reactions leave unchanged (an
    orthonormal basis of the null space of their stoichiometry).  Its equation
    (sum_cells sum_s a_s c_s dx - target) / scale = 0, target its value in `p.inventory_c` (the bulk values
    when None), replaces the balance row of
    species s in cell k in a steady closed problem (`residual`, `jacobian`) and in the impedance system."""
    held = np.where(p.present, p.c_bulk if p.inventory_c is None else p.inventory_c, 0.0)
    key = ("conserved", np.isfinite(p.c_bc).tobytes(), np.isfinite(p.eta_bc).tobytes(),
           tuple((tuple(rx.nu), rx.rate.tobytes()) for rx in p.reactions), hash(held.tobytes()))
    if g is not None and key in g.shared:
        return g.shared[key]
    S = p.n_species
    dx = p.mesh.widths
    linked = {s: {s} for s in range(S)}
    for rx in p.reactions:
        if np.any(rx.rate > 0):
            group = set(np.flatnonzero(rx.nu))
            for s in group:
                linked[s] |= group
    comps = {s: p.components(s) for s in range(S)}
    out, done = [], set()
    for s in range(S):
        for idx in comps[s]:
            if (s, int(idx[0])) in done:
                continue
            members = [(u, c) for u in sorted(linked[s]) for c in comps[u] if np.intersect1d(c, idx).size]
            done.update((u, int(c[0])) for u, c in members)
            if any(np.isfinite(p.c_bc[b, u]) or np.isfinite(p.eta_bc[b, u])
                   for u, c in members for b, kk in ((0, 0), (1, p.n - 1)) if kk in (c[0], c[-1])):
                continue                                 # a reservoir changes it
            cells = np.unique(np.concatenate([c for _, c in members]))
            species = [u for u, _ in members]
            nu = np.array([rx.nu[species] for rx in p.reactions
                           if np.any(rx.rate[cells] > 0)]).reshape(-1, len(species))
            basis = _null_space(nu) if nu.size else np.eye(len(species))
            for j, a_sub in enumerate(basis.T):
                u, c = members[j]
                a = np.zeros(S)
                a[species] = a_sub
                target = float(np.sum(a[:, None] * held[:, cells] * dx[cells]))
                scale = float(np.sum(np.abs(a)[:, None] * np.where(p.present, p.c_bulk, 0.0)[:, cells] * dx[cells]))
                out.append((u, int(c[-1]), a, cells, target, max(scale, 1e-300)))
    if g is not None:
        g.shared[key] = out
    return out


def _null_space(A, tol=1e-12):
    """Orthonormal basis (columns) of the null space of A."""
    _, sv, vt = np.linalg.svd(A)
    rank = int(np.sum(sv > tol * max(1.0, sv.max() if sv.size else 0.0)))
    return vt[rank:].T


def _closed_rows(p, g, c, R_c):
    for s, k, a, cells, target, scale in conserved_quantities(p, g):
        R_c[s, k] = (float(np.sum(a[:, None] * c[:, cells] * g.dx[cells])) - target) / scale


def jacobian(p, g, psi, c, dt=None, steady_closed=None, w=None, fluxes=None):
    """Jacobian of `residual` w.r.t. (psi, c), as COO triplets in the interleaved ordering
    i = m k + a (a = 0: psi; a = 1 + s: species s; m = 1 + S).  fluxes: the cache filled by
    `residual(..., cache=)` at this same state (saves evaluating the fluxes again)."""
    S_ = p.n_species
    m = 1 + S_
    n = p.n
    V_T = p.thermal_voltage
    rows, cols, vals = [], [], []
    k = np.arange(n)
    # the (rows, cols) of the entries below never change for one structure of the problem
    key = (n, S_, tuple(tuple(rx.nu) for rx in p.reactions))
    pattern = g.shared.get("jacobian")
    if pattern is not None and pattern[2] != key:
        pattern = None

    def add(r_cell, r_var, c_cell, c_var, v):
        if pattern is None:
            rows.append(m * r_cell + r_var)
            cols.append(m * c_cell + c_var)
        vals.append(v)

    # Poisson: d/dpsi
    a = g.eps_f * V_T / g.h
    diag = np.zeros(n)
    diag[:-1] -= a
    diag[1:] -= a
    for b, kk in ((0, 0), (1, n - 1)):
        if np.isfinite(p.psi_bc[b]):
            diag[kk] -= g.eps_b[b] * V_T / (g.dx[kk] / 2)
    add(k, 0, k, 0, diag * g.row_psi)
    add(k[:-1], 0, k[1:], 0, a * g.row_psi[:-1])
    add(k[1:], 0, k[:-1], 0, a * g.row_psi[1:])
    for s in range(S_):
        add(k, 0, k, 1 + s, FARADAY * p.z[s] * g.dx * g.row_psi)
    # Nernst-Planck
    if fluxes is None:
        fluxes = fluxes_with_derivatives(p, g, psi, c, w)
    N, dK, dL, dpL = fluxes["face"]
    Nb, dNb_dc, dNb_dpsi = fluxes["boundary"]
    for s in range(S_):
        sc = g.row_c[s]
        dd = np.zeros(n)
        dd[:-1] += dK[s]
        dd[1:] -= dL[s]
        dd[0] -= dNb_dc[0, s]
        dd[-1] += dNb_dc[1, s]
        if dt is not None:
            dd += g.dx / dt
        dps = np.zeros(n)
        dps[:-1] += -dpL[s]
        dps[1:] -= dpL[s]
        dps[0] -= dNb_dpsi[0, s]
        dps[-1] += dNb_dpsi[1, s]
        add(k, 1 + s, k, 1 + s, dd * sc)
        add(k[:-1], 1 + s, k[1:], 1 + s, dL[s] * sc[:-1])       # row K, col L
        add(k[1:], 1 + s, k[:-1], 1 + s, -dK[s] * sc[1:])       # row L, col K
        add(k, 1 + s, k, 0, dps * sc)
        add(k[:-1], 1 + s, k[1:], 0, dpL[s] * sc[:-1])
        add(k[1:], 1 + s, k[:-1], 0, dpL[s] * sc[1:])           # row L: -(dN/dpsi_K) = +dpL
    if steady_closed is None:
        steady_closed = p.closed and dt is None
    if p.reactions:                           # local couplings of the species in each cell
        t = fluxes["local"] if "local" in fluxes else local_terms(p, psi, c, w)
        for nu, _, slopes in reaction_terms(p, t):
            for s in np.flatnonzero(nu):
                for u, d in slopes.items():
                    add(k, 1 + s, k, 1 + u, -nu[s] * d * g.dx * g.row_c[s])
    if pattern is None:
        g.shared["jacobian"] = pattern = (np.concatenate(rows), np.concatenate(cols), key)
    rows, cols = pattern[0], pattern[1]
    vals = np.concatenate(vals)
    # absent cells: rows of zeros; the solver replaces them by identity
    return _replaced_rows(p, g, rows, cols, vals, steady_closed)


def _replaced_rows(p, g, rows, cols, vals, steady_closed):
    """Replace the gauge row and, for a steady closed problem, one balance per region by its
    inventory (see `residual`).  Returns triplets and the list of dense row indices."""
    m = 1 + p.n_species
    drop = []
    extra_r, extra_c, extra_v = [], [], []
    if not np.any(np.isfinite(p.psi_bc)):
        r = m * (p.n - 1)
        drop.append(r)
        extra_r.append([r]); extra_c.append([r]); extra_v.append([1.0])
    dense = []
    for s, k, a, cells, target, scale in (conserved_quantities(p, g) if steady_closed else []):
        r = m * k + 1 + s
        drop.append(r)
        dense.append(r)
        for u in np.flatnonzero(a):
            extra_r.append(np.full(cells.size, r)); extra_c.append(m * cells + 1 + u)
            extra_v.append(a[u] * g.dx[cells] / scale)
    if not drop:
        return rows, cols, vals, dense
    keep = ~np.isin(rows, drop)
    rows = np.concatenate([rows[keep]] + [np.asarray(x) for x in extra_r])
    cols = np.concatenate([cols[keep]] + [np.asarray(x) for x in extra_c])
    vals = np.concatenate([vals[keep]] + [np.asarray(x, float) for x in extra_v])
    return rows, cols, vals, dense
