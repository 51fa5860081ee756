"""Runners turn a validated case into a {hdf5 path: Q} mapping.  One module per kind."""
