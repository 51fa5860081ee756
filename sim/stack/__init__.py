"""Stack-level models: the Ohm's-law polarization budget and the cell energy density."""
