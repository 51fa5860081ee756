"""Input distributions and the sample designs of an uncertainty study (SALib), without case files or I/O.

An input is a dotted case key with a distribution, in the key's case-file unit:

    uniform           low, high               U(low, high)
    loguniform        low, high (> 0)         ln x ~ U(ln low, ln high)
    normal            mean, sd                N(mean, sd^2)
    truncated_normal  mean, sd, low, high     N(mean, sd^2) restricted to [low, high]
    lognormal         median, sd_ln           ln x ~ N(ln median, sd_ln^2)
    triangular        low, peak, high         density rising linearly from low to peak, falling to high

Designs (SALib): `sobol` draws Saltelli's cross-sampled matrices from a scrambled Sobol' sequence,
N (d + 2) runs for N base samples and d inputs (first-order and total indices; Saltelli 2002, Saltelli et
al. 2010); `morris` draws N trajectories of d + 1 runs on a grid of `levels` values per input (Morris
1991, Campolongo et al. 2007).  Each base sample is one *block* of runs: a Saltelli block
(A, AB_1 .. AB_d, B) or a Morris trajectory; a block with a failed run is dropped whole, which leaves
the others an unbiased design.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


#: distribution name -> (its parameters, SALib's name)
DISTRIBUTIONS = {
    "uniform": (("low", "high"), "unif"),
    "loguniform": (("low", "high"), "logunif"),
    "normal": (("mean", "sd"), "norm"),
    "truncated_normal": (("mean", "sd", "low", "high"), "truncnorm"),
    "lognormal": (("median", "sd_ln"), "lognorm"),
    "triangular": (("low", "peak", "high"), "triang"),
}
PARAMETERS = ("low", "high", "mean", "sd", "median", "sd_ln", "peak")
#: distributions without bounds: their support is taken as +-TAILS standard deviations (of x or of ln x)
UNBOUNDED = ("normal", "lognormal")
TAILS = 6.0
METHODS = ("sobol", "morris")


@dataclass(frozen=True)
class Distribution:
    """One input's distribution: a name of DISTRIBUTIONS and its parameters {name: value} (case-file unit)."""
    name: str
    params: dict

    def salib(self):
        """(SALib dist name, SALib bounds list)."""
        p = self.params
        if self.name == "truncated_normal":
            bounds = [p["low"], p["high"], p["mean"], p["sd"]]
        elif self.name == "lognormal":
            bounds = [math.log(p["median"]), p["sd_ln"]]
        elif self.name == "triangular":
            bounds = [p["low"], p["high"], (p["peak"] - p["low"]) / (p["high"] - p["low"])]
        else:
            bounds = [p[k] for k in DISTRIBUTIONS[self.name][0]]
        return DISTRIBUTIONS[self.name][1], bounds

    def support(self):
        """(lowest, highest) value a sample can take: the bounds, or +-TAILS sd for a normal or lognormal."""
        p = self.params
        if self.name == "normal":
            return p["mean"] - TAILS * p["sd"], p["mean"] + TAILS * p["sd"]
        if self.name == "lognormal":
            return p["median"] * math.exp(-TAILS * p["sd_ln"]), p["median"] * math.exp(TAILS * p["sd_ln"])
        return p["low"], p["high"]

    def describe(self, unit=""):
        """'log-uniform on [0.0001, 0.0004] S/cm' and the like."""
        u = f" {unit}" if unit and unit != "1" else ""
        p = {k: f"{v:.4g}" for k, v in self.params.items()}
        return {"uniform": f"uniform on [{p.get('low')}, {p.get('high')}]{u}",
                "loguniform": f"log-uniform on [{p.get('low')}, {p.get('high')}]{u}",
                "normal": f"normal, mean {p.get('mean')}{u}, sd {p.get('sd')}{u}",
                "truncated_normal": f"normal, mean {p.get('mean')}{u}, sd {p.get('sd')}{u}, truncated to "
                                    f"[{p.get('low')}, {p.get('high')}]{u}",
                "lognormal": f"log-normal, median {p.get('median')}{u}, sd of ln x {p.get('sd_ln')}",
                "triangular": f"triangular on [{p.get('low')}, {p.get('high')}]{u}, peak {p.get('peak')}{u}",
                }[self.name]


def problem(keys, distributions):
    """SALib's problem dict of the inputs (names = the dotted keys)."""
    dists, bounds = zip(*(d.salib() for d in distributions))
    return {"num_vars": len(keys), "names": list(keys), "bounds": list(bounds), "dists": list(dists)}


def block_size(method, d):
    """Runs per base sample: d + 2 (Saltelli, first-order and total indices) or d + 1 (a Morris trajectory)."""
    return d + 2 if method == "sobol" else d + 1


def runs(method, samples, d):
    """Number of model runs of a design."""
    return samples * block_size(method, d)


def sample(method, keys, distributions, samples, seed, levels=4):
    """The (runs, d) matrix of input values, in blocks of `block_size` rows (see the module docstring)."""
    import warnings
    prob = problem(keys, distributions)
    with warnings.catch_warnings():          # SALib's notes on its own defaults, not on the design
        warnings.simplefilter("ignore")
        if method == "sobol":
            from SALib.sample import sobol
            return sobol.sample(prob, samples, calc_second_order=False, scramble=True, seed=seed)
        from SALib.sample import morris
        return morris.sample(prob, samples, num_levels=levels, seed=seed)
