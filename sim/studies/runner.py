"""Run the cases of a sweep on an executor and stream their results into one HDF5 file."""
from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import threading
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
from sim.kinds import REGISTRY, kind as kind_package
from sim.errors import CaseError
from sim.schema import suggest

EXECUTORS = ("auto", "serial", "processes", "dask")
#: Dask configuration of the workers of a cluster sim starts: Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536
#: in every worker, which turns off glibc's adaptive mmap threshold, so every temporary array of more
#: than 128 KiB is mapped and unmapped anew; cases then ran about 13 % slower than in a plain process
#: (docs/studies.md says how to do the same for a cluster you start)
DASK_WORKER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
CLOSED_FORM_KINDS = ("polarization", "energy_density")     # cases of microseconds: serial beats any pool
#: cores other processes must leave free (`free_cores`) for `auto` to start a pool and `dask` a LocalCluster:
#: a second worker gains only what the rest of the machine leaves idle (Linux shares CPU between sessions)
MIN_FREE_CORES = 1.5
#: serial work (s, estimated from the first case) below which `dask` starts no LocalCluster: measured on 2 cores,
#: a cluster started for sweeps of 6 s and 11 s of serial work made them 0.84x and 0.96x as fast as serial (its
#: start, Dask's import and the hand-over cost more than two workers save; docs/performance.md, section 10)
DASK_MIN_WORK_S = 20.0


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


def run_many(cases):
    """run_one on each case (doc, name, validated, keep) of a chunk (`_submitted`), in a worker."""
    return [run_one(*case) for case in cases]


def kept(data, keep):
    """The datasets of `data` that a sweep with `Sweep.keep` stores: the paths in `keep`, the coordinates
    they name (sim.io.Q dims) and every scalar (the summary's columns, on resume too)."""
    paths = {p for p in keep if p in data}
    paths |= {d for p in paths for d in data[p].dims}
    return {p: q for p, q in data.items() if p in paths or (not isinstance(q.value, str) and np.ndim(q.value) == 0)}


def run_many_packed(cases):
    """run_many with the results pickled into one bytes object: Dask moves bytes without walking them (a
    dict of arrays and dataclasses costs it several times more to serialise)."""
    return pickle.dumps(run_many(cases), protocol=pickle.HIGHEST_PROTOCOL)


def _submitted(sweep, i):
    """(doc, name, (kind, params) or None, keep) of case i for a worker: the up-front validation's parameters
    travel with the case (1 kB pickled), so the worker does not validate it again (a millisecond, 5 % of an
    equilibrium case)."""
    doc, validated = sweep.take_validated(i)
    return doc, _case_name(sweep, i), validated, sweep.keep


