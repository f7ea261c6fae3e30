"""The kernel model: one module per kernel source file (see docs/model.md)."""

# Import order matters for the module cycles the kernel itself has (memcontrol <-> list_lru,
# folio <-> huge_memory); importing the package first makes any entry module safe.
# isort: off
from . import sched, list, config, vmstat, memcontrol, folio, huge_memory  # noqa: F401
# isort: on
