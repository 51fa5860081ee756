"""Verification scripts that regenerate the figures and numbers of docs/validation.md:
`python -m sim.verification.limits` (analytic limits), `.defects` (defect model, published double
layer, R_SCL, sensitivity), `.impedance` (impedance against the analytic blocking cell)."""
