"""The triage table: what each distinct violation the sweep finds is.

An entry matches a violation by its property, *where* it fired (a regular expression over the
kernel function, or over ``end: <normalised message>`` for a quiescent property, see run.py)
and a condition on the configuration: patch flags that must have given values (so an entry
follows a kernel change, not a preset's name) and boot options that must (or must not) be
present.  Its ``kind`` says what it is:

- ``kernel-bug``: a real kernel bug; ``catalog`` names its scenario in scenarios/bugs/ and
  docs/known-kernel-bugs.md describes it (source lines, releases, fix);
- ``audit``: a known false alarm of the model listed in the fidelity audit (its item id),
  to be fixed in the model; the sweep's test expects none once the fixes land.

Anything that matches no entry is ``untriaged``: the sweep's test fails on it.
``model_error`` never matches an entry of kind ``kernel-bug``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

UNTRIAGED = "untriaged"


@dataclass(frozen=True)
class Entry:
    id: str
    kind: str  # kernel-bug | audit
    property: str
    where: str  # regular expression, matched from the start
    flags: dict = field(default_factory=dict)  # flag -> required value
    boot: tuple = ()  # boot options that must be present ("!opt": must be absent)
    catalog: str = ""  # scenarios/bugs/<file> for a kernel bug
    note: str = ""


TABLE: list[Entry] = []


def matches(e: Entry, flags: dict, boot, prop: str, where: str) -> bool:
    if e.property != prop or not re.match(e.where, where):
        return False
    if any(flags.get(f) != v for f, v in e.flags.items()):
        return False
    for b in e.boot:
        if b.startswith("!") and b[1:] in boot:
            return False
        if not b.startswith("!") and b not in boot:
            return False
    return True


def classify(flags: dict, boot, prop: str, where: str) -> str:
    """The id of the first entry that matches, else ``untriaged``."""
    for e in TABLE:
        if matches(e, flags, boot, prop, where):
            return e.id
    return UNTRIAGED


def kind_of(tid: str) -> str:
    for e in TABLE:
        if e.id == tid:
            return e.kind
    return UNTRIAGED


def entry(tid: str) -> Entry | None:
    return next((e for e in TABLE if e.id == tid), None)
