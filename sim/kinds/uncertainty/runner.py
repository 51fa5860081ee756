"""Runner of `uncertainty` cases: sample the inputs, run every sample of every case through the sweep
machinery (sim.studies: serial, process pool or Dask; resumable; digests), analyse the outputs.

1. The cases are read with `[fixed]` applied and the inputs resolved (sim.kinds.uncertainty.schema).
2. Each case runs once as it is (the *nominal* run): every output must exist there, as a number or a 1-D
   array along a coordinate (a sweep), before any sample runs.
3. SALib draws one design for all inputs; each case gets the columns of the inputs that reach a value in it,
   so that every case sees the same samples (paired: their differences are analysed too).
4. Each case's samples are a sweep (`sim.studies.spec.Sweep`) written to `<result>_samples/<case>.h5`
   beside the result, keeping only the outputs (and scalars) of each run; a study run again with the same
   design resumes from it: completed runs are read back, verified by their digests, and not computed again.
   In memory (`Simulation.solve()`) the samples go to a temporary folder.
5. Failed runs are NaN; the analysis (sim.kinds.uncertainty.analysis) says how many failed and uses the
   complete blocks at each point.
"""
from __future__ import annotations

import contextlib
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np

from sim.errors import CaseError, ResultFileError, SimError, with_origin
from sim.io import Q
from sim.kinds.uncertainty import analysis, design
from sim.kinds.uncertainty.schema import applies, base_cases, resolve_inputs

TOP = "uncertainty"
SAMPLE, INPUTS = (f"{TOP}/sample",), (f"{TOP}/inputs",)


def samples_folder(out):
    """Where the samples of a study written to `out` are kept: `<out without suffix>_samples/`."""
    out = Path(out)
    return out.with_name(f"{out.stem}_samples")


def flat(path):
    """An output path as one group name ('pnp/observables/x' -> 'pnp.observables.x', as sweep summaries
    name their columns)."""
    return path.strip("/").replace("/", ".")


def run(params, case_dir=None, case=None, out=None):
    file = Path(case.path) if case is not None else Path(case_dir or ".") / "<uncertainty case>"
    cases = base_cases(params, file)
    inputs = resolve_inputs(params, cases, file)
    keys = [i.key for i in inputs]
    method, N, seed = params["method"], params["samples"], params["seed"]
    prob = design.problem(keys, [i.distribution for i in inputs])
    X = design.sample(method, keys, [i.distribution for i in inputs], N, seed, params["levels"])
    block = design.block_size(method, len(keys))
    outputs = {c.label: [p.strip("/") for p in params["outputs"] + params["case_outputs"].get(c.label, [])]
               for c in cases}
    nominal = {c.label: _nominal(c, outputs[c.label], params, file) for c in cases}
    sweeps = {c.label: _sweep(c, inputs, X, outputs[c.label], params, file, case) for c in cases}
    ex = params["execution"]
    samples, failed, sample_files = {}, {}, {}
    with _folder(out) as folder:
        for c in cases:
            path = folder / f"{c.label}.h5"
            sample_files[c.label] = str(path) if out is not None else ""
            sweep, index = sweeps[c.label]
            got, bad = _run_samples(sweep, path, ex, nominal[c.label])
            samples[c.label] = {p: Sampled(v.values[index], v.units, v.coord, v.coord_path) for p, v in got.items()}
            failed[c.label] = bad[index]
    total_failed = sum(int(f.sum()) for f in failed.values())
    if total_failed:
        warnings.warn(f"{file}: {total_failed} of {len(X) * len(cases)} runs failed; their blocks are left out of "
                      "the indices (see uncertainty/<case>/run_failed, and the samples files for the errors)",
                      UserWarning, stacklevel=2)
    data = _common(params, inputs, X, cases, method, N, seed, total_failed)
    for c in cases:
        g = f"{TOP}/{c.label}"
        data[f"{g}/case_text"] = Q(c.text, "", {"case_path": str(c.path), "meaning": "the case file this study ran"})
        data[f"{g}/samples_file"] = Q(sample_files[c.label], "", {"meaning": "the sweep file of its runs ('' in memory)"})
        data[f"{g}/run_failed"] = Q(failed[c.label].astype(np.int8), "1", {"meaning": "1: the run failed"}, SAMPLE)
        data[f"{g}/failed_runs"] = Q(int(failed[c.label].sum()), "1")
        data[f"{g}/input_applies"] = Q(np.array([applies(k, c) for k in keys], dtype=np.int8), "1",
                                       {"meaning": "1: the input reaches a value in this case; 0: it has no effect "
                                                   "there (its indices are 0)"}, INPUTS)
        for path in outputs[c.label]:
            data.update(_output(f"{g}/{flat(path)}", samples[c.label][path], nominal[c.label][path], failed[c.label],
                                X, prob, block, params, params["thresholds"].get(path, []), _transform(params, path)))
    first = cases[0]
    for c in cases[1:]:
        g = f"{TOP}/difference/{c.label}_minus_{first.label}"
        both = failed[c.label] | failed[first.label]
        for path in (p.strip("/") for p in params["outputs"]):
            a, b = samples[c.label][path], samples[first.label][path]
            n_a, n_b = nominal[c.label][path], nominal[first.label][path]
            if a.coord is not None and (b.coord is None or not np.array_equal(a.coord.value, b.coord.value)):
                raise CaseError(file, "outputs", path, f"lies on other coordinates in {c.label} and {first.label}: "
                                "their difference is not defined (give both cases the same sweep)")
            diff = Sampled(a.values - b.values, a.units, a.coord, a.coord_path)
            how = _transform(params, path)
            group = _output(f"{g}/{flat(path)}", diff, Sampled(n_a.values - n_b.values, a.units), both,
                            X, prob, block, params, [0.0], "rank" if how == "log10" else how)
            for q in group.values():
                q.attrs = {**q.attrs, "difference": f"{c.label} minus {first.label}, run by run"}
            data.update(group)
    return data