#: tasks per worker that a sweep is cut into (Dask and the process pool): each task costs a few
#: milliseconds of scheduling on Dask (a fraction of one in the pool) on top of its cases, so cases of
#: milliseconds go in chunks; 16 per worker keep the last chunk short (load balance) while a 200-case
#: sweep on 2 workers needs 29 tasks instead of 200
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
    def watch():
        while True:
            time.sleep(interval_s)
            if os.getppid() != parent_pid:
                os._exit(1)
    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def usable_cores():
    """CPUs this process may run on (its affinity mask, which a batch system or taskset may narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:                        # not Linux
        return os.cpu_count() or 1


def cpu_snapshot():
    """(monotonic s, this process's CPU s, idle + iowait s of all CPUs) from /proc/stat; None where it is
    absent (not Linux)."""
    try:
        with open("/proc/stat", "rb") as f:
            fields = f.readline().split()
        idle = (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return time.monotonic(), time.process_time(), idle


def free_cores(since, min_window_s=0.05):
    """Cores that other processes left free since the snapshot `since` (cpu_snapshot): the machine's idle
    time plus this process's own CPU time, per second; None where unknown.  A window shorter than
    `min_window_s` is lengthened (the counters tick every 10 ms)."""
    if since is None:
        return None
    wait = min_window_s - (time.monotonic() - since[0])
    if wait > 0:
        time.sleep(wait)
    now = cpu_snapshot()
    if now is None or now[0] <= since[0]:
        return None
    return ((now[2] - since[2]) + (now[1] - since[1])) / (now[0] - since[0])


def _auto(todo, sweep, jobs, scheduler, since=None):
    """The `auto` executor: Dask on a cluster the user started (a scheduler address); else a local process
    pool when it can pay: two or more cases whose kind solves equations (pnp, design_map: a case costs
    milliseconds to seconds, a forked pool 25 ms to start and about a millisecond per case to send back),
    and two or more cores that other processes leave free (measured from /proc/stat while the sweep was
    loaded and validated: on a machine that others keep busy, parallel workers only share the CPU that
    one process gets, and Linux shares CPU between sessions, not processes); else serial (closed-form
    kinds, whose cases take microseconds, one case, one free core).  It never starts a Dask cluster (1-2 s)
    itself."""
    AUTO_CHOICE.clear()
    if scheduler:
        AUTO_CHOICE["executor"] = "dask"
        yield from _submit_all("dask", todo, sweep, jobs, scheduler)
        return
    kind = sweep.base_doc.get("kind")
    free = free_cores(since) if len(todo) >= 2 and kind not in CLOSED_FORM_KINDS else None
    workers = min(jobs or usable_cores(), len(todo))
    if free is not None:                     # as many workers as cores are free, rounded at MIN_FREE_CORES
        workers = min(workers, max(1, int(free + 2 - MIN_FREE_CORES)))
    choice = "processes" if workers >= 2 and kind not in CLOSED_FORM_KINDS else "serial"
    AUTO_CHOICE.update(executor=choice, workers=workers if choice == "processes" else 1, kind=kind,
                       free_cores=None if free is None else round(free, 2))
    yield from _submit_all(choice, todo, sweep, workers, scheduler)


#: what the last `auto` sweep chose, and why (for reports and benchmarks)
AUTO_CHOICE = {}
#: what the last sweep ran on: executor, workers, and how many cases the submitting process computed itself
#: (while a Dask LocalCluster started) and how many the workers did (for reports and benchmarks)
LAST_RUN = {}


def _serial(todo, sweep):
    for i in todo:
        doc, validated = sweep.take_validated(i)
        yield i, run_one(doc, _case_name(sweep, i), validated, sweep.keep)


def _processes(todo, sweep, jobs):
    """A pool forked from this process (its imports and caches come along: a worker starts in
    milliseconds), with no more workers than cases, fed chunks of cases (`_chunks`)."""
    workers = max(1, min(jobs or usable_cores(), len(todo)))
    chunks = _chunks(todo, workers)
    # fork explicitly: it is Linux's default up to Python 3.13, and spawn or forkserver would import sim
    # again in every worker
    ctx = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
    LAST_RUN.update(executor="processes", workers=workers, tasks=len(chunks))
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_exit_with_parent,
                             initargs=(os.getpid(),)) as pool:
        futs = {pool.submit(run_many, [_submitted(sweep, i) for i in ch]): ch for ch in chunks}
        for f in as_completed(futs):
            yield from zip(futs[f], f.result())


def _on_dask(client, todo, sweep):
    """The cases on the workers connected to `client`, in chunks (`_chunks`)."""
    from dask.distributed import as_completed as d_as_completed
    workers = max(1, sum(client.nthreads().values()))         # threads on all connected workers
    chunks = _chunks(todo, workers)
    LAST_RUN.update(workers=workers, tasks=len(chunks), on_workers=len(todo))
    futures = client.map(run_many_packed, [[_submitted(sweep, i) for i in ch] for ch in chunks], pure=False)
    index = {f.key: ch for f, ch in zip(futures, chunks)}
    for f, packed in d_as_completed(futures, with_results=True):
        yield from zip(index[f.key], pickle.loads(packed))


def start_local_cluster(workers, kind=None):
    """A LocalCluster of `workers` one-thread worker processes, as sim starts one for a sweep: Dask's
    malloc setting left out (DASK_WORKER_CONFIG), and the workers forked from a fork server that imported
    Dask and the case kind once, instead of spawned fresh interpreters that each import them (about a
    second of CPU per worker, which on a busy machine comes out of the sweep's own share)."""
    import dask
    from dask.distributed import LocalCluster
    config = dict(DASK_WORKER_CONFIG)
    if "forkserver" in multiprocessing.get_all_start_methods():
        config["distributed.worker.multiprocessing-method"] = "forkserver"
    with dask.config.set(config):
        if "forkserver" in config.values():
            from distributed.utils import get_mp_context
            # replaces Dask's own list (which it has just set); takes effect when the fork server starts
            # (it is kept for the life of this process and serves later clusters too)
            get_mp_context().set_forkserver_preload(
                ["distributed", "numpy", "sim.studies.runner"] + ([REGISTRY[kind]] if kind in REGISTRY else []))
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                            dashboard_address=None)


def _dask_local(todo, sweep, jobs, since=None):
    """Dask on a LocalCluster started for this sweep.  This process computes the first case and, from its
    time, estimates the rest: below DASK_MIN_WORK_S the cluster would cost more than it saves, and the rest
    runs here.  Otherwise the cluster starts in a thread while this process computes cases itself, one at a
    time; once the workers are up, the remaining cases go to them.  So the cluster's start (1-2 s, more on a
    busy machine) is never waited for.
    When other processes leave fewer than two cores free (`free_cores`), no cluster is started: its start
    costs about 1.5 s of CPU, which extra workers sharing the CPU of one process never pay back; nor is Dask
    imported then (a second of CPU)."""
    free = free_cores(since)
    if free is not None and free < MIN_FREE_CORES:
        print(f"dask: other processes leave {free:.1f} of {os.cpu_count()} cores free, too few for a local "
              "cluster to pay for its start: the cases run in this process (a cluster you start and pass by "
              "--scheduler is always used)")
        LAST_RUN.update(executor="dask", free_cores=round(free, 2), in_submitting_process=len(todo), on_workers=0)
        yield from _serial(todo, sweep)
        return
    todo = list(todo)
    LAST_RUN.update(executor="dask", in_submitting_process=0, on_workers=0)

    def compute_here():
        i = todo.pop(0)
        doc, validated = sweep.take_validated(i)
        result = run_one(doc, _case_name(sweep, i), validated, sweep.keep)
        LAST_RUN["in_submitting_process"] += 1
        return i, result

    if not todo:
        return
    t0 = time.perf_counter()
    yield compute_here()                 # times the work: is it worth a cluster?
    if not todo:                         # the first case was the only one
        return
    rest_s = len(todo) * (time.perf_counter() - t0)
    if rest_s < DASK_MIN_WORK_S:
        print(f"dask: the other {len(todo)} case(s) need about {rest_s:.1f} s here, too little for a local "
              f"cluster to pay for its start (below {DASK_MIN_WORK_S:g} s): they run in this process (a cluster "
              "you start and pass by --scheduler is always used)")
        while todo:
            yield compute_here()
        return
    print("dask: starting a local cluster for this sweep (1-2 s; this process computes cases meanwhile); "
          "to reuse one across sweeps, start `dask scheduler` and `dask worker ADDRESS --nworkers N "
          "--nthreads 1` and pass --scheduler ADDRESS (docs/studies.md)")
    from dask.distributed import Client
    started = {}

    def start():
        try:
            started["cluster"] = start_local_cluster(jobs or usable_cores(), sweep.base_doc.get("kind"))
        except Exception as e:          # reported below; the cases still run here
            started["error"] = e

    thread = threading.Thread(target=start, name="sim-dask-start", daemon=True)
    thread.start()
    try:
        while todo and thread.is_alive():
            yield compute_here()
        thread.join()
        if "error" in started:
            e = started["error"]
            print(f"dask: the local cluster did not start ({type(e).__name__}: {e}); the remaining "
                  f"{len(todo)} case(s) run in this process")
        if todo and "cluster" in started:
            rest, todo[:] = todo[:], []
            with Client(started["cluster"]) as client:
                yield from _on_dask(client, rest, sweep)
        while todo:                      # the cluster did not start
            yield compute_here()
    finally:
        thread.join()
        if "cluster" in started:
            started["cluster"].close()


def _submit_all(executor, todo, sweep, jobs, scheduler, since=None):
    """Yield (case id, result) as results arrive."""
    LAST_RUN.clear()
    if executor == "auto":
        yield from _auto(todo, sweep, jobs, scheduler, since)
        return
    if executor == "serial":
        LAST_RUN.update(executor="serial", workers=1)
        yield from _serial(todo, sweep)
        return
    if executor == "processes":
        yield from _processes(todo, sweep, jobs)
        return
    if executor == "dask":
        import importlib.util
        if importlib.util.find_spec("distributed") is None:     # (importing it costs a second: see _dask_local)
            raise SimError("the dask executor needs dask.distributed: pip install 'sim[dask]'")
        if not scheduler:
            yield from _dask_local(todo, sweep, jobs, since)
            return
        from dask.distributed import Client
        LAST_RUN.update(executor="dask")
        with Client(scheduler) as client:
            yield from _on_dask(client, todo, sweep)
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
    since = cpu_snapshot()            # `auto` asks how busy the machine was while the sweep loads
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
            for i, (status, wall, err, scalars, (data, case_digest)) in _submit_all(executor, todo, sweep, jobs, scheduler, since):
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
