"""Benchmark sections of studies: sweep throughput, every executor on the shipped sweeps as a user runs them
(`sim sweep`, a fresh interpreter each time), and where a serial sweep and a `sim run` spend their time."""
from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench_harness import ROOT, MachineLoad, Target

#: executors of the shipped-sweep section: name -> `sim sweep` arguments ("dask@cluster": a cluster started
#: before the timing and passed by --scheduler, as docs/studies.md tells users to keep one across sweeps)
#: "serial again" is a control: serial against itself in the same rounds shows how far this machine's drift
#: alone moves a ratio (an A/A comparison)
CONTROL = "serial again"
EXECUTORS = {"serial": ["--executor", "serial"], CONTROL: ["--executor", "serial"],
             "processes": ["--executor", "processes", "-j", "2"],
             "dask": ["--executor", "dask", "-j", "2"], "auto": ["--executor", "auto", "-j", "2"],
             "dask@cluster": ["--executor", "dask"]}

#: a `sim sweep` in a fresh interpreter that also prints what the runner did (sim.studies.runner.LAST_RUN)
_SWEEP_CHILD = """
import json, sys
sys.path.insert(0, {root!r})
from sim.cli import main
code = main({argv!r})
from sim.studies import runner
print("RUNNER " + json.dumps({{"last_run": runner.LAST_RUN, "auto": runner.AUTO_CHOICE}}, default=str))
raise SystemExit(code)
"""


def _equilibrium_only_sweep(d, n):
    """A sweep file of n equilibrium cases of cases/lco_lno_lps.toml (its potential sweep removed) in d."""
    base = (ROOT / "cases" / "lco_lno_lps.toml").read_text()
    (d / "base.toml").write_text(base.split("[sweep]")[0] + "[mesh]" + base.split("[mesh]")[1])
    (d / "s.toml").write_text(f'base = "base.toml"\n[parameters."materials.LPS.eps_r"]\nrange = [6.0, 12.0]\n'
                              f"points = {n}\n")
    return d / "s.toml"


def rotated_rounds(runs, rounds):
    """{name: [result per round]} of runs ({name: callable}) in interleaved rounds, the order rotated each
    round (so that no executor always follows the same one on a machine whose load drifts)."""
    names, out = list(runs), {name: [] for name in runs}
    for k in range(rounds):
        for name in names[k % len(names):] + names[:k % len(names)]:
            out[name].append(runs[name]())
    return out


def speedups(walls):
    """{name: (median of the per-round ratios serial / name, [ratios])} from {name: [wall per round]}: each
    round's ratio pairs runs made minutes apart at most, so it is less exposed to the machine's drift than
    the ratio of medians."""
    out = {}
    for name, ws in walls.items():
        ratios = [s / w for s, w in zip(walls["serial"], ws)]
        out[name] = (float(np.median(ratios)), ratios)
    return out


def local_cluster():
    """A LocalCluster of 2 one-thread workers as sim starts one (sim.studies.runner.start_local_cluster),
    with sim imported on the workers, as a cluster kept across sweeps has done after its first."""
    from dask.distributed import Client
    from sim.studies.runner import start_local_cluster
    cluster = start_local_cluster(2, "pnp")
    with Client(cluster) as client:
        client.run(lambda: bool(__import__("sim.studies.runner") and __import__("sim.kinds.pnp")))
        env = client.run(lambda: __import__("os").environ.get("MALLOC_TRIM_THRESHOLD_"))
    if any(v is not None for v in env.values()):
        cluster.close()
        raise RuntimeError(f"the workers have MALLOC_TRIM_THRESHOLD_: {env}")
    return cluster


# ------------------------------------------------------------------------------------ throughput

