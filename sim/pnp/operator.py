"""The discrete PNP operator shared by both solvers: residual and analytic Jacobian.

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

the continuum flux N = -D c (1-theta) d(eta/kT)/dx equals -D (1-theta) (dc/dx + c dPhi/dx),
discretised as

    N_KL = D_f (1 - theta_f) / h_f [ B(dPhi) c_K - B(-dPhi) c_L ],  dPhi = Phi_L - Phi_K,
    B(t) = t / (e^t - 1),  theta_f = (theta_K + theta_L) / 2.

N_KL = 0 exactly when ln c + Phi (= eta / kT + const) is equal in K and L: the discrete
equilibrium is exact.  On a face between layers Phi carries the mu0 and c_max steps, so eta is
continuous and c jumps.  Faces to a cell where the species is absent carry no flux.
"""
from __future__ import annotations

import math
import threading
import copy
from dataclasses import dataclass, field

import numpy as np

from sim.pnp import kernel_policy
from sim.units import FARADAY, VACUUM_PERMITTIVITY

SMALL_T = 1e-4


def bernoulli(t):
    """B(t) = t / (e^t - 1) and its derivative B' = (B / t)(1 - B) - B, stable for all t: the
    series 1 - t/2 + t^2/12 and -1/2 + t/6 - t^3/180 for |t| < SMALL_T, B = 0 for t -> +inf.
    (The series are evaluated on the small entries only: the same values as over all entries.)"""
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


def bernoulli_scalar(t):
    """Scalar B(t) and B'(t) without numpy overhead (boundary faces)."""
    if abs(t) < SMALL_T:
        return 1.0 - t / 2 + t * t / 12, -0.5 + t / 6 - t ** 3 / 180
    if t > 700.0:
        return 0.0, 0.0
    B = t / math.expm1(t)
    return B, (B / t) * (1.0 - B) - B


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
    kernel: bool = False  # evaluate with the compiled kernels (`kernel_policy`)
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
        return _copy(last[1], kernel_policy.use_kernels(p.n))
    g = _geometry(p)
    _LAST_GEOMETRY.entry = (source, g)
    return _copy(g, g.kernel)


def _copy(g, kernel):
    """A shallow copy of g (its arrays and `shared` dict shared) with `kernel` set (copy.copy: a
    tenth of dataclasses.replace, which runs __init__ over every field)."""
    out = copy.copy(g)
    out.kernel = kernel
    return out


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
    return Geometry(dx, h, eps_f, eps[[0, -1]], D_f, both, comps, row_psi, row_c, c_s,
                    kernel=kernel_policy.use_kernels(p.n))


def occupancy(p, c, w=None):
    """(theta, 1 - theta, ln(1 - theta), c_max with 1 where absent) of every species and cell.

    From the logit w = ln(theta / (1 - theta)) when it is given, so that 1 - theta stays accurate
    next to saturation (theta -> 1) and theta next to depletion: theta = 1 / (1 + e^-w),
    1 - theta = 1 / (1 + e^w), ln(1 - theta) = -ln(1 + e^w).  From c = theta c_max otherwise.
    """
    cmax = np.where(p.present, p.c_max, 1.0)
    if w is None:
        theta = np.where(p.present, c / cmax, 0.0)
        one_minus = 1.0 - theta
        return theta, one_minus, np.log(one_minus), cmax
    w = np.where(p.present, w, -np.inf)
    theta = np.exp(-np.logaddexp(0.0, -w))
    log_om = -np.logaddexp(0.0, w)
    return theta, np.exp(log_om), log_om, cmax


def _phi(p, psi, c, w=None):
    """Effective potential Phi (S, N), d Phi / d c, theta, 1 - theta and c_max."""
    theta, one_minus, log_om, cmax = occupancy(p, c, w)
    Phi = p.z[:, None] * psi[None, :] + p.mu0 - np.log(cmax) - log_om
    dPhi_dc = 1.0 / (cmax * one_minus)
    return Phi, dPhi_dc, theta, one_minus, cmax


def effective_potential(p, g, psi, c, w=None):
    """`_phi`, by the compiled kernel when the geometry says so."""
    if not g.kernel:
        return _phi(p, psi, c, w)
    use_w = w is not None
    return kernel_policy.kernels().phi_terms(                 # without w, c stands in for it (unread)
        np.asarray(p.z, float), psi, np.asarray(p.mu0, float), p.present, np.asarray(p.c_max, float), c,
        np.asarray(w, float) if use_w else c, use_w)


