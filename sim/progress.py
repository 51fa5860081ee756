"""Progress bars (tqdm) where someone can see them, and nothing to import where nobody can.

tqdm hides its bar when stderr is not a terminal (`disable=None`); importing tqdm.auto still costs
about 60 ms, a tenth of a `sim run`.  So the bar is created only for a terminal or a notebook
(IPython loaded); elsewhere (scripts, CI, cluster jobs) a silent stand-in with the same calls is used.
"""
from __future__ import annotations

import sys


class _Silent:
    def __init__(self, iterable=None, **kwargs):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable if self.iterable is not None else ())

    def update(self, n=1):
        pass

    def close(self):
        pass


def _visible():
    try:
        return sys.stderr.isatty() or "IPython" in sys.modules
    except (AttributeError, ValueError):
        return False


def bar(iterable=None, **kwargs):
    """tqdm.auto.tqdm(iterable, **kwargs) where it can be seen, else a silent stand-in."""
    if kwargs.get("disable") is True or not _visible():
        return _Silent(iterable)
    from tqdm.auto import tqdm
    return tqdm(iterable, **kwargs)
