import pytest

from lrulab.conform.compare import ScenarioComparison, compare_op, format_text
from lrulab.conform.qemu import GuestError, OpObservation, parse_probe_log
from lrulab.conform.translate import GuestOp

LOG = """\
noise from somewhere
@@LRULAB HELLO 6.1.0-56-amd64
@@LRULAB SNAP 0 pre vm:thp_split_page=3 vm:slabs_scanned=10 cg:B:current=100
@@LRULAB RES 0 rc=11 err=EAGAIN\r
@@LRULAB SNAP 0 post vm:thp_split_page=5 vm:slabs_scanned=16 cg:B:current=40
@@LRULAB DONE
"""


def test_probe_log_is_parsed_into_deltas():
    release, ops, done = parse_probe_log(LOG)
    assert release == "6.1.0-56-amd64" and done
    o = ops[0]
    assert (o.rc, o.err) == (11, "EAGAIN")
    assert o.delta() == {"vm:thp_split_page": 2, "vm:slabs_scanned": 6, "cg:B:current": -60}


def test_guest_error_line_becomes_guest_error():
    with pytest.raises(GuestError, match="op 3: munmap f1: Invalid argument"):
        parse_probe_log("@@LRULAB ERR 3 munmap f1: Invalid argument\n")


def obs(pre, post):
    return OpObservation(0, {f"vm:{k}": v for k, v in pre.items()},
                         {f"vm:{k}": v for k, v in post.items()})


def test_agreement_and_disagreement_are_marked():
    g = GuestOp(0, "reclaim", 5, "reclaim B", "memory.reclaim")
    c = compare_op(g, obs({"thp_split_page": 0, "slabs_scanned": 0, "thp_zero_page_alloc": 0},
                          {"thp_split_page": 3, "slabs_scanned": 6, "thp_zero_page_alloc": 1}),
                   {"thp_split_page": 3, "slabs_scanned": 5},
                   {"thp_split_page", "slabs_scanned", "thp_underused_split_page"})
    rows = {r.counter: r for r in c.rows}
    assert not rows["thp_split_page"].differs
    assert rows["slabs_scanned"].differs
    # a kernel-only counter is shown, not compared, and says why
    assert not rows["thp_zero_page_alloc"].compared
    assert rows["thp_zero_page_alloc"].why_not == "not modelled"
    # a counter 6.1 does not have is compared against 0
    underused = rows["thp_underused_split_page"]
    assert underused.compared and underused.kernel == 0
    assert [r.counter for r in c.disagreements] == ["slabs_scanned"]
    text = format_text(ScenarioComparison("f.yaml", "n", "6.1", "pkg", "linux-6.1", {}, 1.0, [c]))
    assert "<< DIFFERS" in text and "DISAGREE: 1 ops, 1 disagreement;" in text


def test_excluded_counter_is_not_compared_and_says_why():
    g = GuestOp(0, "reclaim", 5, "reclaim root", "drop_caches",
                {"slabs_scanned": "other shrinkers"})
    c = compare_op(g, obs({"slabs_scanned": 0}, {"slabs_scanned": 144}), {"slabs_scanned": 0},
                   {"slabs_scanned"})
    assert not c.disagreements
    assert "not compared: other shrinkers" in format_text(
        ScenarioComparison("f", "n", "r", "p", "v", {}, 0.0, [c]))


def test_state_is_reported_at_the_first_op_where_it_differs():
    from lrulab.conform.compare import StateRow

    ops = []
    for i in range(3):
        c = compare_op(GuestOp(i, "rmdir", 10 + i, f"op{i}", "x"), obs({}, {}), {}, set())
        c.state_keys = 4
        ops.append(c)
    ops[1].state = [StateRow("deferred_split P", None, ["c1"])]
    ops[2].state = [StateRow("deferred_split P", None, ["c1"]), StateRow("folio c1", "live",
                                                                         "split")]
    sc = ScenarioComparison("f.yaml", "n", "6.1", "pkg", "linux-6.1", {}, 1.0, ops,
                            state_compared=True)
    assert sc.state_first_op == 1 and sc.disagreements == 1
    text = format_text(sc)
    assert "deferred_split P: kernel (absent), model [c1]  << DIFFERS" in text
    assert "folio c1" not in text and "state differs from op 1 on" in text
    data = sc.to_json()
    assert data["state_first_differs_at"] == 1 and data["ops"][2]["state"]["folio c1"] == {
        "kernel": "live", "model": "split"}


