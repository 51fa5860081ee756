"""Sensitivity indices, quantiles and threshold probabilities of sampled outputs (SALib; no I/O).

For one output sampled at P points (P = 1 for a scalar) the runs form a matrix Y (runs, P) in blocks of
`design.block_size` rows.  At each point:

- Sobol' (Saltelli design) of Y or of a transform of it (`transformed`): first-order S1_i = V[E(Y|X_i)] / V(Y) and total ST_i = E[V(Y|X_~i)] / V(Y)
  with SALib's estimators (Saltelli 2010 for S1, Jansen 1999 for ST) over the blocks whose runs all gave a
  value there; confidence intervals are half-widths at 95 % from SALib's bootstrap over those blocks.
- Morris: mu* (mean |elementary effect|), its 95 % bootstrap half-width, mu and sigma, over complete
  trajectories; an elementary effect is the output's change per step of the input's range scaled to
  [0, 1], so mu* has the output's unit.
- quantiles, mean and standard deviation over every run with a value there (each run's inputs follow the
  input distribution: Saltelli's A, B and mixed rows alike, Morris's points on their grid);
- P(Y < t) and P(Y > t) for each threshold t, among the runs with a value, with a 95 % half-width from a
  bootstrap over blocks.

A run that failed is NaN at every point; an output the model leaves undefined (NaN by design, e.g. an
excess resistance through a saturated layer) is NaN at that point only: `undefined_fraction` counts those
among the runs that did not fail.
"""
from __future__ import annotations

import warnings

import numpy as np

#: fewest complete blocks for which indices are given (NaN below: no variance estimate is meaningful)
MIN_BLOCKS = 2
RESAMPLES = 200
Z95 = 1.959963984540054          # two-sided 95 % quantile of the standard normal


def _nan(shape):
    return np.full(shape, np.nan)


TRANSFORMS = ("none", "log10", "rank")


def transformed(Y, how):
    """The output the indices are computed of: Y itself ("none"); log10 Y ("log10": for positive outputs over
    decades, whose variance a few large runs would own; Y <= 0 is left out as undefined); or the rank of Y
    among the runs with a value at each point, scaled to (0, 1) ("rank": the empirical distribution function,
    whatever the output's sign and tails; its indices say which input decides where in the distribution a run
    lands; Saltelli & Sobol, Reliab. Eng. Syst. Saf. 50 (1995) 225)."""
    Y = np.asarray(Y, float)
    if how == "log10":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(Y > 0, np.log10(np.where(Y > 0, Y, 1.0)), np.nan)
    if how == "rank":
        from scipy.stats import rankdata
        out = np.full_like(Y, np.nan)
        for p in range(Y.shape[1]):
            ok = np.isfinite(Y[:, p])
            out[ok, p] = rankdata(Y[ok, p]) / (ok.sum() + 1)
        return out
    return Y


def indices(method, prob, X, Y, block, seed, levels=4):
    """{name: (P, d) array} of the method's indices at each point, and the complete blocks used (P,)."""
    d = prob["num_vars"]
    P = Y.shape[1]
    names = ("S1", "S1_conf", "ST", "ST_conf") if method == "sobol" else ("mu_star", "mu_star_conf", "mu", "sigma")
    out = {k: _nan((P, d)) for k in names}
    used = np.zeros(P, dtype=np.int64)
    blocks = Y.reshape(-1, block, P)
    Xb = X.reshape(-1, block, d)
    for p in range(P):
        ok = np.isfinite(blocks[:, :, p]).all(axis=1)
        used[p] = int(ok.sum())
        y = blocks[ok, :, p]
        if used[p] < MIN_BLOCKS or np.ptp(y) == 0.0:       # too few blocks, or an output that does not vary
            continue
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")
            if method == "sobol":
                from SALib.analyze import sobol
                r = sobol.analyze(prob, y.ravel(), calc_second_order=False, num_resamples=RESAMPLES,
                                  conf_level=0.95, seed=seed + 1)
            else:
                from SALib.analyze import morris
                r = morris.analyze(prob, Xb[ok].reshape(-1, d), y.ravel(), num_resamples=RESAMPLES,
                                   conf_level=0.95, num_levels=levels, seed=seed + 1)
        for k in names:
            out[k][p] = np.asarray(r[k], float)
    return out, used


def distribution(Y, failed, probabilities):
    """{name: array} over the runs with a value at each point: quantiles (P, q), mean and std (P,), and
    undefined_fraction (P,) (NaN among the runs that did not fail)."""
    P = Y.shape[1]
    q = np.asarray(probabilities, float)
    quant, mean, std = _nan((P, q.size)), _nan(P), _nan(P)
    for p in range(P):
        v = Y[:, p][np.isfinite(Y[:, p])]
        if v.size:
            quant[p] = np.quantile(v, q)
            mean[p], std[p] = v.mean(), v.std(ddof=1) if v.size > 1 else np.nan
    ran = ~np.asarray(failed, bool)
    undefined = (np.isnan(Y[ran]).sum(axis=0) / ran.sum()) if ran.any() else _nan(P)
    return {"quantiles": quant, "mean": mean, "std": std, "undefined_fraction": undefined}


def exceedance(Y, block, thresholds, seed):
    """{name: (P, T) array}: P(Y < t), its 95 % half-width (bootstrap over blocks), and P(Y > t), among the
    runs with a value at each point."""
    t = np.asarray(thresholds, float)
    blocks = Y.reshape(-1, block, Y.shape[1])                       # (N, block, P)
    defined = np.isfinite(blocks).sum(axis=1).astype(float)         # (N, P)
    with np.errstate(invalid="ignore"):
        below = (blocks[..., None] < t).sum(axis=1).astype(float)   # (N, P, T)
        above = (blocks[..., None] > t).sum(axis=1).astype(float)
    n = defined.sum(axis=0)[:, None]                                # (P, 1)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)          # all-NaN points: NaN, said in the datasets' meaning
        p_below = np.where(n > 0, below.sum(axis=0) / n, np.nan)
        p_above = np.where(n > 0, above.sum(axis=0) / n, np.nan)
        rng = np.random.default_rng(seed + 2)
        pick = rng.integers(blocks.shape[0], size=(RESAMPLES, blocks.shape[0]))
        boot = below[pick].sum(axis=1) / defined[pick].sum(axis=1)[..., None]      # (R, P, T)
        conf = Z95 * np.nanstd(boot, axis=0, ddof=1) if blocks.shape[0] > 1 else np.full_like(p_below, np.nan)
    conf = np.where(np.isfinite(p_below), conf, np.nan)
    return {"probability_below": p_below, "probability_below_conf": conf, "probability_above": p_above}