def measure_sweep_throughput(tiny):
    """An equilibrium-only sweep of many small cases (20-30 ms each), run by run_sweep in this process:
    serial, a process pool of 2 and Dask on a 2-worker cluster started before the timing; interleaved."""
    from sim.studies import run_sweep
    from sim.studies import runner
    n = 4 if tiny else 200
    out = {"cases": n}
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        sweep = _equilibrium_only_sweep(d, n)
        runs = {"serial": {}, CONTROL: {}, "processes": {"jobs": 2}}
        cluster = None
        try:
            cluster = local_cluster()           # (the one code path of the tiny run that starts a cluster)
            runs["dask"] = {"scheduler": cluster.scheduler_address}
        except Exception as e:
            out["dask_error"] = f"no Dask LocalCluster: {e}"
        def one(name, kw):
            def run():
                with MachineLoad() as load:
                    table = run_sweep(sweep, d / f"{name}.h5", executor=name.replace(f"{CONTROL}", "serial"),
                                      progress=False, **kw)
                return load.wall_s, load.idle_cores, int((table["status"] == "ok").sum()), dict(runner.LAST_RUN)
            return run

        try:
            got = rotated_rounds({name: one(name, kw) for name, kw in runs.items()}, 1 if tiny else 5)
        finally:
            if cluster is not None:
                cluster.close()
    ratios = speedups({name: [x[0] for x in xs] for name, xs in got.items()})
    for name, xs in got.items():
        walls = [x[0] for x in xs]
        out[name] = {"wall_s": float(np.median(walls)), "all_wall_s": walls, "cases_per_s": n / float(np.median(walls)),
                     "idle_cores": _median_or_none([x[1] for x in xs]), "ok": xs[-1][2], "runner": xs[-1][3],
                     "speedup_vs_serial": ratios[name][0], "round_ratios": ratios[name][1]}
    return out


def _median_or_none(xs):
    xs = [x for x in xs if x is not None]
    return float(np.median(xs)) if xs else None


def _spread(x):
    return f"{min(x['round_ratios']):.2f}-{max(x['round_ratios']):.2f}"


def _idle(x):
    return "—" if x is None else f"{x:.2f}"


def report_sweep_throughput(r):
    L = [f"{r['cases']} equilibrium cases of cases/lco_lno_lps.toml (its potential sweep removed), run by "
         "`run_sweep` in the benchmark's process; 2 workers for the pool and Dask (a LocalCluster started "
         "before the timing, passed by address). Medians of interleaved rounds; every run writes its HDF5 file. "
         "The speed-up is the median of the rounds' own ratios (serial / executor, runs minutes apart at most); "
         "'serial again' is serial once more in the same rounds, a control for how far the machine's drift alone "
         "moves a ratio; "
         "'idle cores' is what the whole machine left idle during the runs (of "
         f"{os.cpu_count()}).", "",
         "| executor | wall time | cases/s | speed-up vs serial (targets ≥ 1; ≥ 1.7 pool, ≥ 1.6 Dask) | per-round "
         "ratios | idle cores |", "|---|---|---|---|---|---|"]
    for name in ("serial", CONTROL, "processes", "dask"):
        x = r.get(name)
        if x:
            L.append(f"| {name} | {x['wall_s']:.2f} s | {x['cases_per_s']:.1f} | {x['speedup_vs_serial']:.2f}× | "
                     f"{_spread(x)} | {_idle(x['idle_cores'])} |")
    if "dask_error" in r:
        L.append(f"| dask | — | — | {r['dask_error']} | — | — |")
    return L


def _busy_why(x, control=None):
    """Why a parallel run missed, from what this run measured (empty when the machine had idle cores)."""
    idle = x.get("idle_cores")
    if idle is None or idle > 0.5:
        return ""
    why = (f"the machine is shared, and during these runs other sessions left {idle:.2f} of its {os.cpu_count()} "
           "cores idle; Linux divides CPU time between sessions (autogroups), not processes, so a second worker "
           f"only gains what the others leave idle; the rounds' own ratios scatter over {_spread(x)}")
    if control:
        why += (f", and serial against itself in the same rounds gave {control['speedup_vs_serial']:.2f}× "
                f"({_spread(control)})")
    return why + ": with no idle core this run cannot tell these executors from serial"