def test_folio_and_wait_lines_are_parsed():
    from lrulab.conform.qemu import parse_line

    ops, folios = {}, {}
    rel, tag, wait = parse_line("@@LRULAB FOLIO f1 86 0x200000000000 2097152", "?", ops, folios)
    assert tag == "FOLIO" and wait is None
    assert (folios["f1"].pid, folios["f1"].addr, folios["f1"].size) == (86, 0x200000000000,
                                                                        2 << 20)
    assert parse_line("@@LRULAB WAIT 7\r", rel, ops, folios) == ("?", "WAIT", 7)


def test_guest_ram_goes_to_the_workdir_when_dev_shm_is_small(monkeypatch, tmp_path):
    import os

    from lrulab.conform import qemu

    class Small:
        f_bavail, f_frsize = 16 << 10, 4096          # 64 MiB, a container's default
    monkeypatch.setattr(os, "statvfs", lambda path: Small)
    assert qemu._ram_dir(tmp_path, 1 << 30) == tmp_path


def test_qemu_command_has_ram_files_sockets_and_numa(tmp_path):
    from lrulab.conform.qemu import qemu_command
    from lrulab.conform.tools import Kernel, Tools

    tools = Tools("qemu", Kernel(tmp_path / "vmlinuz", "v"), tmp_path / "probe")
    ram = [tmp_path / "n0", tmp_path / "n1"]
    cmd = " ".join(qemu_command(tools, tmp_path / "i", tmp_path / "c", tmp_path / "p.sock",
                                tmp_path / "q.sock", ram, 2, []))
    assert f"memory-backend-file,id=m1,size=512M,mem-path={tmp_path}/n1,share=on" in cmd
    assert "-numa node,memdev=m1,cpus=1" in cmd and "-serial chardev:probe" in cmd
    assert f"-qmp unix:{tmp_path}/q.sock,server=on,wait=off" in cmd
    one = " ".join(qemu_command(tools, tmp_path / "i", tmp_path / "c", tmp_path / "p.sock",
                                tmp_path / "q.sock", ram[:1], 1, []))
    assert "size=1024M" in one and "-machine memory-backend=m0" in one and "-numa" not in one


def test_a_hog_op_compares_only_its_outcome():
    from lrulab.conform.compare import compare_op
    from lrulab.conform.kernels import RULES_612
    from lrulab.conform.qemu import OpObservation
    from lrulab.conform.translate import HOG_WHY, GuestOp

    gop = GuestOp(3, "reclaim", 9, "reclaim root on node 1 (hog)", "hog", {}, HOG_WHY)
    obs = OpObservation(3, {"vm:thp_split_page": 0, "vm:thp_split_page_failed": 0,
                            "mthp:hugepages-2048kB/stats/split": 0,
                            "mthp:hugepages-2048kB/stats/split_failed": 0},
                        {"vm:thp_split_page": 2, "vm:thp_split_page_failed": 45,
                         "mthp:hugepages-2048kB/stats/split": 2,
                         "mthp:hugepages-2048kB/stats/split_failed": 45})
    model = {"thp_split_page": 2, "thp_split_page_failed": 3,
             "hugepages-2048kB/stats/split": 2, "hugepages-2048kB/stats/split_failed": 3}
    c = compare_op(gop, obs, model, {"thp_split_page", "thp_split_page_failed"}, RULES_612)
    rows = {r.counter: r for r in c.rows}
    assert rows["thp_split_page"].compared and rows["hugepages-2048kB/stats/split"].compared
    assert not rows["thp_split_page_failed"].compared
    assert rows["hugepages-2048kB/stats/split_failed"].why_not == "outcome-only op"
    assert c.disagreements == []
    # a different outcome is a disagreement
    model["thp_split_page"] = 1
    c = compare_op(gop, obs, model, {"thp_split_page", "thp_split_page_failed"}, RULES_612)
    assert [r.counter for r in c.disagreements] == ["thp_split_page"]
