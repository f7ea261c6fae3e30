"""Regenerate docs/history.md's derived tables (Points, Flags at every point, Commits by release)
from src/lrulab/kernel/history.py, so the doc never disagrees with the records.

    python scripts/history_tables.py            # rewrite docs/history.md in place
    python scripts/history_tables.py --check    # exit 1 when the doc is out of date
"""

import re
import sys
from pathlib import Path

from lrulab.kernel import history as h

DOC = Path(__file__).resolve().parents[1] / "docs" / "history.md"
SHORT = {"series-v": "sv", "debian-": "deb-"}


def _short(p: str) -> str:
    for long, short in SHORT.items():
        if p.startswith(long):
            return short + p[len(long):]
    return p


def points_table() -> list[str]:
    aliases = {}
    for a, p in h.ALIASES.items():
        if a != p:
            aliases.setdefault(p, []).append(f"`{a}`")
    rows = ["| point | date | preset names | changes (vs the point before it; series/builds vs "
            "base) |", "|---|---|---|---|"]
    for p in h.points():
        if not h.in_model(p) and p != h.points()[0]:
            continue
        rows.append(f"| `{p}` | {h.date(p) or '—'} | {', '.join(aliases.get(p, []))} | "
                    f"{h.describe(p)} |")
    return rows


def flags_table() -> list[str]:
    pts = h.points()
    first = {}
    for p in pts:
        for f, on in h.flags_at(p).items():
            if on and f not in first:
                first[f] = pts.index(p)
    flags = sorted(first, key=lambda f: (first[f], h.MODELLED.index(f)))
    rows = ["| flag | " + " | ".join(_short(p) for p in pts) + " |",
            "|---|" + "---|" * len(pts)]
    at = {p: h.flags_at(p) for p in pts}
    for f in flags:
        rows.append(f"| `{f}` | " + " | ".join("x" if at[p][f] else "." for p in pts) + " |")
    return rows


def commits_table() -> list[str]:
    rows = ["| release | flag | value | commit / Message-ID | subject | author | verified |",
            "|---|---|---|---|---|---|---|"]
    for c in h.COMMITS:
        kind = " *(baked)*" if c.baked else "" if c.modelled else " *(not modelled)*"
        ident = " / ".join(x for x in (c.commit, f"<{c.msgid}>" if c.msgid else None) if x)
        rows.append(f"| {c.first_seen} | `{c.flag}`{kind} | {'on' if c.value else 'off'} | "
                    f"{ident or '—'} | {c.subject} | {c.author} | "
                    f"{'yes' if c.verified else 'no'} |")
    return rows


def _replace(text: str, header: str, rows: list[str]) -> str:
    """Replace the first table after the heading ``header``."""
    start = text.index(header)
    m = re.compile(r"^\|.*\n(?:\|.*\n)*", re.M).search(text, start)
    return text[:m.start()] + "\n".join(rows) + "\n" + text[m.end():]


def render(text: str) -> str:
    text = _replace(text, "## Points\n", points_table())
    text = _replace(text, "## Flags at every point\n", flags_table())
    return _replace(text, "## Commits by release\n", commits_table())


if __name__ == "__main__":
    old = DOC.read_text()
    new = render(old)
    if "--check" in sys.argv:
        sys.exit(0 if new == old else 1)
    DOC.write_text(new)
