"""Conformance: run a scenario on real Linux kernels (Debian 6.1, 6.12.117) under QEMU and compare
counters and kernel state with the model.

Entry points: the click command :data:`lrulab.conform.command.conform` (to register as
``lrulab conform``) and :func:`main` (argv list -> exit status). See docs/conformance.md.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """`lrulab conform ARGS...` as a function returning the exit status (0/1/2)."""
    from .command import main as _main

    return _main(argv)


__all__ = ["main"]
