"""The Python API: a case as an object, validated like a case file, solved in memory.

    import sim
    s = sim.Simulation.from_dict({"kind": "pnp", "layers": {...}})      # or .from_file / .from_toml
    s.set("layers.sse.thickness_m", 10e-9)        # validated: a bad value raises the case file's error
    r = s.solve()                                 # an in-memory result
    r.value("pnp/phi"), r.units("pnp/phi")        # named arrays with units (the HDF5 paths)
    r.plot("figures", formats=("png",))           # the figures `sim figures` draws
    r.save("results/x.h5")                        # the same HDF5 file `sim run` writes

Modelled on PyBaMM's Simulation (build, change parameters, solve) and py-pde's separate objects.
"""
from __future__ import annotations

import copy
from pathlib import Path

from sim.case import (Case, apply_overrides, parse_case_text, plausibility, read_case_text, resolved_materials,
                   validate_document)
from sim.io import Result, provenance, write_result
from sim.run import compute
from sim.figures import render_all


class Simulation:
    """A validated case.  Every change goes through the case schema, so the object is always valid."""

    def __init__(self, document, path="<dict>", text=""):
        self._doc = copy.deepcopy(document)
        self.path = Path(path)
        self.text = text
        self._overrides = []
        self.kind, self.params = validate_document(self._doc, self.path)

    @classmethod
    def from_file(cls, path):
        text = read_case_text(path)
        return cls(parse_case_text(text, path), path, text)

    @classmethod
    def from_toml(cls, text, name="<toml>"):
        return cls(parse_case_text(text, name), name, text)

    @classmethod
    def from_dict(cls, document, name="<dict>"):
        return cls(document, name)

    def set(self, key=None, value=None, **keys):
        """Change parameters by dotted key path (`set("layers.sse.thickness_m", 1e-8)`) or as keywords
        for top-level keys (`set(temperature_K=310)`).  Validated like the file; on error nothing changes."""
        changes = ([(key, value)] if key is not None else []) + list(keys.items())
        doc = apply_overrides(copy.deepcopy(self._doc), changes, f"{self.path} (set)")
        self.kind, self.params = validate_document(doc, self.path)
        self._doc = doc
        self._overrides += changes
        return self

    def get(self, key):
        """A resolved parameter (defaults filled in) by dotted key path."""
        v = self.params
        for part in key.split("."):
            v = v[part]
        return v

    @property
    def warnings(self):
        """Plausibility warnings (values that are legal but almost certainly unit mistakes)."""
        return plausibility(self.params)

    def solve(self):
        """Run the model in memory; returns a SimulationResult."""
        case = Case(self.path, self.text, self.kind, self.params, list(self._overrides))
        data = compute(case)
        attrs = provenance(self.text or repr(self._doc), self.path, self.kind, self.params, self._overrides,
                           resolved_materials(self.params))
        return SimulationResult(Path(str(self.path)), attrs, data)


class SimulationResult(Result):
    """Named arrays with units ({HDF5 path: Q}); plot and save like `sim run` results."""

    def keys(self, prefix=""):
        return sorted(k for k in self.data if k.startswith(prefix.strip("/")))

    def units(self, key):
        return self[key].units

    def plot(self, out_dir="figures", formats=("png",), style=None):
        """Draw every figure this result supports; returns the paths."""
        return render_all(self, Path(out_dir), formats, style)

    def save(self, path):
        """Write the HDF5 file `sim run` would write (atomically); returns its path."""
        return write_result(Path(path), self.data, dict(self.attrs))
