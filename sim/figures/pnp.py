"""SCL profiles near the interface and R_SCL / thickness against cathode potential."""
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt

from .style import PALETTE, TWO_COLUMN_IN, label, save


def profiles(result, out_dir, formats):
    x = result.value("pnp/x")
    xi = np.atleast_1d(result.value("pnp/interfaces"))
    x0 = xi[-1] if xi.size else 0.0
    fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.6))
    c = result["pnp/c/Li"]
    cb = result.value("pnp/c_bulk/Li")
    with np.errstate(divide="ignore", invalid="ignore"):
        axes[0].semilogy((x - x0) * 1e9, np.where(cb > 0, c.value / cb, np.nan), color=PALETTE[0])
    axes[0].set_ylabel("Li+ concentration / bulk")
    axes[1].plot((x - x0) * 1e9, result.value("pnp/phi"), color=PALETTE[1])
    axes[1].set_ylabel(label("potential", "V"))
    for ax in axes:
        ax.set_xlabel(label("distance from the electrolyte interface", "nm"))
        ax.set_xlim(-5, 5)
        for v in xi:
            ax.axvline((v - x0) * 1e9, color="0.5", lw=0.6, ls=":")
    U = float(result.value("pnp/cathode_potential"))
    fig.suptitle(f"{result.attrs.get('case_path', '')}: U = {U:.2f} V vs Li", fontsize=8)
    return save(fig, out_dir, "pnp_profiles", formats)


def sweep(result, out_dir, formats):
    U = result["pnp/sweep/cathode_potential"]
    fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.6))
    n_if = len([g for g in result.groups("pnp/sweep/observables") if g.startswith("interface_")])
    for i in range(n_if):
        g = f"pnp/sweep/observables/interface_{i}"
        name = result[f"{g}/right/r_scl"].attrs.get("interface", f"interface {i}")
        for j, side in enumerate(("left", "right")):
            r = result[f"{g}/{side}/r_scl"]
            axes[0].plot(U.value, r.value, color=PALETTE[2 * i + j], label=f"{name} ({side})")
            t = result[f"{g}/{side}/thickness_1pct"]
            axes[1].plot(U.value, t.value * 1e9, color=PALETTE[2 * i + j], label=f"{name} ({side})")
    axes[0].set_yscale("symlog", linthresh=1e-3)      # accumulation sides are negative
    axes[0].set_ylabel(label("R_SCL", "ohm cm^2"))
    axes[1].set_ylabel(label("SCL thickness (1 % criterion)", "nm"))
    for ax in axes:
        ax.set_xlabel(label("cathode potential vs Li/Li+", U.units))
        ax.legend()
    return save(fig, out_dir, "pnp_sweep_rscl_thickness", formats)


def render(result, out_dir, formats):
    paths = []
    if "pnp/x" in result and "pnp/c/Li" in result:
        paths += profiles(result, out_dir, formats)
    if "pnp/sweep/cathode_potential" in result:
        paths += sweep(result, out_dir, formats)
    return paths


def compare(results, out_dir, formats):
    """Overlay several pnp results (e.g. with and without a LiNbO3 buffer): Li+ and phi near the
    electrolyte interface, and the electrolyte-side R_SCL and SCL thickness against potential."""
    pnp = [r for r in results if "pnp/x" in r and "pnp/c/Li" in r]
    if len(pnp) < 2:
        return []
    paths = []
    fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.6))
    for i, r in enumerate(pnp):
        x = r.value("pnp/x")
        x0 = np.atleast_1d(r.value("pnp/interfaces"))[-1]
        cb = r.value("pnp/c_bulk/Li")
        name = r.parameters.get("title") or Path(str(r.path)).stem
        with np.errstate(divide="ignore", invalid="ignore"):
            axes[0].semilogy((x - x0) * 1e9, np.where(cb > 0, r.value("pnp/c/Li") / cb, np.nan), color=PALETTE[i], label=name)
        axes[1].plot((x - x0) * 1e9, r.value("pnp/phi") - r.value("pnp/phi")[-1], color=PALETTE[i], label=name)
    axes[0].set_ylabel("Li+ concentration / bulk")
    axes[1].set_ylabel(label("potential vs electrolyte bulk", "V"))
    for ax in axes:
        ax.set_xlabel(label("distance from the electrolyte interface", "nm"))
        ax.set_xlim(-8, 4)
        ax.legend(fontsize=6)
    paths += save(fig, out_dir, "compare_profiles", formats)
    swept = [r for r in pnp if "pnp/sweep/cathode_potential" in r]
    if len(swept) >= 2:
        fig, axes = plt.subplots(1, 2, figsize=(TWO_COLUMN_IN, 2.6))
        for i, r in enumerate(swept):
            n_if = len([g for g in r.groups("pnp/sweep/observables") if g.startswith("interface_")])
            g = f"pnp/sweep/observables/interface_{n_if - 1}/right"
            U = r.value("pnp/sweep/cathode_potential")
            name = Path(str(r.path)).stem
            axes[0].plot(U, r.value(f"{g}/r_scl"), color=PALETTE[i], label=name)
            axes[0].plot(U, r.value("pnp/sweep/observables/total_interfacial_asr"),
                         color=PALETTE[i], ls="--", label=f"{name}: total")
            axes[1].plot(U, r.value(f"{g}/thickness_1pct") * 1e9, color=PALETTE[i], label=name)
        axes[0].set_yscale("symlog", linthresh=1e-3)   # accumulation sides are negative
        axes[0].set_ylabel(label("R_SCL, electrolyte side", "ohm cm^2"))
        axes[1].set_ylabel(label("electrolyte SCL thickness (1 %)", "nm"))
        for ax in axes:
            ax.set_xlabel(label("cathode potential vs Li/Li+", "V"))
            ax.legend(fontsize=6)
        paths += save(fig, out_dir, "compare_rscl_vs_potential", formats)
    return paths
