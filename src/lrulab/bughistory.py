"""A catalog file's history: where its bug lives, and what the checker should find there.

A bug file states ``expect: {violation: P, introduced: COMMIT, fixed: COMMIT|none}``.  The bug is
*present* at a point of history when the introducing commit is there and the fixing one is not
(kernel/history.py: ``commits_at``), so on every line of history -- mainline, a series' posted
versions, a distribution build -- the violation of P is expected exactly between the two.  A
commit older than the model's first point (history.MODEL_FROM) makes the bug present from that
first point on.  ``lrulab bugs`` compares every checked point with this; the catalog test and
``lrulab bisect`` use ``bisect_ends`` to walk over the fixing (or introducing) commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from .kernel import history
from .kernel.history import Commit


@dataclass(frozen=True)
class BugHistory:
    prop: str
    introduced: Commit
    fixed: Commit | None


def of(expect: dict | None) -> BugHistory | None:
    """The history a file's ``expect:`` states (None when it names no ``introduced``).  The
    scenario loader has already checked every name (scenario._expect)."""
    if not expect or not expect.get("introduced") or expect.get("violation") in (None, "none"):
        return None
    fixed = expect.get("fixed", "none")
    return BugHistory(expect["violation"], history.find_commit(expect["introduced"]),
                      None if fixed == "none" else history.find_commit(fixed))


def has(c: Commit, point: str) -> bool:
    """Whether the record ``c`` is part of the tree at ``point``."""
    return c in history.commits_at(point)


def present(bh: BugHistory, point: str) -> bool:
    """Whether the bug lives at ``point``: introduced there, and not yet fixed."""
    point = history.resolve(point)
    return has(bh.introduced, point) and not (bh.fixed is not None and has(bh.fixed, point))


def order() -> list[str]:
    """Every point in history's order: the newest tree's line (mainline with the series'
    versions before the release they went into), then the distribution builds."""
    line = history.lineage(history.newest())
    return line + [p for p in history.points() if p not in line]


def checked_points() -> list[str]:
    """The points ``lrulab bugs`` checks by default: every point the model covers."""
    return [p for p in order() if history.in_model(p)]


def before_scope(c: Commit) -> bool:
    """Whether ``c`` is older than the model's first point (the bug is then there from it)."""
    return bool(c.release) and history.is_mainline(c.release) and \
        history.version_key(c.release) < history.version_key(history.MODEL_FROM)


def ident(c: Commit) -> str:
    """A commit's id, else its Message-ID in <>, else its flag name."""
    return c.commit or (f"<{c.msgid}>" if c.msgid else c.flag)


def first_point(c: Commit) -> str | None:
    """The first point, in history's order, whose tree has ``c``."""
    return next((p for p in order() if has(c, p)), None)


def where(c: Commit | None) -> str:
    """'POINT COMMIT' for a history line: where the commit first appears, with the builds that
    carry a backport of it; 'none' for no commit."""
    if c is None:
        return "none"
    name = ident(c)
    if sum(1 for x in history.COMMITS if same_commit(x, c)) > 1:  # which of its hunks/flags
        name += f" ({c.flag}{'' if c.value else '=off'})"
    if before_scope(c):
        text = f"before the model ({history.MODEL_FROM}) {name}"
    else:
        text = f"{first_point(c) or 'unreleased'} {name}"
    if c.backports:
        text += f" (+{','.join(c.backports)})"
    return text


def same_commit(a: Commit, b: Commit) -> bool:
    """Whether two records are the one commit: the same record, id or Message-ID (a commit may
    stand behind several flags, and a posted hunk shares its patch's ids)."""
    return a == b or bool(a.commit and a.commit == b.commit) or \
        bool(a.msgid and a.msgid == b.msgid)


def bisect_ends(bh: BugHistory, valid) -> tuple[str, str, Commit] | None:
    """(good, bad, commit) for ``lrulab bisect``: for a fixed bug, the last point with the bug
    on the fixing point's line of history and that first fixed point, bisecting to the fix;
    for an unfixed one, the last point without it before the first point with it, bisecting
    to the introducing commit.  ``valid(point)`` says whether the file is a scenario there.
    None when the model covers no such pair (a bug older than the model, never fixed)."""
    if bh.fixed is not None:
        bad = next((p for p in order() if history.in_model(p) and has(bh.introduced, p)
                    and has(bh.fixed, p) and valid(p)), None)
        want, commit = True, bh.fixed
    else:
        bad = next((p for p in order() if history.in_model(p) and present(bh, p)
                    and valid(p)), None)
        want, commit = False, bh.introduced
    if bad is None:
        return None
    line = history.lineage(bad)[:-1]
    good = next((p for p in reversed(line) if history.in_model(p) and valid(p)
                 and present(bh, p) == want), None)
    return (good, bad, commit) if good else None
