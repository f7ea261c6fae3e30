"""Random small scenarios for differential tests of the checker's reductions."""

import random

PRESETS = ["linux-6.1", "v1", "series-v4", "series-v5", "v7.2"]
KINDS = ["fault", "partial_unmap", "unmap", "get", "put", "rmdir", "reclaim", "lru_add",
         "split", "migrate", "collapse"]


def random_scenario(seed: int) -> str:
    """YAML text: 1-2 THPs set up in A, A/C or B, then 2-3 threads of 1-2 random ops."""
    rnd = random.Random(seed)
    preset = rnd.choice(PRESETS)
    nodes = rnd.choice([1, 2])
    memcgs = ["A/C", "B"]  # leaves: A has a child, so no task runs in it (cgroup v2)
    setup, folios = [], []
    for i in range(rnd.randint(1, 2)):
        name = f"s{i}"
        setup.append(f"  - fault: {{memcg: {rnd.choice(memcgs)}, node: {rnd.randrange(nodes)}, "
                     f"as: {name}}}")
        if rnd.random() < 0.7:
            setup.append(f"  - partial_unmap: {name}")
        folios.append(name)
    threads = []
    for t in range(rnd.choice([2, 2, 3])):
        ops = []
        live = list(memcgs)  # a removed cgroup has no tasks: not after its rmdir in a thread
        for j in range(rnd.randint(1, 2)):
            kind = rnd.choice(KINDS)
            node = rnd.randrange(nodes)
            task = rnd.choice(live or ["root"])
            if kind in ("fault", "collapse"):
                ops.append(f"{{{kind}: {{memcg: {task}, node: {node}, "
                           f"as: t{t}{j}}}}}")
            elif kind in ("partial_unmap", "unmap", "get", "put", "split"):
                ops.append(f"{{{kind}: {rnd.choice(folios)}}}")
            elif kind == "rmdir":
                gone = rnd.choice(['A/C', 'B'])
                ops.append(f"{{rmdir: {gone}}}")
                if gone in live:
                    live.remove(gone)
            elif kind == "reclaim":
                ops.append(f"{{reclaim: {{memcg: {rnd.choice(['A', 'B', 'root'])}, "
                           f"node: {node}, priority: 0}}}}")
            elif kind == "lru_add":
                ops.append(f"{{lru_add: {{lru: dcache, memcg: {task}, "
                           f"node: {node}, item: d{t}{j}}}}}")
            elif nodes == 1:
                ops.append(f"{{get: {rnd.choice(folios)}}}")
            else:
                ops.append(f"{{migrate: {{folio: {rnd.choice(folios)}, node: {node}}}}}")
        threads.append("  - [ " + ", ".join(ops) + " ]")
    return (f"kernel:\n  variant: {preset}\n  nodes: {nodes}\n"
            "  lrus: {dcache: {memcg_aware: true, shrinker: [numa_aware, memcg_aware]}}\n"
            "memcgs: [A, A/C, B]\nsetup:\n" + "\n".join(setup) + "\nthreads:\n"
            + "\n".join(threads) + "\n")


def random_symmetric_scenario(seed: int) -> str:
    """YAML text: memcgs A, B (and A/C, B/C); two mirrored threads (A<->B, A/C<->B/C,
    a<->b) of 1-2 random ops, and sometimes a third thread on root."""
    rnd = random.Random(seed)
    preset = rnd.choice(PRESETS)
    deep = rnd.random() < 0.5
    memcgs = ["A", "B"] + (["A/C", "B/C"] if deep else [])
    left = ["A/C"] if deep else ["A"]  # tasks run in leaves only (cgroup v2)
    ops = []
    for j in range(rnd.randint(1, 2)):
        kind = rnd.choice(["fault", "partial_unmap", "unmap", "rmdir", "reclaim", "lru_add"])
        m = rnd.choice(left)
        if kind == "fault" or (kind in ("partial_unmap", "unmap") and
                               not (ops and ops[0].startswith("{fault"))):
            ops.append(("{fault: {memcg: %s, node: 0, as: %%s%d}}" % (m, j)))
        elif kind in ("partial_unmap", "unmap"):
            ops.append("{%s: %%s0}" % kind)
        elif kind == "rmdir":
            ops.append("{rmdir: %s}" % (rnd.choice(["A/C"]) if deep else "A").replace("A", "%M"))
        elif kind == "reclaim":
            ops.append("{reclaim: {memcg: %s, node: 0, priority: 0}}" % m)
        else:
            ops.append("{lru_add: {lru: dcache, memcg: %s, node: 0, item: %%s%d}}" % (m, j))

    # a removed cgroup has no tasks: the rmdir goes last in its thread
    ops.sort(key=lambda o: o.startswith("{rmdir"))

    def side(letter):
        out = []
        for o in ops:
            o = o.replace("%M", letter)
            o = o.replace("memcg: A", "memcg: " + letter).replace("A/C", letter + "/C")
            out.append(o.replace("%s", letter.lower()))
        return "  - [ " + ", ".join(out) + " ]"
    threads = [side("A"), side("B")]
    if rnd.random() < 0.5:
        threads.append("  - [ {reclaim: {memcg: root, node: 0, priority: 0}} ]")
    return (f"kernel:\n  variant: {preset}\n  nodes: 1\n"
            "  lrus: {dcache: {memcg_aware: true, shrinker: [numa_aware, memcg_aware]}}\n"
            f"memcgs: [{', '.join(memcgs)}]\nthreads:\n" + "\n".join(threads) + "\n")