def targets_sweep_throughput(r):
    out = []
    for name, goal in (("processes", 1.7), ("dask", 1.6)):
        x = r.get(name)
        if x:
            out.append(Target(f"{r['cases']}-case sweep, {name} vs serial (never slower)", x["speedup_vs_serial"], 1.0,
                              why=_busy_why(x, r.get(CONTROL))))
            out.append(Target(f"{r['cases']}-case sweep, {name} vs serial (2 workers)", x["speedup_vs_serial"], goal,
                              why=_busy_why(x, r.get(CONTROL)) or "Amdahl: the submitting process validates every "
                              "case before any runs and writes the file after the last"))
    return out


# ----------------------------------------------------------------------------- shipped sweeps (CLI)

def _cli_sweep(sweep, out, args, cwd):
    """One `sim sweep` in a fresh interpreter: (wall s, idle cores, CPU s of the process tree that was
    waited for, what the runner did)."""
    argv = ["sweep", str(sweep), "-o", str(out)] + list(args)
    code = _SWEEP_CHILD.format(root=str(ROOT), argv=argv)
    with MachineLoad() as load:
        proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"sim {' '.join(argv)}: {proc.stderr.strip()[-400:] or proc.stdout.strip()[-400:]}")
    info = next((json.loads(x[len("RUNNER "):]) for x in proc.stdout.splitlines() if x.startswith("RUNNER ")), {})
    return load.wall_s, load.idle_cores, load.own_cores * load.wall_s if load.own_cores is not None else None, info


def measure_shipped_sweeps(tiny):
    """`sim sweep cases/sweeps/*.toml` with every executor, a fresh interpreter per run (imports, validation,
    pool or cluster start and the file included), in interleaved rounds; tiny: one 2-case sweep, one round."""
    out = {"rounds": 1 if tiny else 5, "sweeps": {}}
    cluster = None
    try:
        if not tiny:                          # (the throughput section tries a cluster on tiny runs)
            cluster = local_cluster()
    except Exception as e:
        out["dask_error"] = f"no Dask LocalCluster: {e}"
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        if tiny:
            sweeps = [_equilibrium_only_sweep(d, 2)]
        else:
            sweeps = sorted((ROOT / "cases" / "sweeps").glob("*.toml"))
        execs = {k: list(v) for k, v in EXECUTORS.items() if k != "dask@cluster"}
        if cluster is not None:
            execs["dask@cluster"] = EXECUTORS["dask@cluster"] + ["--scheduler", cluster.scheduler_address]
        try:
            for sweep in sweeps:
                runs = rotated_rounds({name: (lambda name=name, args=args: _cli_sweep(
                    sweep, d / f"{sweep.stem}_{name}.h5", args, ROOT)) for name, args in execs.items()}, out["rounds"])
                ratios = speedups({name: [x[0] for x in xs] for name, xs in runs.items()})
                out["sweeps"][sweep.name] = {name: {
                    "wall_s": float(np.median([x[0] for x in xs])), "all_wall_s": [x[0] for x in xs],
                    "idle_cores": _median_or_none([x[1] for x in xs]), "cpu_s": _median_or_none([x[2] for x in xs]),
                    "runner": [x[3] for x in xs], "speedup_vs_serial": ratios[name][0],
                    "round_ratios": ratios[name][1]} for name, xs in runs.items()}
        finally:
            if cluster is not None:
                cluster.close()
    return out


def _auto_choices(x):
    chose = [run.get("auto", {}).get("executor", "?") for run in x["runner"]]
    return ", ".join(f"{c} ×{chose.count(c)}" for c in sorted(set(chose)))


def _dask_here(x):
    """Cases the submitting process computed while the LocalCluster started, per run."""
    return "/".join(str(run.get("last_run", {}).get("in_submitting_process", "?")) for run in x["runner"])


