"""The scenario generator (src/lrulab/sweep/gen.py): reproducible, well-formed, and covering
every op, boot option, lru kind and failure injection."""

import re

import pytest

from lrulab.kernel.config import PRESETS
from lrulab.scenario import OPS, parse_scenario
from lrulab.sweep.gen import NOT_DRAWN, scenario_text

SEEDS = range(200)


@pytest.fixture(scope="module")
def parsed():
    return {(s, p): parse_scenario(scenario_text(s, p), f"sweep-{s}.yaml")
            for s in SEEDS for p in ("linux-6.1", "v7.2-fixes")}


def test_same_seed_same_text_byte_for_byte():
    for s in range(50):
        assert scenario_text(s, "v0") == scenario_text(s, "v0")
    assert scenario_text(1, "v0") != scenario_text(2, "v0")


def _same_workload(text: str) -> str:
    """The text without what may differ between presets: folio sizes (no mTHP: PMD THPs)
    and charge_move, which presets after 6.12 draw as a swapout of the same folio."""
    text = re.sub(r", (order|written): \d+", "", text)
    return re.sub(r"charge_move: \{folio: (\w+), to: [\w/]+\}", r"swapout: \1", text)


def test_a_seed_is_the_same_workload_on_every_preset():
    """Only the folio sizes differ (presets without mTHP get PMD THPs), and a charge_move
    where the preset has no charge moving."""
    for s in range(50):
        texts = {_same_workload(scenario_text(s, p).replace(f"variant: {p}", "variant: P"))
                 for p in PRESETS}
        assert len(texts) == 1


def test_every_generated_scenario_parses_on_every_preset():
    for s in range(30):
        for p in PRESETS:
            parse_scenario(scenario_text(s, p), f"sweep-{s}.yaml")


def test_covers_every_op_boot_option_lru_and_failure(parsed):
    kinds, boots, lrus, sites, orders, threads, nodes = set(), set(), set(), set(), set(), \
        set(), set()
    inject = 0
    for sc in parsed.values():
        boots.add(tuple(sc.kernel.boot))
        lrus |= {(n, spec["memcg_aware"]) for n, spec in sc.kernel.lrus.items()}
        inject += sc.kernel.inject_alloc_failures
        threads.add(len(sc.threads))
        nodes.add(sc.kernel.nodes)
        for op in sc.all_ops():
            kinds.add(op.kind)
            sites |= set(op.args.get("fail", ()))
            if op.kind == "fault" and sc.kernel.variant == "v7.2-fixes":
                orders.add(op.args["order"])
        for t in sc.threads:
            assert 2 <= len(t) <= 5
    assert kinds == set(OPS) - set(NOT_DRAWN)
    assert boots == {(), ("cgroup.memory=nokmem",), ("cgroup_disable=memory",)}
    assert {aware for _, aware in lrus} == {True, False}
    assert inject > 0 and sites
    assert threads == {2, 3} and nodes == {1, 2}
    assert 9 in orders and orders - {9}


def test_no_mthp_order_on_a_preset_without_mthp(parsed):
    for (s, p), sc in parsed.items():
        if not PRESETS[p][1]["mthp"]:
            assert all(op.args.get("order", 9) == 9 for op in sc.all_ops()), s


def test_respects_the_cgroup_v2_rules(parsed):
    """Tasks (fault, collapse, lru_add) live in root or in a leaf of the final tree that
    setup or their own thread has not removed before; no mkdir under a memcg any op removes; a
    thread's put follows its own get."""
    for (s, _), sc in parsed.items():
        paths = set(sc.memcgs) | {op.args["path"] for op in sc.all_ops() if op.kind == "mkdir"}
        removed = {op.args["path"] for op in sc.all_ops() if op.kind == "rmdir"}
        inner = {p.rpartition("/")[0] for p in paths}
        gone = set()
        for op in sc.setup:
            if op.kind == "rmdir":
                gone.add(op.args["path"])
            if op.kind in ("fault", "collapse", "lru_add"):
                m = op.args["memcg"]
                assert m == "root" or (m not in inner and m not in gone), (s, op)
        for t in sc.threads:
            pins, made, own_gone = [], set(), set(gone)
            for op in t:
                if op.kind == "mkdir":
                    assert op.args["path"].rpartition("/")[0] not in removed, (s, op)
                    made.add(op.args["path"])
                if op.kind == "rmdir":
                    own_gone.add(op.args["path"])
                if op.kind in ("fault", "collapse", "lru_add"):
                    m = op.args["memcg"]
                    assert m == "root" or (m not in inner and m not in own_gone), (s, op)
                    assert m in sc.memcgs or m in made or m == "root", (s, op)
                if op.kind == "get":
                    pins.append(op.args["folio"])
                if op.kind == "put":
                    assert op.args["folio"] in pins, (s, op)
                    pins.remove(op.args["folio"])
