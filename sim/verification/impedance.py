"""Verification figure of the impedance solver for docs/validation.md:
`python -m sim.verification.impedance [OUT_DIR]`.

A symmetric blocking cell (one mobile carrier on a fixed background, L = 40 Debye lengths) against
the analytic impedance of the linearised PNP equations, with the relative error against frequency
for three nested meshes (second order).  Prints the numbers the page quotes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.pnp import impedance as imp
from sim.pnp.analytic import debye_length
from sim.pnp.mesh import layered_mesh
from sim.pnp.problem import Problem
from sim.units import SI, VACUUM_PERMITTIVITY
from sim.figures.style import PALETTE, TWO_COLUMN_IN, label, save, use_style

T, EPS_R, C0, D = 298.15, 9.0, 3.1, 1e-13


def cell(mesh):
    n = mesh.n
    ones = np.ones((1, n))
    return Problem(mesh=mesh, temperature_K=T, eps_r=np.full(n, EPS_R), c_bg=np.full(n, C0), species=["Li"],
                   z=np.array([1.0]), present=np.ones((1, n), bool), c_max=1e12 * C0 * ones, c_bulk=C0 * ones,
                   mu0=np.zeros((1, n)), D=D * ones, psi_bc=np.array([0.0, 0.0]), c_bc=np.full((2, 1), np.nan),
                   closed=False, layer_names=["slab"])


def analytic(f, lam, L):
    """Blocking symmetric cell of linearised PNP: d2 dc/dx2 = k^2 dc, k^2 = (1 + s) / lambda^2, s = i w tau,
    tau = lambda^2 / D.  Written as

        Z = (tau lambda^2 k / eps) [2 tanh(k L / 2) / s + k L] / (1 + s)^2,

    which keeps every digit as w -> 0 (the 1/s term is the diffuse-layer capacitance; Re Z, ~ w^2 of
    |Z| there, comes from the imaginary part of tanh and from k L, with no cancellation)."""
    eps, tau = VACUUM_PERMITTIVITY * EPS_R, lam ** 2 / D
    s = 1j * 2 * np.pi * np.asarray(f, float) * tau
    k = np.sqrt(1 + s) / lam
    return tau * lam ** 2 * k / eps * (2 * np.tanh(k * L / 2) / s + k * L) / (1 + s) ** 2


def main(out_dir="docs/figures"):
    import matplotlib.pyplot as plt
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lam = debye_length(EPS_R, C0, T)
    L = 40 * lam
    f = np.geomspace(1e-2, 1e9, 67)
    Za = analytic(f, lam, L)
    base = layered_mesh([L], 0.05 * lam, 0.5 * lam, 1.1, grade_outer=(True, True))
    with use_style():
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.7))
        a1.plot(Za.real / SI["ohm cm^2"], -Za.imag / SI["ohm cm^2"], "k-", lw=0.8, label="analytic")
        errs = []
        for i, r in enumerate((1, 2, 4)):
            mesh = base.refined(r) if r > 1 else base
            p = cell(mesh)
            psi, c = p.initial_state()
            Z = imp.voltage_drive(p, psi, c, f)
            err = np.abs(Z / Za - 1)
            errs.append(err.max())
            if r == 4:
                a1.plot(Z.real / SI["ohm cm^2"], -Z.imag / SI["ohm cm^2"], "o", ms=2.5, color=PALETTE[0],
                        label=f"this code ({mesh.n} cells)")
            a2.loglog(f, err, color=PALETTE[i], label=f"{mesh.n} cells")
        a1.set_xlim(0, 2.5 * float(np.max(Za.real)) / SI["ohm cm^2"])
        a1.set_ylim(0, 2.5 * float(np.max(Za.real)) / SI["ohm cm^2"])
        a1.set_aspect("equal", adjustable="box")
        a1.set_xlabel(label("Z′", "Ω cm²"))
        a1.set_ylabel(label("−Z″", "Ω cm²"))
        a1.set_title("blocking cell, L = 40 λ", fontsize=7)
        a1.legend(fontsize=6, loc="upper right")
        a2.set_xlabel(label("frequency", "Hz"))
        a2.set_ylabel("|Z / Z$_{analytic}$ − 1|")
        a2.legend(fontsize=6)
        save(fig, out, "validation_impedance_blocking", ("png",))
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    print(f"blocking cell: max relative error {', '.join(f'{e:.2e}' for e in errs)}; orders "
          f"{', '.join(f'{o:.2f}' for o in orders)}; C_low analytic / (eps/2 lambda) - 1 = "
          f"{-1 / (2 * np.pi * f[0] * Za[0].imag) / (VACUUM_PERMITTIVITY * EPS_R / (2 * lam)) - 1:.1e}")


if __name__ == "__main__":
    from sim.verification.limits import cli
    main(cli(doc=__doc__))
