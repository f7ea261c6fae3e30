"""The exhaustive explorer.  Generic: it drives a *world* and knows nothing about what it models.

A world provides:

- ``threads``: thread names; a move is a tuple whose first item is the thread's index;
- ``initial() -> h``: a fresh live state; ``replay(path) -> h``: the state after ``path``;
- ``moves(h) -> [move]``: the enabled moves, in a fixed order;
- ``apply(h, move) -> [(property, message)]``: run one atomic step in place; what it returns
  are the step properties the step violated;
- ``fingerprint(h) -> hashable``: equal exactly when the two states have the same future;
- ``end_violations(h) -> [(property, message)]``: at a state without moves; an entry may
  instead be an ``Accepted(property, message)``: a behaviour the property accepts by design,
  collected in ``Result.accepted`` and not a violation;
- optionally ``violation_key(property, message) -> hashable``: violations with different keys
  get their own shortest schedule (default: one per property);
- optionally ``initial_violations() -> [(property, message)]``: already violated at the start;
- optionally ``set_symmetry(on) -> bool``: while on, ``fingerprint`` identifies states
  equal up to a symmetry of the world (interchangeable components); returns whether the world
  has any non-trivial symmetry;
- optionally ``enable_footprints()`` and ``apply_fp(h, move) -> (violations, (reads,
  writes))``: apply, also returning the step's footprint as two sets of location names that
  stay the same across replays of a schedule (used by sleep sets and the commuting search);
- optionally ``infer_ok() -> bool``: whether a step's violations depend only on the state it
  runs in and the step (so the commuting search may infer them); default False.

Search: breadth first over the state graph, one level (steps from the initial state) at a
time, merging states with equal fingerprints; a state's live object is rebuilt by replaying
the schedule that first reached it.  Every edge is recorded, so when the first violation shows
up at level L the level is finished and the counterexample is the cheapest schedule of L
steps by (steps, preemptions, schedule order) -- a dynamic programme over (state, last
thread).  Deterministic, so ``jobs > 1`` (levels expanded in worker processes, merged in the
same order) gives the same result.

Reductions (each can be switched off to compare with plain search):

- ``cache``: merge states by fingerprint (off: the plain tree of all interleavings);
- ``sleep``: sleep sets (Godefroid) over the *observed* independence of moves: two moves of
  different threads commute when neither's footprint writes what the other's reads or
  writes.  A slept move keeps the footprint it had where it was explored (nothing since was
  dependent on it, so it cannot have changed).  Sleep sets only prune transitions: every
  state is still visited.
- ``commute``: the plain state graph (every edge, as livelock detection needs) with fewer
  steps run.  A node reached (so far) as parent + m takes, without running it, the edge of
  each move a of another thread that parent already took to pa, when a's and m's
  footprints there are independent and pa's edge for m is known: node + a is pa + m (the
  diamond), and a runs at node as it ran at parent (same violations, same footprint,
  inherited for the next inference).  Nodes are expanded one after the other, in frontier
  order, so that the edges taken before a node's expansion are known to it (pa is used only
  once expanded).  Serial, with state caching, without ``max_preemptions``, and only for
  worlds whose ``infer_ok()``.  Same verdicts, states, transitions, final states and traces
  as plain search (tests/check/test_commute.py); what it saves is the replays and
  fingerprints of the inferred edges.
- ``symmetry``: merge states equal up to the world's symmetries (``set_symmetry``).  Edges
  out of a merged state are moves of its first representative, so paths through it are not
  schedules: a violation found is traced again by a plain search bounded to its depth.  Not
  combined with sleep sets (their sets are named along one schedule) nor with
  ``max_preemptions`` (keyed by the last thread).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


class _Alarm:
    """Set by the --timeout alarm of a command (check/commands.py, from its SIGALRM handler).
    The search polls it at every state: the handler also raises, but an exception raised while
    Python runs a gc callback or a ``__del__`` (a kernel generator being finalized, say) is only
    printed ("Exception ignored in ...") and the search would run on."""

    fired = False


def expire() -> None:
    """Make every search stop at its next state (bound 'timeout'); signal-handler safe."""
    _Alarm.fired = True


def reset_expired() -> None:
    _Alarm.fired = False


def expired() -> bool:
    return _Alarm.fired


def _late(deadline) -> bool:
    """Out of time: past the search's own deadline, or the command's alarm went off."""
    return _Alarm.fired or (deadline is not None and time.monotonic() > deadline)


def _pool_map(pool, fn, groups, deadline) -> list | None:
    """pool.map that gives up (None) when out of time, instead of finishing the level."""
    r = pool.map_async(fn, groups, chunksize=1)
    while not r.ready():
        r.wait(0.05)
        if _late(deadline):
            return None
    return r.get()


@dataclass
class Bounds:
    max_steps: int | None = None
    max_preemptions: int | None = None
    max_states: int | None = None
    timeout: float | None = None


@dataclass(frozen=True)
class Accepted:
    """An end result a property accepts by design (reported, not a violation)."""
    property: str
    message: str


@dataclass
class Violation:
    property: str
    message: str
    path: tuple
    steps: int
    preemptions: int


@dataclass
class Result:
    verdict: str  # ok | violation | incomplete
    violations: list
    states: int
    executions: int
    transitions: int
    seconds: float
    bound_hit: list = field(default_factory=list)
    finals: set = field(default_factory=set)  # fingerprints of states without moves
    trace_search: tuple = ()  # (states, transitions) of the plain search that made the trace
    steps_run: int = 0  # atomic steps executed, replays included
    accepted: list = field(default_factory=list)  # [(property, message)] accepted by design


def _split_end(end, notes: set) -> list:
    """End results without the Accepted notes (which go to ``notes``)."""
    out = []
    for e in end:
        if isinstance(e, Accepted):
            notes.add((e.property, e.message))
        else:
            out.append(e)
    return out


class _Node:
    __slots__ = ("id", "fp", "depth", "parent", "pmove", "edges", "enabled", "end", "pre",
                 "last")

    def __init__(self, nid, fp, depth, parent, pmove, last=None, pre=0):
        self.id = nid
        self.fp = fp
        self.depth = depth
        self.parent = parent
        self.pmove = pmove
        self.edges = None  # [(move, child node, violations)]
        self.enabled = ()  # threads with a move here
        self.end = None  # end violations (no moves)
        self.last = last
        self.pre = pre


def path_of(node) -> tuple:
    out = []
    while node.parent is not None:
        out.append(node.pmove)
        node = node.parent
    out.reverse()
    return tuple(out)


LIVE_CACHE = 512  # live states kept from one level to the next (serial search only)


def expand(world, path):
    """Expand the state reached by ``path``: its moves, each move's successor fingerprint and
    violations; at a state without moves, its end violations.  Returns
    (enabled threads, [(move, fp, violations)], end violations or None, steps run)."""
    return _expand(world, path, None)[:4]


def _expand(world, path, live):
    """expand, starting from ``live`` (the state of ``path``, if the caller has it) and also
    returning the live state after the last move."""
    h = live if live is not None else world.replay(path)
    moves = world.moves(h)
    if not moves:
        return (), [], world.end_violations(h), 0, None
    enabled = tuple(sorted({m[0] for m in moves}))
    out = []
    steps = 0 if live is not None else len(path)
    for n, m in enumerate(moves):
        if n:
            h = world.replay(path)
            steps += len(path)
        viol = world.apply(h, m)
        steps += 1
        out.append((m, world.fingerprint(h), viol))
    return enabled, out, None, steps, h


def indep(fa, fb) -> bool:
    """Two steps with footprints (reads, writes) commute: neither writes what the other reads
    or writes."""
    ra, wa = fa
    rb, wb = fb
    return not (wa & rb or wa & wb or wb & ra)


def expand_fp(world, path, moves_wanted, sleep_moves, live=None):
    """Like expand, with footprints, exploring ``moves_wanted`` (None: every enabled move not
    in ``sleep_moves``).  Returns (enabled threads, all enabled moves,
    [(move, fp, violations, footprint)], end violations or None, steps run, live state after
    the last move)."""
    h = live if live is not None else world.replay(path)
    moves = world.moves(h)
    if not moves:
        return (), (), [], world.end_violations(h), 0, None
    enabled = tuple(sorted({m[0] for m in moves}))
    if moves_wanted is None:
        todo = [m for m in moves if m not in sleep_moves]
    else:
        todo = [m for m in moves if m in moves_wanted]
    out = []
    steps = 0 if live is not None else len(path)
    for n, m in enumerate(todo):
        if n:
            h = world.replay(path)
            steps += len(path)
        viol, fp = world.apply_fp(h, m)
        steps += 1
        out.append((m, world.fingerprint(h), viol, fp))
    return enabled, tuple(moves), out, None, steps, (h if todo else None)


_POOL = {}


def _worker_init(factory, args):
    _POOL["world"] = factory(*args)


def _worker_expand(paths):
    w = _POOL["world"]
    return [expand(w, p) for p in paths]


def _depth_bound(world, node, bound_hit: list, finals: set, notes: set) -> bool:
    """A node at --max-steps is a bound only if its state could still move; a state without
    moves is final and its end properties are checked.  Returns whether it violates one."""
    hh = world.replay(path_of(node))
    if world.moves(hh):
        if "max_steps" not in bound_hit:
            bound_hit.append("max_steps")
        return False
    node.end = _split_end(world.end_violations(hh), notes)
    finals.add(node.fp)
    return bool(node.end)


def _worker_init_fp(factory, args):
    _POOL["world"] = factory(*args)
    _POOL["world"].enable_footprints()


def _worker_expand_fp(jobs):
    w = _POOL["world"]
    return [expand_fp(w, p, want, slept)[:5] + (None,) for p, want, slept in jobs]


def _explore_sleep(world, bounds, jobs, world_factory, progress, stop_at_first) -> Result:
    """Breadth-first search with state caching and sleep sets (Godefroid).  A node keeps the
    intersection of the sleep sets it was reached with (move -> footprint, named along the
    node's own schedule); when a later arrival wakes a move that its expansion slept, the node
    is expanded again for that move."""
    world.enable_footprints()
    t0 = time.monotonic()
    deadline = t0 + bounds.timeout if bounds.timeout else None
    h = world.initial()
    root = _Node(0, world.fingerprint(h), 0, None, None)
    root.last = {}  # sleep set
    nodes = [root]
    index = {root.fp: root}
    finals: set = set()
    notes: set = set()
    frontier = [(root, None)]
    bound_hit: list = []
    transitions = steps_run = executions = 0
    found_level = None
    slept_at = {}  # node id -> moves slept when it was expanded
    cache: dict = {}  # node id -> live state (the last child an expansion created)
    pool = None
    if jobs > 1 and world_factory is not None:
        import multiprocessing as mp
        pool = mp.get_context("fork").Pool(jobs, _worker_init_fp, world_factory)
    try:
        while frontier:
            if _late(deadline):
                bound_hit.append("timeout")
                break
            level = min(n.depth for n, _ in frontier)
            todo, work = [], []
            for node, want in frontier:
                if bounds.max_steps is not None and node.depth >= bounds.max_steps:
                    if _depth_bound(world, node, bound_hit, finals, notes) and \
                            found_level is None:
                        found_level = node.depth
                    node.edges = node.edges or []
                    continue
                todo.append((node, want))
                work.append((path_of(node), want, frozenset(node.last), node.id))
            if pool is not None and len(work) > 1:
                chunk = max(1, len(work) // (jobs * 4))
                work = [w[:3] for w in work]
                groups = [work[i:i + chunk] for i in range(0, len(work), chunk)]
                got = _pool_map(pool, _worker_expand_fp, groups, deadline)
                results = [r for g in got or () for r in g]
            else:
                results = []
                for p, want, slept, nid in work:
                    results.append(expand_fp(world, p, want, slept, cache.pop(nid, None)))
                    if _late(deadline):
                        break
                cache.clear()
            if len(results) < len(work):
                bound_hit.append("timeout")
                break
            nxt = []
            for (node, want), res in zip(todo, results, strict=True):
                enabled, allmoves, succ, end, steps, hlast = res
                steps_run += steps
                transitions += len(succ)
                node.enabled = enabled
                if node.edges is None:
                    node.edges = []
                if end is not None:
                    node.end = end = _split_end(end, notes)
                    finals.add(node.fp)
                    executions += 1
                    if end and found_level is None:
                        found_level = node.depth
                    continue
                if want is None:
                    slept_at[node.id] = {m for m in allmoves if m in node.last}
                    earlier = dict()
                else:
                    slept_at[node.id] -= set(want)
                    earlier = {}
                base = {u: f for u, f in node.last.items() if u in allmoves}
                for m, fp, viol, foot in succ:
                    zs = dict(base)
                    zs.update(earlier)
                    child_sleep = {u: f for u, f in zs.items()
                                   if u[0] != m[0] and indep(f, foot)}
                    earlier[m] = foot
                    child = index.get(fp)
                    if child is None:
                        if bounds.max_states is not None and len(nodes) >= bounds.max_states:
                            if "max_states" not in bound_hit:
                                bound_hit.append("max_states")
                            continue
                        child = _Node(len(nodes), fp, node.depth + 1, node, m)
                        child.last = child_sleep
                        nodes.append(child)
                        index[fp] = child
                        nxt.append((child, None))
                        if hlast is not None and m == succ[-1][0] and len(cache) < LIVE_CACHE:
                            cache[child.id] = hlast  # its live state: no replay next level
                    else:
                        executions += 1
                        kept = {u: f for u, f in child.last.items() if u in child_sleep}
                        woken = set(child.last) - set(kept)
                        child.last = kept
                        if woken and child.id in slept_at:
                            need = woken & slept_at[child.id]
                            if need:
                                nxt.append((child, frozenset(need)))
                    node.edges.append((m, child, viol))
                    if viol and found_level is None:
                        found_level = node.depth + 1
            if progress:
                progress(level, len(nodes), transitions)
            if found_level is not None and stop_at_first:
                break
            # a node woken several times this level is expanded once for all its moves
            merged: dict = {}
            for node, want in nxt:
                if node.id in merged and want is not None:
                    merged[node.id] = (node, merged[node.id][1] | want)
                else:
                    merged[node.id] = (node, want)
            order = list(merged)
            frontier = [merged[i] for i in order]
    finally:
        if pool is not None:
            # out of time: the workers may still be expanding the level given up on
            if "timeout" in bound_hit:
                pool.terminate()
            else:
                pool.close()
            pool.join()
    violations = _shortest(nodes, root, world) if found_level is not None else []
    verdict = "violation" if violations else ("incomplete" if bound_hit else "ok")
    return Result(verdict, violations, len(nodes), executions, transitions,
                  time.monotonic() - t0, bound_hit, finals, steps_run=steps_run,
                  accepted=sorted(notes))


def _sym_world(factory, args):
    w = factory(*args)
    w.set_symmetry(True)
    return w


def explore(world, bounds: Bounds | None = None, cache: bool = True, jobs: int = 1,
            world_factory=None, progress=None, stop_at_first: bool = True,
            sleep: bool = False, symmetry: bool = False, commute: bool = False) -> Result:
    """Explore every interleaving within ``bounds``.  See the module docstring.  With
    ``sleep`` (and a world offering footprints) the search uses sleep sets; a violation it
    finds at depth L is then traced by a plain search bounded to L steps, so the trace is the
    same cheapest one.  ``bounds.timeout`` covers both searches: the second gets what the
    first left, and ``seconds`` counts both."""
    bounds = bounds or Bounds()
    t0 = time.monotonic()

    def left():  # what remains of the timeout for the tracing search
        if bounds.timeout is None:
            return None
        return max(bounds.timeout - (time.monotonic() - t0), 1e-6)
    if "termination" in getattr(world, "property_order", ()):
        # livelocks are a property of the whole state graph: reductions that drop
        # transitions (sleep sets) or merge states (symmetry) are off
        sleep = symmetry = False
    initial = getattr(world, "initial_violations", None)
    iv = initial() if initial is not None else []
    if iv:  # already violated before any thread ran (the scenario's setup)
        order = {p: i for i, p in enumerate(getattr(world, "property_order", ()))}
        first = {}
        for p, msg in iv:
            first.setdefault(p, msg)
        vs = sorted((Violation(p, m, (), 0, 0) for p, m in first.items()),
                    key=lambda v: order.get(v.property, 99))
        return Result("violation", vs, 1, 0, 0, 0.0)
    if symmetry and cache and bounds.max_preemptions is None and \
            hasattr(world, "set_symmetry") and world.set_symmetry(True):
        try:
            wf = (_sym_world, world_factory) if world_factory is not None else None
            res = _explore(world, bounds, True, jobs, wf, progress, stop_at_first)
        finally:
            world.set_symmetry(False)
        if res.violations:
            # paths through merged states are not schedules: trace by a plain search
            depth = max(v.steps for v in res.violations)
            b2 = Bounds(max_steps=depth, max_states=bounds.max_states, timeout=left())
            plain = _explore(world, b2, True, jobs, world_factory, progress, stop_at_first)
            res.violations = plain.violations
            res.trace_search = (plain.states, plain.transitions)
            if not plain.violations:  # a bound, or symmetry merged what no schedule reaches
                res.verdict = "incomplete"
                res.bound_hit += plain.bound_hit or ["symmetry_retrace"]
        res.seconds = time.monotonic() - t0
        return res
    if sleep and cache and bounds.max_preemptions is None and hasattr(world, "apply_fp"):
        res = _explore_sleep(world, bounds, jobs, world_factory, progress, stop_at_first)
        if res.violations:
            depth = max(v.steps for v in res.violations)
            b2 = Bounds(max_steps=depth, max_states=bounds.max_states, timeout=left())
            plain = _explore(world, b2, True, jobs, world_factory, progress, stop_at_first)
            if plain.violations:
                key = _keyer(world)
                got = {key(v.property, v.message) for v in plain.violations}
                res.violations = plain.violations + [
                    v for v in res.violations if key(v.property, v.message) not in got]
                res.trace_search = (plain.states, plain.transitions)
        res.seconds = time.monotonic() - t0
        return res
    return _explore(world, bounds, cache, jobs, world_factory, progress, stop_at_first,
                    commute)


def _explore(world, bounds, cache, jobs, world_factory, progress, stop_at_first,
             commute=False) -> Result:
    t0 = time.monotonic()
    deadline = t0 + bounds.timeout if bounds.timeout else None
    keyed = bounds.max_preemptions is not None  # states keyed by (fingerprint, last thread)
    h = world.initial()
    root = _Node(0, world.fingerprint(h), 0, None, None)
    nodes = [root]
    index = {(root.fp, None) if keyed else root.fp: root}
    finals: set = set()
    notes: set = set()
    frontier = [root]
    bound_hit: list = []
    transitions = 0
    steps_run = 0
    executions = 0
    found_level = None
    live: dict = {}  # node id -> live state (the last child an expansion created)
    pool = None
    if jobs > 1 and world_factory is not None:
        import multiprocessing as mp
        ctx = mp.get_context("fork") if hasattr(mp, "get_context") else mp
        pool = ctx.Pool(jobs, _worker_init, world_factory)
    # commuting steps (see the module docstring): serial, merged states, one key per state
    commute = commute and cache and not keyed and pool is None and \
        hasattr(world, "apply_fp") and getattr(world, "infer_ok", lambda: False)()
    feet: dict = {}  # (node id, move) -> the footprint of that edge's step
    preds: dict = {}  # node id -> [(node, move)] of the edges into it (commuting search)
    if commute:
        world.enable_footprints()
    try:
        while frontier:
            if _late(deadline):
                bound_hit.append("timeout")
                break
            level = frontier[0].depth
            todo = []
            for node in frontier:
                if bounds.max_steps is not None and node.depth >= bounds.max_steps:
                    todo.append((node, None))
                else:
                    todo.append((node, path_of(node)))
            paths = [p for _, p in todo if p is not None]
            if pool is not None and len(paths) > 1:
                chunk = max(1, len(paths) // (jobs * 4))
                groups = [paths[i:i + chunk] for i in range(0, len(paths), chunk)]
                got = _pool_map(pool, _worker_expand, groups, deadline)
                results = [r + (None,) for g in got or () for r in g]
            elif commute:
                # lazily, so that each node is expanded after the nodes before it in the
                # frontier were taken in: the edges it infers from are known
                results = _commute_results(world, todo, live, feet, preds, deadline)
                live = {}
            else:
                results = []
                for node, p in todo:
                    if p is None:
                        continue
                    results.append(_expand(world, p, live.pop(node.id, None)))
                    if _late(deadline):
                        break
                live.clear()
            if not commute and len(results) < len(paths):
                bound_hit.append("timeout")
                break
            it = iter(results)
            nxt = []
            timed_out = False
            if commute:  # what a timeout in this level undoes (see below)
                saved = (len(nodes), transitions, steps_run, executions, found_level,
                         set(finals), set(notes), list(bound_hit))
            taken = 0  # nodes of todo taken in so far
            for node, p in todo:
                taken += 1
                if p is None:
                    if _depth_bound(world, node, bound_hit, finals, notes) and \
                            found_level is None:
                        found_level = level
                    node.edges = []
                    continue
                res = next(it)
                if res is None:  # the commuting search ran out of time in this level
                    timed_out = True
                    break
                enabled, succ, end, steps, hlast = res[:5]
                # the live states the expansion leaves: the last child's, or (commuting
                # search) every child's it ran a step for
                lives = res[5] if len(res) > 5 else \
                    ({succ[-1][0]: hlast} if hlast is not None else {})
                steps_run += steps
                transitions += len(succ)
                node.enabled = enabled
                if end is not None:
                    node.end = end = _split_end(end, notes)
                    node.edges = []
                    finals.add(node.fp)
                    executions += 1
                    if end and found_level is None:
                        found_level = level
                    continue
                node.edges = []
                for m, fp, viol in succ:
                    pre = node.pre
                    if node.last is not None and m[0] != node.last and node.last in enabled:
                        pre += 1
                    if keyed and pre > bounds.max_preemptions:
                        if "max_preemptions" not in bound_hit:
                            bound_hit.append("max_preemptions")
                        continue
                    key = (fp, m[0]) if keyed else fp
                    child = index.get(key) if cache else None
                    if child is None:
                        if bounds.max_states is not None and len(nodes) >= bounds.max_states:
                            if "max_states" not in bound_hit:
                                bound_hit.append("max_states")
                            continue
                        child = _Node(len(nodes), fp, level + 1, node, m, m[0], pre)
                        nodes.append(child)
                        if cache:
                            index[key] = child
                        nxt.append(child)
                        if m in lives and len(live) < LIVE_CACHE:
                            live[child.id] = lives[m]  # its live state: no replay next level
                    elif keyed and pre < child.pre:
                        # reached with fewer preemptions: expand (again) with the lower count
                        child.pre = pre
                        if child.edges is not None:
                            again = _Node(len(nodes), fp, level + 1, node, m, m[0], pre)
                            nodes.append(again)
                            nxt.append(again)
                            index[key] = again
                            child = again
                    else:
                        executions += 1  # this schedule joined a known state
                    node.edges.append((m, child, viol))
                    if commute:
                        preds.setdefault(child.id, []).append((node, m))
                    if viol and found_level is None:
                        found_level = level + 1
            if timed_out:
                # as plain search, which drops a level it could not finish: the level's
                # nodes, edges and counts go, so a trace is still a cheapest one
                for node, _ in todo[:taken - 1]:  # the last one was not taken in
                    node.edges = node.end = None
                    node.enabled = ()
                for child in nodes[saved[0]:]:
                    del index[child.fp]
                del nodes[saved[0]:]
                transitions, steps_run, executions, found_level = saved[1:5]
                finals.clear()
                finals.update(saved[5])
                notes.clear()
                notes.update(saved[6])
                bound_hit[:] = saved[7] + ["timeout"]
                break
            if progress:
                progress(level, len(nodes), transitions)
            if found_level is not None and stop_at_first:
                break
            frontier = nxt
    finally:
        if pool is not None:
            # out of time: the workers may still be expanding the level given up on
            if "timeout" in bound_hit:
                pool.terminate()
            else:
                pool.close()
            pool.join()
    violations = _shortest(nodes, root, world) if found_level is not None else []
    complete = not bound_hit and (found_level is None or not stop_at_first)
    if complete and "termination" in getattr(world, "property_order", ()) and \
            (not keyed) and cache:
        violations += livelocks(nodes, root)
    if violations:
        verdict = "violation"
    elif bound_hit:
        verdict = "incomplete"
    else:
        verdict = "ok"
    return Result(verdict, violations, len(nodes) if cache else len(set(n.fp for n in nodes)),
                  executions, transitions, time.monotonic() - t0, bound_hit, finals,
                  steps_run=steps_run, accepted=sorted(notes))


def _commute_results(world, todo, live, feet, preds, deadline):
    """The expansions of a level for the commuting search, one at a time as the caller takes
    them in; None instead of a node's expansion when time ran out during it and it is not
    the level's last (plain search then drops the level too)."""
    work = [(node, p) for node, p in todo if p is not None]
    for i, (node, p) in enumerate(work):
        known = _inferred(node, feet, preds)
        res = _expand_commute(world, p, live.pop(node.id, None), known)
        for m, f in res[6].items():
            feet[(node.id, m)] = f
        if _late(deadline) and i < len(work) - 1:
            yield None
            return
        yield res


def _inferred(node, feet, preds) -> dict:
    """The moves of ``node`` whose edges follow from edges already taken (move -> (child,
    violations, footprint)).  For each edge parent + m into ``node`` taken so far: a move a
    of another thread that parent took to pa, with a footprint independent of m's there,
    commutes with m: node + a is pa + m, and a runs at node as it ran at parent (same
    violations, same footprint).  Only used once pa's own edges are known."""
    out: dict = {}
    for parent, m in preds.get(node.id, ()):
        fm = feet.get((parent.id, m))
        if fm is None:
            continue
        for a, pa, viol in parent.edges or ():
            if a in out or a[0] == m[0] or pa is node or pa.edges is None:
                continue
            fa = feet.get((parent.id, a))
            if fa is None or not indep(fa, fm):
                continue
            for b, child, _ in pa.edges:
                if b == m:
                    out[a] = (child, viol, fa)
                    break
    return out


def _expand_commute(world, path, live, known):
    """_expand with footprints, taking the moves in ``known`` from there instead of running
    them.  Returns (enabled threads, [(move, fp, violations)], end violations or None, steps
    run, None, {move run: the live state after it}, {move: footprint})."""
    h = live if live is not None else world.replay(path)
    moves = world.moves(h)
    if not moves:
        return (), [], world.end_violations(h), 0, None, {}, {}
    enabled = tuple(sorted({m[0] for m in moves}))
    out = []
    feet = {}
    steps = 0 if live is not None else len(path)
    fresh = True
    lives = {}
    for m in moves:
        k = known.get(m)
        if k is not None:
            child, viol, feet[m] = k
            out.append((m, child.fp, viol))
            continue
        if not fresh:
            h = world.replay(path)
            steps += len(path)
        fresh = False
        viol, feet[m] = world.apply_fp(h, m)
        steps += 1
        out.append((m, world.fingerprint(h), viol))
        lives[m] = h
    return enabled, out, None, steps, None, lives, feet


def _keyer(world):
    vk = getattr(world, "violation_key", None)
    return vk if vk is not None else (lambda p, msg: p)


def _shortest(nodes, root, world) -> list:
    """For each violation key (property, or what world.violation_key tells apart) the
    cheapest schedule by (steps, preemptions, order)."""
    vkey = _keyer(world)
    wanted = {vkey(p, msg) for n in nodes for p, msg in (n.end or ())}
    wanted |= {vkey(p, msg) for n in nodes for _, _, viol in (n.edges or ()) for p, msg in viol}
    # best[(node id, last thread)] = (preemptions, path)
    best = {(root.id, None): (0, ())}
    layer = [(root, None)]
    found: dict = {}
    order = list(getattr(world, "property_order", ()))
    depth = 0
    while layer and len(found) < len(wanted):
        nxt: dict = {}
        for node, last in layer:
            pre, path = best[(node.id, last)]
            if node.end:
                for p, msg in node.end:
                    _offer(found, vkey(p, msg), p, msg, path, pre)
            for m, child, viol in node.edges or ():
                p2 = pre + (1 if last is not None and m[0] != last and last in node.enabled
                            else 0)
                path2 = path + (m,)
                for p, msg in viol:
                    _offer(found, vkey(p, msg), p, msg, path2, p2)
                if child.depth != depth + 1:
                    continue  # not a shortest way to child
                key = (child.id, m[0])
                cur = best.get(key)
                if cur is None or (p2, path2) < cur:
                    best[key] = (p2, path2)
                    nxt[key] = child
        if len(found) >= len(wanted):
            break
        depth += 1
        layer = [(child, key[1]) for key, child in sorted(nxt.items(), key=lambda kv: best[kv[0]])]
    out = []
    for p, pre, path, msg in found.values():
        out.append(Violation(p, msg, path, len(path), pre))
    rank = {p: i for i, p in enumerate(order)}
    out.sort(key=lambda v: (v.steps, v.preemptions, rank.get(v.property, 99), v.path))
    return out


def _offer(found, key, prop, msg, path, pre):
    cur = found.get(key)
    if cur is None or (len(path), pre, path) < (len(cur[2]), cur[1], cur[2]):
        found[key] = (prop, pre, path, msg)


# -- termination: livelocks in the state graph ----------------------------------------------

def livelocks(nodes, root) -> list:
    """Property ``termination`` over a fully explored state graph: a state from which no state
    without moves (final, or a deadlock reported elsewhere) is reachable is a livelock: the
    threads can only go round.  Reported once, with the shortest schedule into such a state
    followed by one turn of a cycle it cannot leave."""
    can_end = {n.id for n in nodes if n.edges is None or n.end is not None or not n.edges}
    preds: dict = {}
    for n in nodes:
        for _, child, _ in n.edges or ():
            preds.setdefault(child.id, []).append(n.id)
    todo = list(can_end)
    while todo:
        x = todo.pop()
        for p in preds.get(x, ()):
            if p not in can_end:
                can_end.add(p)
                todo.append(p)
    stuck = [n for n in nodes if n.id not in can_end]
    if not stuck:
        return []
    entry = min(stuck, key=lambda n: (n.depth, path_of(n)))
    walk, start = _cycle_from(entry)
    path = path_of(entry) + tuple(walk)
    first = len(path) - len(walk) + start + 1
    msg = (f"livelock: from step {first - 1} on no thread can ever finish; steps "
           f"{first}..{len(path)} return to the state after step {first - 1} and repeat "
           "forever")
    return [Violation("termination", msg, path, len(path), 0)]


def _cycle_from(node) -> tuple:
    """Moves from ``node`` that come back to a state already on the way (every successor of a
    stuck state is stuck, so the walk closes a cycle): (moves, index where the cycle starts)."""
    seen = {node.id: 0}
    moves: list = []
    cur = node
    while True:
        m, child, _ = min(cur.edges, key=lambda e: e[0])
        moves.append(m)
        if child.id in seen:
            return moves, seen[child.id]
        seen[child.id] = len(moves)
        cur = child
