"""The finite-volume PNP solvers.  Loading them keeps freed memory in the process (see
`sim.pnp.allocator`: no page faults in the Newton loop; results unchanged bit for bit)."""
from sim.pnp.allocator import keep_freed_memory

keep_freed_memory()