def _transform(params, path):
    """The transform an output's indices are computed of (`transforms`, by path with or without a leading /)."""
    return next((v for k, v in params["transforms"].items() if k.strip("/") == path), "none")


class Sampled:
    """An output over the runs (values (runs,) or (runs, P)), or at the nominal run; its unit and the
    coordinate Q it lies along (None for a scalar)."""

    def __init__(self, values, units, coord=None, coord_path=""):
        self.values, self.units, self.coord, self.coord_path = np.asarray(values, float), units, coord, coord_path


@contextlib.contextmanager
def _folder(out):
    if out is None:
        with tempfile.TemporaryDirectory(prefix="sim-uncertainty-") as tmp:
            yield Path(tmp)
    else:
        folder = samples_folder(out)
        folder.mkdir(parents=True, exist_ok=True)
        yield folder


def _nominal(c, paths, params, file):
    """{output path: Sampled} of the case run as it is (with [fixed]); every output checked."""
    from sim.api import close_keys
    from sim.case import Case, validate_document
    from sim.run import compute
    kind, case_params = validate_document(c.doc, c.path)
    try:
        with warnings.catch_warnings():            # its warnings are the base case's, stored with its samples
            warnings.simplefilter("ignore")
            data = compute(Case(c.path, c.text, kind, case_params))
    except CaseError:
        raise
    except SimError as e:
        raise with_origin(e, f"{c.path} (the nominal run of {Path(file).name})") from None
    out = {}
    for path in paths:
        key = _key_of(path, params, c.label)
        q = data.get(path)
        if q is None:
            close = close_keys(path, data)
            raise CaseError(file, key, path, f"not a dataset of the result of {c.label}.toml"
                            + (f" (did you mean {', '.join(repr(k) for k in close)}?)" if close else ""))
        v = np.asarray(q.value)
        if isinstance(q.value, str) or v.dtype.kind not in "fiu":
            raise CaseError(file, key, path, f"not a number in the result of {c.label}.toml")
        if v.ndim > 1 or (v.ndim == 1 and len(q.dims) != 1):
            raise CaseError(file, key, path, f"has shape {v.shape} in {c.label}.toml: an output is a scalar or "
                            "1-D along a sweep")
        coord = data[q.dims[0]] if v.ndim == 1 else None
        out[path] = Sampled(v, q.units, coord, q.dims[0] if v.ndim == 1 else "")
    return out


def _key_of(path, params, label):
    """The case key that names an output: outputs[i] or case_outputs.<label>[i]."""
    plain = [p.strip("/") for p in params["outputs"]]
    if path in plain:
        return f"outputs[{plain.index(path)}]"
    return f"case_outputs.{label}[{[p.strip('/') for p in params['case_outputs'][label]].index(path)}]"