def face_fluxes(p, g, psi, c, with_derivatives=False, w=None, phi_terms=None):
    """Interior face fluxes N (S, N-1), mol m^-2 s^-1, positive to the right.

    With derivatives, also returns dN/dc_K, dN/dc_L, dN/dpsi_L (= -dN/dpsi_K), each (S, N-1).
    w: the logit of the occupancy, for accurate 1 - theta (see `occupancy`).  phi_terms: `_phi`
    at this state, if already computed.
    """
    Phi, dPhi_dc, theta, one_minus, cmax = effective_potential(p, g, psi, c, w) if phi_terms is None else phi_terms
    if g.kernel:
        N, dN_dcK, dN_dcL, dN_dpsiL = kernel_policy.kernels().face_terms(
            Phi, dPhi_dc, one_minus, cmax, c, np.asarray(p.z, float), g.D_f, g.h, g.open_f)
        if p.kinetics:
            _butler_volmer(p, Phi, one_minus, c, N, dN_dcK, dN_dcL, dN_dpsiL)
        return (N, dN_dcK, dN_dcL, dN_dpsiL) if with_derivatives else N
    dPhi = Phi[:, 1:] - Phi[:, :-1]
    dPhi = np.where(g.open_f, dPhi, 0.0)
    B1, dB1 = bernoulli(dPhi)
    B2, dB2 = bernoulli(-dPhi)
    cK, cL = c[:, :-1], c[:, 1:]
    A = g.D_f * (0.5 * (one_minus[:, :-1] + one_minus[:, 1:])) / g.h
    S = B1 * cK - B2 * cL
    N = A * S
    G = dB1 * cK + dB2 * cL                     # dS / d dPhi
    dA_dcK = -g.D_f / (2 * g.h * cmax[:, :-1])
    dA_dcL = -g.D_f / (2 * g.h * cmax[:, 1:])
    dN_dcK = A * B1 - A * G * dPhi_dc[:, :-1] + dA_dcK * S
    dN_dcL = -A * B2 + A * G * dPhi_dc[:, 1:] + dA_dcL * S
    dN_dpsiL = A * G * p.z[:, None]
    if p.kinetics:
        _butler_volmer(p, Phi, one_minus, c, N, dN_dcK, dN_dcL, dN_dpsiL)
    if not with_derivatives:
        return N
    return N, dN_dcK, dN_dcL, dN_dpsiL


def _butler_volmer(p, Phi, one_minus, c, N, dK, dL, dpL):
    """Replace the flux of one species on one interface face by Butler-Volmer kinetics:

        N = i0 / (|z| F) [exp(alpha d) - exp(-(1 - alpha) d)],  d = (eta_K - eta_L) / kT

    with eta / kT = ln c + Phi.  d = 0 (continuous eta) gives zero flux, so equilibria are
    the same as with ideal interfaces; large i0 recovers the ideal (continuous-eta) limit."""
    kin = p.kinetics
    j, a = kin["face"], kin["alpha"]
    K, L = j, j + 1
    species = kin["species"] if np.ndim(kin["species"]) else [kin["species"]]
    for s in species:
        d = (np.log(c[s, K]) + Phi[s, K]) - (np.log(c[s, L]) + Phi[s, L])
        r = kin["i0"] / (abs(p.z[s]) * FARADAY)
        ea, eb = np.exp(a * d), np.exp(-(1 - a) * d)
        G = r * (a * ea + (1 - a) * eb)
        N[s, j] = r * (ea - eb)
        dK[s, j] = G / (c[s, K] * one_minus[s, K])
        dL[s, j] = -G / (c[s, L] * one_minus[s, L])
        dpL[s, j] = -G * p.z[s]


def boundary_fluxes(p, g, psi, c, with_derivatives=False, w=None, phi_terms=None):
    """Fluxes through the outer faces (2, S), positive to the right, and their derivatives
    with respect to c and psi of the adjacent cell (each (2, S)): `boundary_terms`, as plain
    Python or compiled (`kernels.boundary_terms`, the same source)."""
    Phi, dPhi_dc, theta, one_minus, cmax = effective_potential(p, g, psi, c, w) if phi_terms is None else phi_terms
    fn = kernel_policy.kernels().boundary_terms if g.kernel else boundary_terms
    N, dNdc, dNdpsi = fn(psi, c, Phi, dPhi_dc, one_minus, cmax, np.asarray(p.z, float), np.asarray(p.mu0, float),
                         np.asarray(p.D, float), g.dx, p.present, np.asarray(p.c_bc, float),
                         np.asarray(p.eta_bc, float), np.asarray(p.psi_bc, float))
    return (N, dNdc, dNdpsi) if with_derivatives else N


