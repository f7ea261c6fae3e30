"""Checker tests: a toy world for the generic engine, helpers for the kernel world."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUGS = ROOT / "scenarios" / "bugs"
HERE = Path(__file__).resolve().parent / "scenarios"


class Toy:
    """Threads of (read x; write x+1) pairs on one shared counter, or atomic increments.
    End property: x equals the number of increments.  Knows nothing of the kernel."""

    def __init__(self, nthreads=2, atomic=False, incs=1, lock=False):
        self.threads = [f"T{i}" for i in range(nthreads)]
        self.atomic = atomic
        self.incs = incs
        self.lock = lock

    def initial(self):
        return {"x": 0, "pc": [0] * len(self.threads), "tmp": [0] * len(self.threads),
                "owner": None}

    def replay(self, path):
        h = self.initial()
        for m in path:
            self.apply(h, m)
        return h

    def _len(self):
        return self.incs * (1 if self.atomic else 2) + (2 if self.lock else 0)

    def moves(self, h):
        out = []
        for i in range(len(self.threads)):
            if h["pc"][i] >= self._len():
                continue
            if self.lock and h["pc"][i] == 0 and h["owner"] is not None:
                continue
            out.append((i, None))
        return out

    def apply(self, h, m):
        i = m[0]
        pc = h["pc"][i]
        h["pc"][i] += 1
        if self.lock:
            if pc == 0:
                h["owner"] = i
                return []
            if pc == self._len() - 1:
                h["owner"] = None
                return []
            pc -= 1
        if self.atomic:
            h["x"] += 1
        elif pc % 2 == 0:
            h["tmp"][i] = h["x"]
        else:
            h["x"] = h["tmp"][i] + 1
        return []

    def fingerprint(self, h):
        return (h["x"], tuple(h["pc"]), tuple(h["tmp"]), h["owner"])

    def end_violations(self, h):
        want = self.incs * len(self.threads)
        return [] if h["x"] == want else [("sum", f"x is {h['x']}, want {want}")]


@pytest.fixture
def toy():
    return Toy