def _sweep(c, inputs, X, paths, params, file, case):
    """(Sweep of a case's distinct runs, run index -> sweep case): only the inputs that reach a value in the
    case are set, so runs that differ in other inputs alone are one case (Saltelli's mixed rows of an input
    without effect repeat their base row); validated case by case."""
    from sim.studies.spec import Sweep, validate_cases
    cols = [j for j, i in enumerate(inputs) if applies(i.key, c)]
    rows, index = np.unique(X[:, cols], axis=0, return_inverse=True)
    spec = {"title": params.get("title") or "", "study": "uncertainty", "case": c.label, "method": params["method"],
            "samples": params["samples"], "seed": params["seed"]}
    sweep = Sweep(Path(file), case.text if case is not None else json.dumps(params, default=str), spec, c.doc,
                  c.path, [inputs[j].key for j in cols], rows, keep=tuple(paths))
    validate_cases(sweep)
    return sweep, index.ravel()


def _run_samples(sweep, path, ex, nominal):
    """({output path: Sampled over the runs}, failed (runs,) bool) of one case's sweep."""
    from sim.studies import runner, store
    try:
        table = runner.run_sweep(sweep, path, executor=ex["executor"], jobs=ex.get("jobs"), scheduler=ex.get("scheduler"),
                                 resume=True, flush_interval_s=ex["flush_interval_s"],
                                 desc=f"samples of {sweep.spec['case']}")
    except ResultFileError as e:
        if "different sweep" not in str(e):
            raise
        raise ResultFileError(f"{path}: holds the samples of another study (a case, [fixed], an input, the method, "
                              "samples or seed changed): remove it to start afresh, or write the result elsewhere "
                              "(-o)") from None
    done, _, _ = store.verified_cases(path, sweep.digest())
    failed = np.array([not (s == store.STATUS_OK and i in done) for i, s in enumerate(table["status"])])
    out = {}
    for p, nom in nominal.items():
        shape = (sweep.n,) + nom.values.shape
        values = np.full(shape, np.nan)
        for i, (_, _, _, data) in done.items():
            q = data.get(p)
            if q is None:
                continue
            if nom.coord is not None:
                c = data.get(nom.coord_path)
                if c is None or np.shape(c.value) != np.shape(nom.coord.value) or not np.allclose(
                        c.value, nom.coord.value, rtol=1e-12, atol=0.0):
                    raise SimError(f"{path}: run {i} gives /{p} on other values of /{nom.coord_path} than the nominal "
                                   "run: an input moves the output's coordinate (sweep it as a fixed value instead)")
            values[i] = np.asarray(q.value, float)
        out[p] = Sampled(values, nom.units, nom.coord, nom.coord_path)
    return out, failed


def _common(params, inputs, X, cases, method, N, seed, total_failed):
    """The study's own datasets: method, inputs (the indices' coordinate), their distributions and values."""
    from sim.kinds.uncertainty.design import runs
    d = len(inputs)
    data = {
        f"{TOP}/method": Q(method, "", {"meaning": "sobol: Saltelli design, Sobol' indices; morris: elementary effects"}),
        f"{TOP}/base_samples": Q(N, "1", {"meaning": "N: Saltelli base samples or Morris trajectories"}),
        f"{TOP}/seed": Q(seed, "1"),
        f"{TOP}/runs": Q(runs(method, N, d), "1", {"meaning": "runs per case: N (d + 2) for sobol, N (d + 1) for morris"}),
        f"{TOP}/failed_runs": Q(total_failed, "1", {"meaning": "failed runs, all cases"}),
        f"{TOP}/inputs": Q(np.array([i.key for i in inputs]), "", {"meaning": "the uncertain inputs (dotted case keys); "
                                                                   "the order of every index array"}, INPUTS),
        f"{TOP}/input_units": Q(np.array([i.unit or "1" for i in inputs]), "", dims=INPUTS),
        f"{TOP}/input_distribution": Q(np.array([i.distribution.describe(i.unit) for i in inputs]), "", dims=INPUTS),
        f"{TOP}/input_source": Q(np.array([i.source for i in inputs]), "",
                                 {"meaning": "where the bounds come from: the case, or the materials database range"},
                                 INPUTS),
        f"{TOP}/sample": Q(np.arange(len(X)), "1", {"meaning": "run number; runs come in blocks of d + 2 (sobol) or "
                                                   "d + 1 (morris) per base sample"}, SAMPLE),
    }
    if method == "morris":
        data[f"{TOP}/levels"] = Q(params["levels"], "1")
    for j, i in enumerate(inputs):
        data[f"{TOP}/input_values/{i.key}"] = Q(X[:, j], i.unit or "1", {"meaning": f"the value of {i.key} in each run"},
                                                SAMPLE)
    return data