def boundary_terms(psi, c, Phi, dPhi_dc, om, cmax, z, mu0, D, dx, present, c_bc, eta_bc, psi_bc):
    """Outer-face fluxes Nb (2, S) and dNb/dc, dNb/dpsi of the adjacent cell.

    Boundary states, over half a cell: a Dirichlet concentration c_bc (at psi_bc, or at the
    cell's psi under zero field where psi_bc is NaN), or a reservoir at electrochemical potential
    eta_bc (kT), whose occupancy at the cell's potential is theta_b = 1 / (1 + exp(-(eta_bc - m -
    z psi_k))); the flux is the Scharfetter-Gummel flux of `face_fluxes` over the half cell.
    Written so that numba compiles it as it stands (`kernels.boundary_terms`, with the compiled
    Bernoulli function in place of `bernoulli_scalar`)."""
    S, n = c.shape
    N, dNdc, dNdpsi = np.zeros((2, S)), np.zeros((2, S)), np.zeros((2, S))
    for b in range(2):
        k = 0 if b == 0 else n - 1
        for s in range(S):
            cb, eta = c_bc[b, s], eta_bc[b, s]
            if not present[s, k] or (math.isnan(cb) and math.isnan(eta)):
                continue
            zs, cm = z[s], cmax[s, k]
            if math.isfinite(eta):                 # reservoir at fixed eta, at the cell potential
                wb = eta - mu0[s, k] - zs * psi[k]
                thb, omb = 1.0 / (1.0 + math.exp(-wb)), 1.0 / (1.0 + math.exp(wb))
                dthb = -zs * thb * omb
                psib, dpsib = psi[k], 1.0
            else:
                thb, omb, dthb = cb / cm, 1.0 - cb / cm, 0.0
                if math.isfinite(psi_bc[b]):
                    psib, dpsib = psi_bc[b], 0.0
                else:                              # zero field: the boundary state follows the cell
                    psib, dpsib = psi[k], 1.0
            cbv, dcb = cm * thb, cm * dthb
            Phib = zs * psib + mu0[s, k] - math.log(cm) - math.log(omb)
            dPhib = zs * dpsib + dthb / omb
            h = dx[k] / 2
            A = D[s, k] * 0.5 * (omb + om[s, k]) / h
            dA_dc = -D[s, k] / (2 * h * cm)
            dA_dpsi = -D[s, k] * dthb / (2 * h)
            if b == 0:      # boundary state on the left (K), cell on the right (L)
                d = Phi[s, k] - Phib
                dd_dpsi = zs - dPhib
                B1, dB1 = bernoulli_scalar(d)
                B2, dB2 = bernoulli_scalar(-d)
                Sv = B1 * cbv - B2 * c[s, k]
                G = dB1 * cbv + dB2 * c[s, k]
                dNdc[b, s] = -A * B2 + A * G * dPhi_dc[s, k] + dA_dc * Sv
                dS_dpsi = G * dd_dpsi + B1 * dcb
            else:           # cell on the left (K), boundary state on the right (L)
                d = Phib - Phi[s, k]
                dd_dpsi = dPhib - zs
                B1, dB1 = bernoulli_scalar(d)
                B2, dB2 = bernoulli_scalar(-d)
                Sv = B1 * c[s, k] - B2 * cbv
                G = dB1 * c[s, k] + dB2 * cbv
                dNdc[b, s] = A * B1 - A * G * dPhi_dc[s, k] + dA_dc * Sv
                dS_dpsi = G * dd_dpsi - B2 * dcb
            N[b, s] = A * Sv
            dNdpsi[b, s] = dA_dpsi * Sv + A * dS_dpsi
    return N, dNdc, dNdpsi


def fluxes_with_derivatives(p, g, psi, c, w=None):
    """What Newton needs at one state, evaluated once: {"face": `face_fluxes` with derivatives,
    "boundary": `boundary_fluxes` with derivatives, "one_minus": 1 - theta (S, N)}."""
    terms = effective_potential(p, g, psi, c, w)
    return {"face": face_fluxes(p, g, psi, c, with_derivatives=True, w=w, phi_terms=terms),
            "boundary": boundary_fluxes(p, g, psi, c, with_derivatives=True, w=w, phi_terms=terms),
            "one_minus": terms[3]}


