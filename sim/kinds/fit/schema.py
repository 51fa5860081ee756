"""Schema of `kind = "fit"` cases: case keys of an impedance case fitted to measured spectra."""
from sim.kinds.common import KIND, TITLE
from sim.schema import Field, Table, TableMap
from sim.spectra import CONVENTIONS

MAX_PARAMETERS = 20
MAX_FILES = 50


class Files(Field):
    """One file name, or an array of them (validated as an array)."""

    def validate(self, v, file, key):
        return super().validate([v] if isinstance(v, str) else v, file, key)

    def type_name(self):
        return "string or array of str"


PARAMETER = Table({
    "low": Field(float, "lower bound, in the unit of the case key"),
    "high": Field(float, "upper bound, in the unit of the case key"),
    "scale": Field(str, "log: fit log10 of the value (for a key that spans decades, e.g. D or sigma; needs low > 0)",
                   default="linear", choices=("linear", "log")),
    "start": Field(float, "starting value (default: the case's value of the key, or the database value of a "
                   "`materials.<name>.<property>` key)", default=None),
}, "one fitted key of the impedance case, named as `--set` names it (quoted: `[parameters.\"layers.sse.eps_r\"]`)")

SCHEMA = Table({
    "kind": KIND,
    "title": TITLE,
    "case": Field(str, "impedance case (kind = \"pnp\" with [impedance]) whose keys are fitted, relative to this "
                  "file; its electrodes, mesh and solver options are used, its frequencies and temperatures are "
                  "replaced by the data's"),
    "data": Files(("list", str), "measured spectrum: CSV of f (Hz), Z' and Z'' (ohm cm^2) with Z = dV/dI for "
                  "e^(i omega t) (Z'' < 0 for a capacitor), '#' comments, relative to this file; or one file per "
                  "temperature, fitted jointly", min_length=1, max_length=MAX_FILES),
    "temperatures_K": Field(("list", float), "temperature of each data file, in order (default: the case's "
                            "impedance.temperatures_K when it has one per file)", default=None, unit="K",
                            min_length=1, max_length=MAX_FILES, low=150.0, high=1500.0),
    "convention": Field(str, "what the third column of the data holds: z_imag (Z'', negative for a capacitor) or "
                        "minus_z_imag (-Z'', as many instruments write it)", default="z_imag", choices=CONVENTIONS),
    "frequency_range_Hz": Field(("list", float), "fit only the points within [f_min, f_max] (default: all)",
                                default=None, unit="Hz", length=2, low=0.0, low_open=True, high=1e13),
    "max_evaluations": Field(int, "budget of model evaluations (each solves every spectrum once): the optimizer stops "
                             "after max_evaluations / (P + 1) iterations, P the number of parameters (an iteration costs one "
                             "evaluation and P for the finite-difference Jacobian)", default=300, low=2, high=100000),
    "parameters": TableMap(PARAMETER, "fitted keys of the impedance case: `[parameters.\"<dotted key>\"]`, any "
                           "numeric key `--set` takes (layers, species, frenkel, materials (Arrhenius "
                           "`conductivity_activation_energy_eV` with spectra at several temperatures), kinetics, ...)",
                           min_entries=1, max_entries=MAX_PARAMETERS),
})


def check(params, file):
    """Everything a fit needs, before any spectrum is computed: the impedance case, each fitted key (numeric,
    bounds legal for the case), the start values, and every data file read and validated."""
    from sim.kinds.fit.setup import prepare
    prepare(params, file=file)