def _ran_serially(name, e, control):
    """Why `dask` missed when it started no cluster: it ran the serial code, so its ratio is serial against
    serial (empty when a cluster ran cases)."""
    if name != "dask" or any(run.get("last_run", {}).get("on_workers", 1) for run in e["runner"]):
        return ""
    why = ("no cluster was started (the first case's time put the sweep's work below DASK_MIN_WORK_S), so every "
           "case ran in the submitting process, as serially: the ratio is serial against serial")
    if control:
        why += (f", and serial against itself in the same rounds gave {control['speedup_vs_serial']:.2f}× "
                f"({_spread(control)})")
    return why


def report_shipped_sweeps(r):
    L = [f"`sim sweep cases/sweeps/<file> --executor E -j 2`, a fresh interpreter per run (imports, validation, "
         "the pool's or cluster's start and the HDF5 file included), medians of "
         f"{r['rounds']} interleaved rounds (the order rotated each round); the speed-up is the median of the "
         "rounds' own ratios (serial / executor); 'serial again' is serial once more in the same rounds, a control "
         "for how far the machine's drift alone moves a ratio. `dask` starts a LocalCluster for the sweep (its workers forked from "
         "a fork server that imported Dask and sim once) while the submitting process computes cases, or no "
         "cluster when other processes leave fewer than 1.5 cores free (MIN_FREE_CORES) or when the first case's "
         "time puts the sweep's work below 20 s (DASK_MIN_WORK_S); `dask@cluster` uses a cluster started "
         "before the timing and passed by `--scheduler`. 'Idle cores' is what the whole machine left idle "
         f"during the runs (of {os.cpu_count()}); 'CPU' is the CPU time of the run's waited-for processes (a "
         "Dask cluster's workers are not among them).", "",
         "| sweep | executor | wall time | speed-up vs serial | per-round ratios | idle cores | CPU | what ran |",
         "|---|---|---|---|---|---|---|---|"]
    for sweep, x in r["sweeps"].items():
        for name, e in x.items():
            what = {"auto": f"chose {_auto_choices(e)}",
                    "dask": f"cases computed by the submitting process: {_dask_here(e)}"}.get(name, "")
            cpu = "—" if e["cpu_s"] is None else f"{e['cpu_s']:.1f} s"
            L.append(f"| {sweep} | {name} | {e['wall_s']:.2f} s | {e['speedup_vs_serial']:.2f}× | "
                     f"{_spread(e)} | {_idle(e['idle_cores'])} | {cpu} | "
                     f"{what} |")
    if "dask_error" in r:
        L += ["", f"dask@cluster: {r['dask_error']}."]
    return L


def targets_shipped_sweeps(r):
    out = []
    for sweep, x in r["sweeps"].items():
        for name in ("processes", "dask", "dask@cluster", "auto"):
            if name in x:
                e = x[name]
                out.append(Target(f"{sweep}: {name} vs serial (never slower)", e["speedup_vs_serial"], 1.0,
                                  why=_busy_why(e, x.get(CONTROL)) or _ran_serially(name, e, x.get(CONTROL))))
        for name in ("processes", "dask@cluster"):
            if name in x:
                e = x[name]
                out.append(Target(f"{sweep}: {name} vs serial (2 workers)", e["speedup_vs_serial"], 1.8,
                                  why=_busy_why(e, x.get(CONTROL)) or "10-16 cases of 0.3-0.5 s: half a case of "
                                  "imbalance at the end, the pool's start and the file's last write"))
        if "auto" in x and "processes" in x:       # per round, then the median (as the speed-ups)
            rel = [a / min(s, p) for a, s, p in zip(x["auto"]["all_wall_s"], x["serial"]["all_wall_s"],
                                                     x["processes"]["all_wall_s"])]
            out.append(Target(f"{sweep}: auto's time / the faster of serial and processes", float(np.median(rel)),
                              1.1, higher=False, why="auto measures how busy the machine is while the sweep loads; "
                              f"the load then changed (per-round values {min(rel):.2f}-{max(rel):.2f})"))
    return out


# ---------------------------------------------------------------------- serial sweep profile, cold start

