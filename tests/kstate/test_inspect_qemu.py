"""`lrulab inspect` against real kernels: Debian 6.1 and 6.12.117 guests under QEMU (TCG) run
scenarios/inspect/clean-drained-stranded.yaml; after ops 2 (clean), 5 (drained) and 8
(stranded) the stopped guest's memory is dumped over QMP (`dump-guest-memory`, ELF) and each
dump is inspected with --vmcore; after op 2 the running guest is also inspected with --qmp
through a second QMP monitor.  One guest per kernel, booted once for the module."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from lrulab.kstate.command import run

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "inspect" / "clean-drained-stranded.yaml"
DUMP_AFTER = {2: "clean", 5: "drained", 8: "stranded"}

pytestmark = pytest.mark.qemu


def inspect_json(**kw):
    """run(..., as_json=True): (status, the JSON document or None, stderr lines)."""
    out, err = [], []

    def echo(text="", err_=False, **k):
        (err if k.get("err", err_) else out).append(text)

    status = run(as_json=True, echo=echo, **kw)
    return status, (json.loads(out[-1]) if out else None), err


class Booted:
    """One guest of `kernel` that ran the scenario: its dumps by state name, the --qmp
    inspection done while it was paused after op 2, and the model's state after each op."""

    def __init__(self, kernel: str, workdir: Path):
        from lrulab.conform.command import _load, run_model
        from lrulab.conform.kernels import spec
        from lrulab.conform.qemu import booted_once_more, run_guest
        from lrulab.conform.tools import ToolError, find_tools
        from lrulab.conform.translate import plan

        try:
            tools = find_tools(None, fetch=False, name=kernel)
        except ToolError as e:
            pytest.skip(f"no {kernel} guest: {e}")
        if tools.kernel.vmlinux is None:
            pytest.skip(f"no vmlinux for {kernel}: run `lrulab conform --setup`")
        self.vmlinux = tools.kernel.vmlinux
        kspec = spec(kernel)
        gplan = plan(_load(SCENARIO), kspec.rules)
        self.dumps: dict[str, Path] = {}
        self.qmp_result = self.qmp_running = self.still_running = None
        extra = workdir / "inspect-qmp.sock"

        def on_pause(index, guest):
            name = DUMP_AFTER.get(index)
            if name is None:
                return
            path = workdir / f"{name}.elf"
            guest.qmp.command("dump-guest-memory", paging=False, protocol=f"file:{path}",
                              format="elf")
            self.dumps[name] = path
            if name == "clean":
                self.qmp_result = inspect_json(qmp=str(extra), vmlinux=str(self.vmlinux))
            if name == "drained":
                # a running guest (the probe blocks on its serial port until the host's
                # byte): inspect --qmp stops it, dumps, and lets it run again
                guest.qmp.command("cont")
                self.qmp_running = inspect_json(qmp=str(extra), vmlinux=str(self.vmlinux))
                self.still_running = guest.qmp.command("query-status")["return"]["running"]
                guest.qmp.command("stop")

        # a TCG boot flake (the kernel dies before /init) costs one more boot, as in conform
        self.guest, _ = booted_once_more(
            lambda: run_guest(tools, gplan.script, workdir / "guest", gplan.nodes, gplan.boot,
                              on_pause=on_pause, extra_qmp=extra), workdir / "guest")
        point, _ = kspec.model.resolve(_presets())
        self.model = run_model(SCENARIO, point, {})

    def inspect(self, name: str, **kw):
        return inspect_json(vmcore=str(self.dumps[name]), vmlinux=str(self.vmlinux), **kw)


def _presets():
    from lrulab.kernel.config import PRESETS

    return set(PRESETS)


