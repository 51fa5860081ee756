"""Run the cases of a sweep on an executor and stream their results into one HDF5 file."""
from __future__ import annotations

import json
import os
import pickle
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from sim.progress import bar

from sim.case import read_case_text, validate_document
from sim.errors import SimError, with_origin
from sim.io import Lock, check_no_infinity_or_undocumented_nan, check_output_path, content_digest, provenance
from sim.schema import unit_of
from sim.studies import store
from sim.studies.spec import Sweep, load_sweep
from sim.run import compute
from sim.case import Case
from sim.kinds import kind as kind_package
from sim.errors import CaseError
from sim.schema import suggest

EXECUTORS = ("auto", "serial", "processes", "dask")
#: Dask configuration of the workers of a cluster sim starts: Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536
#: in every worker, which turns off glibc's adaptive mmap threshold, so every temporary array of more
#: than 128 KiB is mapped and unmapped anew; cases then ran about 13 % slower than in a plain process
#: (docs/studies.md says how to do the same for a cluster you start)
DASK_WORKER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
CLOSED_FORM_KINDS = ("polarization", "energy_density")     # cases of microseconds: serial beats any pool


def run_one(doc, name, validated=None, keep=None):
    """Validate and compute one case, in a worker (validated: its (kind, params) when the sweep's
    up-front validation already made them from this doc; keep: `Sweep.keep`).

    Returns (status, wall time s, error, {summary column: Q}, ({path: Q} of the result, its
    content digest)).  The digest is computed here, in the worker; the single writer only adds
    the case's rows to the sweep file (sim.columns).
    """
    import warnings
    t0 = time.perf_counter()
    try:
        kind, params = validated or validate_document(doc, name)
        with warnings.catch_warnings():          # mesh warnings are stored in the case's result
            warnings.simplefilter("ignore")
            data = compute(Case(Path(name), json.dumps(doc, sort_keys=True, default=str), kind, params))
        check_no_infinity_or_undocumented_nan(data, name)
        if keep is not None:
            data = kept(data, keep)
        return store.STATUS_OK, time.perf_counter() - t0, "", _scalars(data), (data, content_digest(data))
    except SimError as e:
        return store.STATUS_FAILED, time.perf_counter() - t0, f"{type(e).__name__}: {with_origin(e, name)}", {}, ({}, "")
    except Exception as e:   # a bug in a case must not stop the sweep; keep the traceback
        tb = traceback.format_exc(limit=3)
        return store.STATUS_FAILED, time.perf_counter() - t0, f"{type(e).__name__}: {e}\n{tb}", {}, ({}, "")


def kept(data, keep):
    """The datasets of `data` that a sweep with `Sweep.keep` stores: the paths in `keep`, the coordinates
    they name (sim.io.Q dims) and every scalar (the summary's columns, on resume too)."""
    paths = {p for p in keep if p in data}
    paths |= {d for p in paths for d in data[p].dims}
    return {p: q for p, q in data.items() if p in paths or (not isinstance(q.value, str) and np.ndim(q.value) == 0)}


def run_many_packed(cases):
    """run_one on each case (doc, name, validated) of a chunk (`_submitted`), the results pickled into one
    bytes object: Dask moves bytes without walking them (a dict of arrays and dataclasses costs it several
    times more to serialise)."""
    return pickle.dumps([run_one(*case) for case in cases], protocol=pickle.HIGHEST_PROTOCOL)


def _submitted(sweep, i):
    """(doc, name, (kind, params) or None, keep) of case i for a worker: the up-front validation's parameters
    travel with the case (1 kB pickled), so the worker does not validate it again (a millisecond, 5 % of an
    equilibrium case)."""
    doc, validated = sweep.take_validated(i)
    return doc, _case_name(sweep, i), validated, sweep.keep


#: Dask tasks per worker that a sweep is cut into: each task costs a few milliseconds of scheduling on
#: top of its cases, so cases of milliseconds go in chunks; 16 per worker keep the last chunk short
#: (load balance) while a 200-case sweep on 2 workers needs 29 tasks instead of 200
DASK_TASKS_PER_WORKER = 16


