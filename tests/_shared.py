"""Case texts shared by several test modules."""

#: the layers of LCO | LPS, 20 nm each
PNP_LAYERS = """
[layers.cathode]
material = "LCO"
thickness_m = 20e-9
[layers.sse]
material = "LPS"
thickness_m = 20e-9
"""

#: a fast two-layer pnp case: coarse mesh, cathode at 4.0 V
PNP_TWO_LAYER = """
kind = "pnp"
[cathode]
potential_V = 4.0
[mesh]
h_min_m = 5e-12
h_max_m = 2e-9
growth = 1.2
""" + PNP_LAYERS