def _interior_and_boundary_fluxes(p, g, psi, c, w, cache):
    """(face fluxes N (S, N-1), boundary fluxes Nb (2, S)); with a cache dict, evaluated with their
    derivatives and kept there for the Jacobian at the same state."""
    if cache is None:
        terms = effective_potential(p, g, psi, c, w)
        return (face_fluxes(p, g, psi, c, w=w, phi_terms=terms),
                boundary_fluxes(p, g, psi, c, w=w, phi_terms=terms))
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
    R_c = np.where(p.present, div * g.row_c, 0.0)
    if gauge and not np.any(np.isfinite(p.psi_bc)):
        R_psi[-1] = psi[-1]      # gauge: the last Poisson row is implied by charge conservation
    if steady_closed is None:
        steady_closed = p.closed and c_old is None
    if steady_closed:
        _closed_rows(p, g, c, R_c)
    return R_psi, R_c


def residual_vector(p, g, psi, c, c_old=None, dt=None, boundary_flux_in=None, w=None, cache=None):
    """`residual` (gauge on, not steady-closed) interleaved as Newton's unknowns, (1 + S) N values
    ordered psi_k, c_0k, ..., c_(S-1)k cell by cell, by the compiled `kernels.residual_assemble`
    after the fluxes: the kernel path of open and transient problems, where the ~20 NumPy passes of
    the assembly cost as much as the compiled fluxes."""
    N, Nb = _interior_and_boundary_fluxes(p, g, psi, c, w, cache)
    S = p.n_species
    storage = c_old is not None
    return kernel_policy.kernels().residual_assemble(
        psi, c, np.asarray(p.z, float), np.asarray(p.c_bg, float), g.eps_f, p.thermal_voltage, g.h, g.eps_b,
        np.asarray(p.psi_bc, float), g.dx, FARADAY, g.row_psi, N, Nb, p.present, g.row_c,
        np.zeros((2, S)) if boundary_flux_in is None else np.asarray(boundary_flux_in, float),
        c_old if storage else c, float(dt) if storage else 1.0, storage, not np.any(np.isfinite(p.psi_bc)),
        np.empty((1 + S) * p.n))


def _closed_rows(p, g, c, R_c):
    for s, comps in enumerate(g.comps):
        for idx in comps:
            if np.any(np.isfinite(p.c_bc[:, s])) and (idx[0] == 0 or idx[-1] == p.n - 1):
                continue  # region touches a reservoir: not closed
            k = idx[-1]
            target = np.sum(p.c_bulk[s, idx] * g.dx[idx])
            R_c[s, k] = (np.sum(c[s, idx] * g.dx[idx]) - target) / target


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
    pattern = g.shared.get("jacobian")    # the (rows, cols) of the entries below never change
    if pattern is not None and pattern[2] != (n, S_):
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
    if pattern is None:
        g.shared["jacobian"] = pattern = (np.concatenate(rows), np.concatenate(cols), (n, S_))
    rows, cols = pattern[0], pattern[1]
    vals = np.concatenate(vals)
    # absent cells: rows of zeros; the solver replaces them by identity
    if steady_closed is None:
        steady_closed = p.closed and dt is None
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
    for s, comps in enumerate(g.comps if steady_closed else []):
        for idx in comps:
            if np.any(np.isfinite(p.c_bc[:, s])) and (idx[0] == 0 or idx[-1] == p.n - 1):
                continue
            r = m * idx[-1] + 1 + s
            target = np.sum(p.c_bulk[s, idx] * g.dx[idx])
            drop.append(r)
            dense.append(r)
            extra_r.append(np.full(idx.size, r)); extra_c.append(m * idx + 1 + s); extra_v.append(g.dx[idx] / target)
    if not drop:
        return rows, cols, vals, dense
    keep = ~np.isin(rows, drop)
    rows = np.concatenate([rows[keep]] + [np.asarray(x) for x in extra_r])
    cols = np.concatenate([cols[keep]] + [np.asarray(x) for x in extra_c])
    vals = np.concatenate([vals[keep]] + [np.asarray(x, float) for x in extra_v])
    return rows, cols, vals, dense