@pytest.fixture(scope="module", params=["debian-6.1", "debian-6.12.117"])
def booted(request):
    work = Path(tempfile.mkdtemp(prefix="lrulab-inspect-test-"))
    try:
        yield Booted(request.param, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def named(state: dict, model_state: dict) -> dict:
    """`state` (queued folios named pfn:0x...) with each queued folio renamed to the scenario
    name the model has at the same queue position; reader-only keys and the superblocks'
    list_lrus dropped."""
    rename = {}
    for key, pfns in state.items():
        if key.startswith("deferred_split "):
            rename.update(zip(pfns, model_state.get(key, []), strict=False))
    out = {}
    for key, v in state.items():
        if key.startswith("list_lru ") or (key.startswith("shrinker_bit ")
                                           and not key.startswith("shrinker_bit thp ")):
            continue      # the superblocks' lrus: the scenario's model has none
        if key.startswith("folio "):
            _, name, *rest = key.split(" ")
            if rest and rest[0] in ("mapcount", "partially_mapped"):
                continue
            key = " ".join(["folio", rename.get(name, name), *rest])
        elif key.startswith("deferred_split "):
            v = [rename.get(p, p) for p in v]
        out[key] = v
    return out


def queued_live(model_state: dict) -> dict:
    """The model's state without folios that are not on a queue (a dump names no folio)."""
    queued = {n for k, v in model_state.items() if k.startswith("deferred_split ") for n in v}
    return {k: v for k, v in model_state.items()
            if not k.startswith("folio ") or k.split(" ")[1] in queued}


@pytest.mark.parametrize("name,op", [("clean", 2), ("drained", 5), ("stranded", 8)])
def test_the_dump_reads_as_the_model_has_it(booted, name, op):
    """What inspect reads from the dump (memcg tree, queues in order, bits, each queued folio's
    order, node, memcg, refcount, mapping, found from the queue alone) is the model's state
    after the same op, key for key, and the loaded model holds it as read."""
    status, data, err = booted.inspect(name)
    assert status in (0, 1), err
    assert named(data["state"], booted.model.states[op]) == queued_live(booted.model.states[op])
    assert data["loaded_as_read"], data["load_differs"]


def test_clean_state_holds_every_property(booted):
    """B's pinned, partially mapped THP stays queued through the copy's reclaim (the pin fails
    can_split_folio), so its bit stays needed: exit 0."""
    status, data, err = booted.inspect("clean")
    assert status == 0, (data and data["properties"], err)
    assert data["verdict"] == "ok"
    assert all(p["holds"] for p in data["properties"].values())
    # the dentry lrus of proc, sysfs and cgroupfs hold the guest's unused dentries on the
    # root's lists; loaded as counts (loaded_as_read is checked in the test above)
    assert data["state"]["list_lru dentry:cgroup2 root node0"] > 0
    (queue,) = [k for k in data["state"] if k.startswith("deferred_split ")]
    assert queue == "deferred_split B" and data["state"]["shrinker_bit thp B node0"] == 1
    expected = {"debian-6.1": "debian-6.1.192", "debian-6.12.117": "debian-6.12.117"}
    assert data["kernel"] == expected[booted_kernel(data)]


def booted_kernel(data) -> str:
    return "debian-6.1" if data["release"].startswith("6.1.") else "debian-6.12.117"


def test_drained_memcg_keeps_its_bit_stale_bits_fails(booted):
    """A's queue drained by A's reclaim; the real kernel left A's bit set (B7): exit 1, with
    stale_bits naming A and every other property holding."""
    status, data, err = booted.inspect("drained")
    assert status == 1, err
    assert data["state"]["shrinker_bit thp A node0"] == 1
    assert not any(k == "deferred_split A" for k in data["state"])
    props = data["properties"]
    assert props["stale_bits"]["messages"] == [
        "A: bit for thp-deferred_split on node 0 stays set with nothing to shrink"]
    assert [n for n, p in props.items() if not p["holds"]] == ["stale_bits"]


def test_stranded_thp_on_offline_memcg_fails_reparent_complete(booted):
    status, data, err = booted.inspect("stranded")
    assert status == 1, err
    assert data["state"]["memcg C"] == "offline"
    (c1,) = data["state"]["deferred_split C"]
    assert data["properties"]["reparent_complete"]["messages"] == [
        f"{c1} stranded on offline C's queue"]


def test_kernel_option_picks_the_rules(booted):
    """--kernel loads the dump under another point's rules (an alias resolves to its point);
    a point whose THP queue is a list_lru cannot hold an open-coded kernel's queues: exit 2,
    one line."""
    status, data, _ = booted.inspect("stranded", kernel="linux-6.1")
    assert status == 1 and data["kernel"] == "debian-6.1.192"
    assert not data["properties"]["reparent_complete"]["holds"]
    status, data, err = booted.inspect("stranded", kernel="v7.2")
    assert status == 2 and data is None and len(err) == 1 and "list_lru" in err[0]


def test_qmp_stops_a_running_guest_and_lets_it_run_again(booted):
    """--qmp on the running guest after op 5: stop, dump, cont; the drained verdict."""
    status, data, err = booted.qmp_running
    assert status == 1, err
    assert not data["properties"]["stale_bits"]["holds"]
    assert booted.still_running is True


def test_qmp_reads_the_paused_guest(booted):
    """--qmp on the guest paused after op 2: the same clean verdict as its dump."""
    status, data, err = booted.qmp_result
    assert status == 0, err
    assert data["source"].startswith("QEMU guest at ")
    assert data["state"] == booted.inspect("clean")[1]["state"]
