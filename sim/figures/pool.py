"""Figures saved in worker processes while the caller goes on drawing the next one.

Saving is what costs (layout, rendering, PNG encoding, PDF font subsetting: 0.5-2 s a file); building
a figure's artists costs a few tens of milliseconds.  Inside `with parallel(jobs):` every
`sim.figures.style.save` pickles the finished figure and hands each of its formats to a process pool;
the block's end waits for every file and re-raises the first error.  Sessions nest: an inner `parallel`
joins the outer one, so a caller that wraps several `render_all` calls (or its own runs) in one session
keeps drawing and computing while the files are written.

The workers are forked from the caller when first needed and kept for the life of the process (their
font, text-layout and mathtext caches stay warm: a fresh worker spends 10-30 % more CPU on its first
figures), and save under the caller's house style and style file.  A figure that cannot be pickled (a
lambda in a formatter) is saved in the calling process.  `jobs`: an int, else `SIM_FIGURE_JOBS`, else
the number of cores; 1 saves in the calling process.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import pickle
from pathlib import Path

_SESSION = None
_POOLS = {}          # jobs -> the process pool kept for the life of this process


def _jobs(jobs):
    if jobs is None:
        env = os.environ.get("SIM_FIGURE_JOBS", "").strip()
        jobs = int(env) if env.isdigit() else (os.cpu_count() or 1)
    return max(1, int(jobs))


def _referee_wanted():
    return os.environ.get("SIM_REFEREE", "") not in ("", "0")


def save_now(fig, paths, style=None, referee=None):
    """Save `fig` to each path (format from the suffix) under the house style; close it.  With
    `SIM_REFEREE=1` (or `referee`) the figure must pass `sim.figures.referee.check` first."""
    import matplotlib.pyplot as plt
    from sim.figures.house import use_style
    try:
        with use_style(style):
            if _referee_wanted() if referee is None else referee:
                from sim.figures.referee import check
                check(fig)
            for p in paths:
                try:
                    fig.savefig(p)
                except AssertionError as e:       # a referee's verdict names the figure: a worker's traceback does not
                    raise type(e)(f"{Path(p).name}: {e}") from e
    finally:
        plt.close(fig)


def _save_pickled(payload, paths, style, referee):
    save_now(pickle.loads(payload), paths, style, referee)


def _executor(jobs):
    """The process pool of `jobs` workers, started on first use and kept (a broken one is replaced)."""
    pool = _POOLS.get(jobs)
    if pool is None or getattr(pool, "_broken", False):
        from concurrent.futures import ProcessPoolExecutor
        from sim.studies.runner import _exit_with_parent
        if not _POOLS:
            atexit.register(_shut_down)      # before the interpreter tears down the modules they use
        pool = _POOLS[jobs] = ProcessPoolExecutor(max_workers=jobs, initializer=_exit_with_parent,
                                                  initargs=(os.getpid(),))
    return pool


def _shut_down():
    while _POOLS:
        _POOLS.popitem()[1].shutdown(wait=True, cancel_futures=True)


class _Session:
    def __init__(self, jobs):
        self.jobs = jobs
        self.executor = None
        self.futures = []

    def submit(self, fig, paths, style):
        if self.jobs <= 1:
            return save_now(fig, paths, style)
        try:
            payload = pickle.dumps(fig)
        except (pickle.PicklingError, AttributeError, TypeError):
            return save_now(fig, paths, style)             # e.g. a lambda in a tick formatter
        import matplotlib.pyplot as plt
        plt.close(fig)
        self.executor = _executor(self.jobs)
        # one task per format: the PNG and the PDF of one figure are written side by side
        self.futures += [self.executor.submit(_save_pickled, payload, [p], style, _referee_wanted()) for p in paths]

    def wait(self):
        """Block until every file submitted so far is written (raising the first error)."""
        done, self.futures = self.futures, []
        for f in done:
            f.result()

    def close(self, failed=False):
        """Wait for every file (raising the first error); after `failed`, drop the files not yet begun."""
        if failed:
            for f in self.futures:
                f.cancel()
            self.futures = []
        self.wait()


@contextlib.contextmanager
def parallel(jobs=None):
    """Save figures in `jobs` worker processes until the block ends (see the module docstring)."""
    global _SESSION
    if _SESSION is not None:                       # nested: the outer session waits for the files
        yield _SESSION
        return
    _SESSION = session = _Session(_jobs(jobs))
    try:
        yield session
    except BaseException:
        _SESSION = None
        session.close(failed=True)
        raise
    _SESSION = None
    session.close()


def submit(fig, paths, style=None):
    """Save `fig` to `paths` now, or in the active session's pool."""
    if _SESSION is None:
        return save_now(fig, paths, style)
    return _SESSION.submit(fig, paths, style)


def wait():
    """Block until the figures submitted so far exist (a no-op outside `parallel`): for callers that
    read the files they just drew, e.g. to copy them."""
    if _SESSION is not None:
        _SESSION.wait()
