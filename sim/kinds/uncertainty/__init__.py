"""Case kind `uncertainty`: input distributions propagated through any case, with SALib (see sim.kinds).

A study of other cases (`STUDY`): `sim.run.compute` hands it the case and the result's path, beside which
its samples are kept (a resumable sweep file per case).
"""
from sim.kinds.uncertainty.runner import run
from sim.kinds.uncertainty.schema import SCHEMA, check, notes

STUDY = True


def render(result, out_dir, formats):
    """Figures of a result (matplotlib is imported here, on first use: runs do not pay for it)."""
    from sim.kinds.uncertainty import figures
    return figures.render(result, out_dir, formats)


def compare(results, out_dir, formats):
    return []


__all__ = ["SCHEMA", "STUDY", "check", "compare", "notes", "render", "run"]