def measure_sweep_profile(tiny):
    """Where a serial equilibrium sweep spends its time (cProfile, cumulative), and `sim run
    cases/lco_lps.toml` end to end in a fresh interpreter (median), with its imports alone."""
    from sim.studies import run_sweep
    n = 3 if tiny else 100
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        sweep = _equilibrium_only_sweep(d, n)
        run_sweep(sweep, d / "warm.h5", executor="serial", progress=False)      # imports out of the profile
        pr = cProfile.Profile()
        pr.enable()
        run_sweep(sweep, d / "profiled.h5", executor="serial", progress=False)
        pr.disable()
        st = pstats.Stats(pr, stream=io.StringIO())
        total = max(v[3] for v in st.stats.values())
        want = {"run_sweep": "whole sweep", "compute": "compute (the physics)", "solve_equilibrium": "equilibrium solves",
                "build_problem": "problem set-up", "validate_document": "validation of each case",
                "content_digest": "digests", "store.py:add": "case rows into the file image",
                "store.py:commit": "writing the file (summary, image, fsync)", "evaluate": "observables"}
        parts = {}
        for (fname, _, func), (cc, nc, tt, ct, callers) in st.stats.items():
            key = f"{Path(fname).name}:{func}" if f"{Path(fname).name}:{func}" in want else func
            if key in want and "sim" in fname:
                parts[want[key]] = parts.get(want[key], 0.0) + ct
        runs, imports = [], []
        for _ in range(1 if tiny else 7):
            with MachineLoad() as load:
                subprocess.run([sys.executable, "-m", "sim", "run", "cases/lco_lps.toml", "-o", str(d / "r.h5")],
                               cwd=ROOT, capture_output=True, check=True)
            runs.append(load.wall_s)
            with MachineLoad() as load:
                subprocess.run([sys.executable, "-c", "import sim.cli, sim.run, sim.kinds.pnp, sim.io"], cwd=ROOT,
                               capture_output=True, check=True)
            imports.append(load.wall_s)
    return {"cases": n, "total_s": total, "cumulative_s": parts, "sim_run_s": float(np.median(runs)),
            "sim_run_all_s": runs, "imports_s": float(np.median(imports))}


def report_sweep_profile(r):
    L = [f"`sim run cases/lco_lps.toml` in a fresh interpreter: **{r['sim_run_s']:.2f} s** (median), of which "
         f"{r['imports_s']:.2f} s is starting Python and importing what a run needs "
         f"({100 * r['imports_s'] / r['sim_run_s']:.0f} %).", "",
         f"A serial equilibrium sweep of {r['cases']} cases (cProfile, cumulative; the parts overlap):", "",
         "| part | time | share |", "|---|---|---|"]
    for k, t in sorted(r["cumulative_s"].items(), key=lambda kv: -kv[1]):
        L.append(f"| {k} | {t:.2f} s | {100 * t / r['total_s']:.0f} % |")
    return L


# ------------------------------------------------------------------------------- where executors spend time

_CLUSTER_CHILD = """
import json, os, sys, time
sys.path.insert(0, {root!r})
import sim.studies.runner as runner

def tree_cpu(root):
    # CPU seconds of `root` and every process below it (/proc), the waited-for children's included
    kids, cpu = {{}}, {{}}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                f = open(f"/proc/{{d}}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            kids.setdefault(int(f[1]), []).append(int(d))
            cpu[int(d)] = sum(int(x) for x in f[11:15]) / os.sysconf("SC_CLK_TCK")
    todo, total = [root], 0.0
    while todo:
        p = todo.pop()
        total += cpu.get(p, 0.0)
        todo += kids.get(p, [])
    return total

if __name__ == "__main__":
    import dask
    from dask.distributed import Client, LocalCluster
    c0 = tree_cpu(os.getpid())
    t0 = time.perf_counter()
    if {method!r} == "spawn":
        with dask.config.set(runner.DASK_WORKER_CONFIG):
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None)
    else:
        cluster = runner.start_local_cluster(2, "pnp")
    t1 = time.perf_counter()
    with Client(cluster) as client:                  # the first task imports what a case needs
        client.run(lambda: bool(__import__("sim.kinds.pnp.runner")))
    t2 = time.perf_counter()
    cpu = tree_cpu(os.getpid()) - c0
    cluster.close()
    print("RESULT " + json.dumps({{"start_s": t1 - t0, "sim_on_workers_s": t2 - t1, "close_s": time.perf_counter() - t2,
                                  "cpu_s": cpu}}))
"""