def _output(g, s, nom, failed, X, prob, block, params, thresholds, transform="none"):
    """The datasets of one output (or difference) under group g (see docs/hdf5-schema.md)."""
    scalar = s.coord is None
    Y = s.values.reshape(len(s.values), -1)
    coord = () if scalar else (f"{g}/{s.coord_path.rsplit('/', 1)[-1]}",)
    out = {}
    if not scalar:
        out[coord[0]] = Q(np.asarray(s.coord.value), s.coord.units, {k: v for k, v in s.coord.attrs.items()
                                                                     if k not in ("dims", "alias")}, coord)

    def put(name, value, units, meaning, dims):
        v = value[0] if scalar else value
        out[f"{g}/{name}"] = Q(v, units, {"meaning": meaning}, dims)

    undefined = "NaN: every run failed or left the output undefined there"
    out[f"{g}/values"] = Q(s.values, s.units, {"meaning": "the output of each run; NaN: the run failed, or the model "
                                                          "leaves the output undefined there"}, SAMPLE + coord)
    out[f"{g}/nominal"] = Q(nom.values, s.units, {"meaning": "the case run as it is, inputs untouched; NaN: undefined "
                                                             "there"}, coord)
    out[f"{g}/transform"] = Q(transform, "", {"meaning": "the indices are those of this transform of the output: "
                                                       "none, log10, or rank (its rank among the runs, in (0, 1))"})
    Yt = analysis.transformed(Y, transform)
    idx, used = analysis.indices(params["method"], prob, X, Yt, block, params["seed"], params["levels"])
    few = f"NaN: fewer than {analysis.MIN_BLOCKS} complete blocks, or the output does not vary there"
    meanings = {"S1": "first-order Sobol' index V[E(Y|X_i)]/V(Y)", "ST": "total Sobol' index E[V(Y|X~i)]/V(Y)",
                "S1_conf": "95 % confidence half-width of S1 (bootstrap)", "ST_conf": "95 % confidence half-width of ST (bootstrap)",
                "mu_star": "Morris mu*: mean |elementary effect| per step of the input's range scaled to [0, 1]",
                "mu_star_conf": "95 % confidence half-width of mu* (bootstrap)", "mu": "Morris mu: mean elementary effect",
                "sigma": "Morris sigma: standard deviation of the elementary effects"}
    for name, value in idx.items():
        units = "1" if name.startswith("S") or transform == "rank" else s.units if transform == "none" else "1"
        put(name, value, units, f"{meanings[name]}; {few}", coord + INPUTS)
    put("complete_blocks", used, "1", "base samples (Saltelli blocks or Morris trajectories) all of whose runs gave a "
        "value there: those the indices use", coord)
    stats = analysis.distribution(Y, failed, params["quantile_probabilities"])
    prob_coord = (f"{g}/probability",)
    out[prob_coord[0]] = Q(np.asarray(params["quantile_probabilities"], float), "1",
                           {"meaning": "probabilities of the quantiles"}, prob_coord)
    put("quantiles", stats["quantiles"], s.units, f"quantiles over the runs with a value; {undefined}", coord + prob_coord)
    put("mean", stats["mean"], s.units, f"mean over the runs with a value; {undefined}", coord)
    put("std", stats["std"], s.units, f"standard deviation over the runs with a value; {undefined}", coord)
    put("undefined_fraction", stats["undefined_fraction"], "1", "fraction of the runs that did not fail in which the "
        "model leaves the output undefined (NaN: every run failed)", coord)
    if len(thresholds):
        t_coord = (f"{g}/threshold",)
        out[t_coord[0]] = Q(np.asarray(thresholds, float), s.units, {"meaning": "thresholds"}, t_coord)
        ex = analysis.exceedance(Y, block, thresholds, params["seed"])
        put("probability_below", ex["probability_below"], "1", f"P(output < threshold) among the runs with a value; {undefined}",
            coord + t_coord)
        put("probability_below_conf", ex["probability_below_conf"], "1", "95 % confidence half-width of probability_below "
            f"(bootstrap over base samples); {undefined}", coord + t_coord)
        put("probability_above", ex["probability_above"], "1", f"P(output > threshold) among the runs with a value; {undefined}",
            coord + t_coord)
    return out
