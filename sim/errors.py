"""Error types raised by the package.  Every user-facing failure is one of these."""


class SimError(Exception):
    """Base class of all errors the package raises on purpose."""


class CaseError(SimError, ValueError):
    """A case or sweep file is malformed or holds an impossible value.

    The message names the file, the key path, the value and the reason.
    """

    def __init__(self, file, key, value, reason):
        self.file, self.key, self.value, self.reason = str(file), key, value, reason
        shown = _short_repr(value)
        where = f"{self.file}: " if file else ""
        super().__init__(f"{where}key '{key}' = {shown}: {reason}")


def _short_repr(value, limit=80):
    """repr bounded in depth and length: a hostile, deeply nested value cannot recurse or flood."""
    import reprlib
    r = reprlib.Repr()
    r.maxlevel, r.maxstring, r.maxother, r.maxlist, r.maxdict = 3, 60, 60, 6, 4
    try:
        shown = r.repr(value)
    except RecursionError:
        shown = f"<{type(value).__name__}>"
    return shown if len(shown) <= limit else shown[:limit - 3] + "..."


class ConvergenceError(SimError, RuntimeError):
    """A nonlinear or time-stepping solve did not converge.

    Carries the residual history, the last step size and a hint for the user.
    """

    def __init__(self, message, residuals=(), last_step=None, hint=""):
        self.residuals = list(residuals)
        self.last_step = last_step
        self.hint = hint
        tail = ", ".join(f"{r:.3e}" for r in self.residuals[-6:])
        text = message
        if tail:
            text += f"; last residuals [{tail}]"
        if last_step is not None:
            text += f"; last step {last_step:.3e}"
        if hint:
            text += f". Hint: {hint}"
        super().__init__(text)


class ResultFileError(SimError, OSError):
    """An HDF5 result file is missing, truncated, foreign or of another schema version."""


class UnknownKey(SimError, KeyError):
    """A dataset path or case key that does not exist; the message names the closest ones."""

    def __str__(self):                      # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


class InputFileError(SimError, OSError):
    """A file named as input is missing, unreadable, not a regular file or too large (sim.inputs)."""


class MeshWarning(UserWarning):
    """The mesh does not resolve the physics well (thin layers, coarse cells); stored in the result too."""


class NaNWarning(UserWarning):
    """A result is NaN on purpose (the model cannot define it there); the reason is stored beside it."""


class FitWarning(UserWarning):
    """A fit (an equivalent circuit, the model itself) or its frequency range is not to be trusted; the
    reason is stored with the result."""


class PlausibilityWarning(UserWarning):
    """A legal value that is almost certainly a unit mistake (e.g. temperature_K = 25)."""


class MeshSizeError(SimError, ValueError):
    """A mesh would exceed the cell limit (raised by the physics core, before allocation)."""


def with_origin(error, origin):
    """The same exception with `origin: ` (the case file, and the case id in a sweep) in front of its
    message, so that a failure inside a design map or a sweep says which case failed."""
    origin = str(origin)
    if error.args and origin not in str(error.args[0]):
        error.args = (f"{origin}: {error.args[0]}",) + tuple(error.args[1:])
    return error
