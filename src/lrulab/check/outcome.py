"""What a verdict means for the command's exit status and for kernel test harnesses: the
scenario's 'expect:' and KTAP output (the format kselftests print).  Generic: it sees property
names, verdicts and rendered violations, nothing of the kernel."""

from __future__ import annotations


def expectation(expect: dict | None, verdict: str, violated: set) -> tuple | None:
    """(outcome text, exit status) for a scenario's 'expect: {violation: P|none}', or None
    when it has none.  An expected violation exits 0 ('expected'); a missing one exits 1
    ('unexpectedly ok'), or 3 when a bound was hit; any other violation exits 1."""
    exp = (expect or {}).get("violation")
    if exp is None:
        return None
    others = sorted(violated - {exp})
    if others:
        return (f"unexpected violation of {', '.join(others)}", 1)
    if exp == "none":
        return ("incomplete", 3) if verdict == "incomplete" else ("as expected: no violation", 0)
    if exp in violated:
        return (f"expected (violation of {exp})", 0)
    if verdict == "incomplete":
        return (f"incomplete: the expected violation of {exp} was not found within the "
                "bounds", 3)
    return (f"unexpectedly ok: expected a violation of {exp}", 1)


def _diag(lines, pad="") -> list:
    return [f"{pad}# {line}".rstrip() for line in lines]


def ktap_check(title: str, tests: list, failures: dict, verdict: str, expect: str | None,
               accepted: list, bounds: list) -> list:
    """KTAP for one check: one test per name in ``tests``; ``failures`` maps a test name to
    the diagnostic lines of its violation (its trace).  The expected violation is 'ok ...
    # XFAIL' (kselftest's ksft_test_result_xfail); with nothing found and a bound hit a test
    is '# SKIP'; what a property accepts by design is a diagnostic line of its 'ok'."""
    names = list(tests) + [t for t in failures if t not in tests]
    out = ["KTAP version 1", f"# {title}", f"1..{len(names)}"]
    for n, name in enumerate(names, 1):
        acc = [m for p, m in accepted if p == name]
        if name in failures:
            if name == expect:
                out.append(f"ok {n} {name} # XFAIL expected violation")
            else:
                out.append(f"not ok {n} {name}")
            out += _diag(failures[name])
        elif name == expect:
            out.append(f"not ok {n} {name} # expected a violation, none found")
        elif verdict == "incomplete":
            out.append(f"ok {n} {name} # SKIP incomplete (bounds hit: {', '.join(bounds)})")
        else:
            out.append(f"ok {n} {name}")
        out += _diag([f"accepted: {m}" for m in acc])
    passed = sum(1 for line in out if line.startswith("ok "))
    out.append(f"# Totals: pass:{passed} fail:{len(names) - passed}")
    return out


def ktap_matrix(rows: list) -> list:
    """KTAP for 'lrulab bugs': one test per file, a subtest per preset.  ``rows``: (file
    name, [(preset, verdict, detail)])."""
    out = ["KTAP version 1", f"1..{len(rows)}"]
    for n, (name, cells) in enumerate(rows, 1):
        out += ["    KTAP version 1", f"    # Subtest: {name}", f"    1..{len(cells)}"]
        bad = False
        for m, (preset, verdict, detail) in enumerate(cells, 1):
            if verdict == "violation":
                bad = True
                out.append(f"    not ok {m} {preset} # {detail}")
            elif verdict == "incomplete":
                out.append(f"    ok {m} {preset} # SKIP {detail}")
            else:
                out.append(f"    ok {m} {preset}")
        out.append(f"{'not ok' if bad else 'ok'} {n} {name}")
    return out


def ktap_history(items: list) -> list:
    """KTAP for 'lrulab bugs' in history form: one test per file, a subtest per point.
    ``items``: (file name, judged, [(point, verdict, detail, expected, deviation)]).  A judged
    file's point is 'ok' when the checker agrees with its history (an expected violation is
    'ok ... # XFAIL'), 'not ok' when it deviates; a file without history fails where a
    violation is found.  A point where the file is no scenario, or the check was incomplete,
    is '# SKIP'."""
    out = ["KTAP version 1", f"1..{len(items)}"]
    for n, (name, judged, cells) in enumerate(items, 1):
        out += ["    KTAP version 1", f"    # Subtest: {name}", f"    1..{len(cells)}"]
        bad = False
        for m, (point, verdict, detail, expected, deviation) in enumerate(cells, 1):
            if verdict == "n/a":
                out.append(f"    ok {m} {point} # SKIP not a valid scenario at this point")
            elif deviation:
                bad = True
                out.append(f"    not ok {m} {point} # {deviation}")
            elif verdict == "incomplete":
                out.append(f"    ok {m} {point} # SKIP {detail}")
            elif judged and expected:
                out.append(f"    ok {m} {point} # XFAIL {detail}")
            elif verdict == "violation" and not judged:
                bad = True
                out.append(f"    not ok {m} {point} # {detail}")
            else:
                out.append(f"    ok {m} {point}")
        out.append(f"{'not ok' if bad else 'ok'} {n} {name}")
    return out
