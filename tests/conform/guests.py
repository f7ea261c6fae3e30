"""What the qemu tests share: `lrulab conform --json` run in-process."""

from __future__ import annotations

import json

import pytest

from lrulab.conform.command import run


def run_json(*files, **kw):
    """(status, the JSON document) of run(FILES, as_json=True, **kw); a run that prints none
    fails with what it said on stderr (a guest failure names its kept console log)."""
    out: list[str] = []
    errs: list[str] = []

    def echo(s="", err=False):
        (errs if err else out).append(s)

    status = run(tuple(str(f) for f in files), as_json=True, echo=echo, **kw)
    if not out:
        pytest.fail(f"conform exited {status} with no JSON: {' | '.join(errs)}")
    return status, json.loads(out[-1])