def _chunks(todo, workers):
    """todo cut into consecutive chunks, at most DASK_TASKS_PER_WORKER per worker (single cases when
    there are fewer cases than that)."""
    size = max(1, -(-len(todo) // (DASK_TASKS_PER_WORKER * max(1, workers))))
    return [todo[k:k + size] for k in range(0, len(todo), size)]


def _scalars(data):
    """Scalar numeric observables of a case, for the summary table."""
    out = {}
    for path, q in data.items():
        v = np.asarray(q.value)
        if v.ndim == 0 and v.dtype.kind in "fiu" and path.count("/") >= 1:
            out[path.replace("/", ".")] = q      # HDF5 column names cannot hold "/"
    return out


def _case_record(sweep, i, status, wall, err, case_digest):
    """The record of case i in the sweep file (sim.columns)."""
    record = {"status": status, "wall_time_s": wall, "error": err,
              "parameters": dict(zip(sweep.keys, sweep.values[i].tolist()))}
    if status == store.STATUS_OK:
        record["digest"] = case_digest
    return record


def _case_name(sweep, i):
    """Name of generated case i: in the base case's folder (relative paths resolve as for the
    base), named after the sweep file."""
    return str(sweep.base_path.parent / f"{sweep.path.name}#case{i}")


def _exit_with_parent(parent_pid, interval_s=0.5):
    """Worker initializer: a daemon thread ends this worker once its parent is gone (a SIGKILLed
    sweep must not leave workers computing for nobody; the pool's queue would never tell them)."""
    import threading

    def watch():
        while True:
            time.sleep(interval_s)
            if os.getppid() != parent_pid:
                os._exit(1)
    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _auto(todo, sweep, jobs, scheduler):
    """The `auto` executor: Dask on a cluster the user started (a scheduler address); else a local
    process pool when there are two or more cores and cases and the kind solves equations (pnp,
    design_map: a case costs milliseconds to seconds, a forked pool 25 ms to start and about a
    millisecond per case to send back); else serial (closed-form kinds, whose cases take
    microseconds).  It never starts a Dask cluster (1-2 s) itself."""
    AUTO_CHOICE.clear()
    if scheduler:
        AUTO_CHOICE["executor"] = "dask"
        yield from _submit_all("dask", todo, sweep, jobs, scheduler)
        return
    workers = jobs or os.cpu_count() or 1
    kind = sweep.base_doc.get("kind")
    choice = "processes" if workers >= 2 and len(todo) >= 2 and kind not in CLOSED_FORM_KINDS else "serial"
    AUTO_CHOICE.update(executor=choice, workers=workers, kind=kind)
    yield from _submit_all(choice, todo, sweep, jobs, scheduler)


#: what the last `auto` sweep chose, and why (for reports and benchmarks)
AUTO_CHOICE = {}


def _submit_all(executor, todo, sweep, jobs, scheduler):
    """Yield (case id, result) as results arrive."""
    if executor == "auto":
        yield from _auto(todo, sweep, jobs, scheduler)
        return
    if executor == "serial":
        for i in todo:
            doc, validated = sweep.take_validated(i)
            yield i, run_one(doc, _case_name(sweep, i), validated, sweep.keep)
        return
    if executor == "processes":
        with ProcessPoolExecutor(max_workers=jobs or os.cpu_count(), initializer=_exit_with_parent,
                                 initargs=(os.getpid(),)) as pool:
            futs = {pool.submit(run_one, *_submitted(sweep, i)): i for i in todo}
            for f in as_completed(futs):
                yield futs[f], f.result()
        return
    if executor == "dask":
        try:
            from dask.distributed import Client, LocalCluster, as_completed as d_as_completed
        except ImportError:
            raise SimError("the dask executor needs dask.distributed: pip install 'sim[dask]'") from None
        cluster = None
        if scheduler:
            client = Client(scheduler)
        else:
            print("dask: starting a local cluster for this sweep (1-2 s); to reuse one across sweeps, start "
                  "`dask scheduler` and `dask worker ADDRESS --nworkers N --nthreads 1` and pass --scheduler ADDRESS (docs/studies.md)")
            import dask
            with dask.config.set(DASK_WORKER_CONFIG):
                cluster = LocalCluster(n_workers=jobs or os.cpu_count(), threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
            client = Client(cluster)
        try:
            workers = max(1, sum(client.nthreads().values()))         # threads on all connected workers
            chunks = _chunks(todo, workers)
            futures = client.map(run_many_packed, [[_submitted(sweep, i) for i in ch] for ch in chunks], pure=False)
            index = {f.key: ch for f, ch in zip(futures, chunks)}
            for f, packed in d_as_completed(futures, with_results=True):
                yield from zip(index[f.key], pickle.loads(packed))
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        return
    raise SimError(f"unknown executor {executor!r}; one of {EXECUTORS}")


def run_sweep(sweep, out, executor="auto", jobs=None, scheduler=None, resume=False, progress=True,
              flush_interval_s=5.0, desc="sweep"):
    """Run a sweep (path or Sweep); returns the summary as a structured numpy array.

    Completed cases are appended to `out` as they arrive (in one atomic write per
    `flush_interval_s` at most, and at most every ten times the last write's duration, so that
    neither a fast sweep nor a large file is limited by file copies: a kill loses at most that much
    work; a sweep shorter than the interval is written once, at its end); with
    resume=True the cases already completed in `out` are skipped and failed or missing ones are
    computed again.  `desc` labels the progress bar.
    """
    if not isinstance(sweep, Sweep):
        sweep = load_sweep(sweep)
    # as for `sim run`: no device, FIFO, directory, non-HDF5 name or input file as the output
    out = check_output_path(out, check_lock=False, inputs=(sweep.path, sweep.base_path))
    out.parent.mkdir(parents=True, exist_ok=True)
    digest = sweep.digest()
    ids = list(range(sweep.n))
    kind = sweep.base_doc.get("kind")
    key_units = {k: unit_of(kind_package(kind).SCHEMA, k) for k in sweep.keys}
    with Lock(out):
        done = {}
        fresh = True
        repaired = []
        if resume and out.exists():
            try:
                verified, repaired, intact = store.verified_cases(out, digest)
            except store.DamagedSweepFile as e:       # keep the damaged bytes, start the sweep afresh
                aside = out.with_name(f"{out.stem}.damaged-{time.strftime('%Y%m%dT%H%M%S')}{out.suffix}")
                os.replace(out, aside)
                print(f"resume: {e}; nothing in it can be trusted: moved it to {aside} and computing every case again")
                verified, repaired, intact = {}, [], False
            done = {i: v for i, v in verified.items() if i in set(ids)}
            fresh = not intact        # a damaged file is rebuilt from what verifies, never appended to
            if not intact and out.exists():
                print(f"resume: {out} does not match its checksum (damaged or edited); it is rebuilt from the "
                      f"{len(done)} completed case(s) that still verify")
            if repaired:
                print(f"resume: {len(repaired)} completed case(s) failed verification and are computed again:")
                for i, why in repaired[:20]:
                    print(f"  case {i}: {why}")
        rows = {i: (status, wall, err, _scalars(data)) for i, (status, wall, err, data) in done.items()}
        todo = [i for i in ids if i not in done]
        attrs = provenance(read_case_text(sweep.base_path), sweep.base_path, kind, sweep.spec)
        attrs.update(sweep_text=sweep.text, sweep_path=str(sweep.path), sweep_digest=digest,
                     varied_keys=json.dumps(sweep.keys), study="sweep")
        written = {}             # the summary of the last flush: the table returned at the end
        image = store.SweepImage(out, len(ids), fresh=fresh)
        try:
            if fresh:       # a new (or rebuilt) valid file straight away
                image.add({i: (_case_record(sweep, i, status, wall, err, content_digest(data)), data)
                           for i, (status, wall, err, data) in done.items()})
                written["summary"] = store.summary_columns(ids, sweep.keys, sweep.values, rows, key_units)
                image.commit(attrs, written["summary"])
            failures = []
            pending = {}
            last = time.monotonic()
            interval = [flush_interval_s]

            def write():
                t0 = time.monotonic()
                summary = store.summary_columns(ids, sweep.keys, sweep.values, rows, key_units)
                image.add(pending)
                image.commit(attrs, summary)
                written["summary"] = summary
                pending.clear()
                # each flush writes the whole file: space them so that flushing stays under ~10 % of the time
                if flush_interval_s > 0:            # 0: write every case (tests of interrupted sweeps)
                    interval[0] = max(flush_interval_s, 10.0 * (time.monotonic() - t0))

            shown = bar(total=len(todo), desc=desc, unit="case", disable=not progress or None)
            for i, (status, wall, err, scalars, (data, case_digest)) in _submit_all(executor, todo, sweep, jobs, scheduler):
                rows[i] = (status, wall, err, scalars)
                pending[i] = (_case_record(sweep, i, status, wall, err, case_digest), data)
                if data and not image.has_columns:
                    # the first case's rows create the file's columns in the image now, while the workers
                    # compute the other cases, instead of in the last write, while they wait (adding later
                    # cases in batches as well was measured slower: each batch costs ~0.2 ms per column)
                    image.add(pending)
                    pending.clear()
                if time.monotonic() - last >= interval[0]:
                    write()
                    last = time.monotonic()
                if status != store.STATUS_OK:
                    failures.append((i, err.splitlines()[0] if err else ""))
                shown.update(1)
            if image.uncommitted or pending or (not fresh and not todo):   # a resume with nothing to do still rewrites the summary
                write()
            shown.close()
        finally:
            image.close()
    if failures:
        print(f"{len(failures)} of {len(todo)} case(s) failed:")
        for i, err in failures[:20]:
            print(f"  case {i}: {err}")
    table = store.summary_table(written["summary"])          # what was just written (store.read_summary reads it back)
    _check_plot_columns(sweep, table)
    return table


def _check_plot_columns(sweep, table):
    """`plot` may only name summary columns: an unknown one is an error (the results are kept)."""
    cols = [c for c in table.dtype.names if c not in ("case_id", "status", "wall_time", "error")]
    for c in sweep.spec.get("plot") or []:
        if c not in cols:
            raise CaseError(sweep.path, "plot", c, "not a column of the summary table" + suggest(c, cols)
                            + " (the results are written; fix `plot` and run `sim figures`)")