def _fresh(code, cwd=ROOT):
    """(wall s, CPU s of the waited-for process tree, stdout) of `python -c code`."""
    with MachineLoad() as load:
        proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip()[-400:])
    return load.wall_s, (load.own_cores or 0.0) * load.wall_s, proc.stdout


def measure_executor_costs(tiny):
    """The fixed costs of each executor, measured apart: a fork pool's start, a fresh interpreter's imports
    (what each spawned Dask worker pays), a LocalCluster's start (spawned workers, as Dask does by default,
    against sim's fork server), the up-front validation per case, and the result file's writes."""
    import time
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing
    from sim.studies import runner
    from sim.studies.spec import load_sweep
    out = {}
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        list(pool.map(abs, [1, 2]))
    out["fork_pool_start_s"] = time.perf_counter() - t0
    wall, cpu, _ = _fresh("import sim.studies.runner, sim.kinds.pnp.runner, distributed")
    out["imports_in_fresh_interpreter"] = {"wall_s": wall, "cpu_s": cpu}
    if not tiny:
        for method in ("spawn", "forkserver"):
            try:
                _, _, stdout = _fresh(_CLUSTER_CHILD.format(root=str(ROOT), method=method))
                out[f"local_cluster_{method}"] = json.loads(next(x for x in stdout.splitlines()
                                                                 if x.startswith("RESULT "))[len("RESULT "):])
            except Exception as e:
                out[f"local_cluster_{method}"] = {"status": f"failed: {e}"}
    sweep = ROOT / "cases" / "sweeps" / "lno_thickness.toml"
    load_sweep(sweep)                               # imports out of the timing
    t0 = time.perf_counter()
    sw = load_sweep(sweep)
    out["validation"] = {"sweep": sweep.name, "cases": sw.n, "per_case_s": (time.perf_counter() - t0) / sw.n}
    items = [runner._submitted(sw, 0)]
    runner.run_one(*items[0])                       # warm
    t0 = time.process_time()
    runner.run_one(*items[0])
    out["case_cpu_s"] = time.process_time() - t0
    return out


def report_executor_costs(r):
    L = ["Each fixed cost measured on its own (the executor sections include them all):", "",
         "| what | time |", "|---|---|",
         f"| a fork pool of 2 started and both workers answering | {r['fork_pool_start_s'] * 1e3:.0f} ms |",
         f"| a fresh interpreter importing sim's runner, the pnp kind and Dask (what each spawned Dask worker "
         f"pays) | {r['imports_in_fresh_interpreter']['wall_s']:.2f} s wall, "
         f"{r['imports_in_fresh_interpreter']['cpu_s']:.2f} s CPU |"]
    for method, label in (("spawn", "spawned workers (Dask's default)"),
                          ("forkserver", "workers forked from sim's fork server (`start_local_cluster`)")):
        x = r.get(f"local_cluster_{method}")
        if x and "status" not in x:
            L.append(f"| a LocalCluster of 2, {label}: start; sim on the workers; close | {x['start_s']:.2f} s; "
                     f"{x['sim_on_workers_s']:.2f} s; {x['close_s']:.2f} s ({x['cpu_s']:.1f} s CPU of its processes "
                     "while up) |")
        elif x:
            L.append(f"| a LocalCluster of 2, {label} | {x['status']} |")
    v = r["validation"]
    L += [f"| validating a case up front ({v['sweep']}, {v['cases']} cases) | {v['per_case_s'] * 1e3:.1f} ms |",
          f"| one case of {v['sweep']} (CPU) | {r['case_cpu_s']:.2f} s |"]
    return L
