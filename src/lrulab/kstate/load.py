"""A real kernel's state (the ``lrulab.kstate`` dict the drgn reader returns) loaded into a model
Kernel, so the model's properties and its reclaim can be run on it (``lrulab inspect``).

The Kernel is booted with the configuration of one point of history (the rules it follows from
then on), the node count and boot options the kernel was read with; then the state is put in
place as it is, not replayed: memcgs created and onlined in tree order and then marked dying or
offline (nothing is reparented: what the kernel left on an offline memcg's queue stays there),
every queued folio charged to the memcg the kernel charged it to with its order, node,
refcount and mappings, the queues filled in the kernel's list order, and the THP shrinker's
bits set exactly where the kernel had them (found by name, so ids need not match).

Only the open-coded deferred-split designs (6.1 .. 7.1: one queue per memcg and per node) are
loadable: a list_lru point (7.2+) would need each folio's sublist chosen by the model.
"""

from __future__ import annotations

import re

from lrulab.kernel import memcontrol as mc
from lrulab.kernel.config import ConfigError, make_config
from lrulab.kernel.folio import Folio, PG_partially_mapped
from lrulab.kernel.kernel import Kernel, boot
from lrulab.kernel.list import list_add_tail
from lrulab.kernel.sched import run_sync, spin_lock_irq, spin_unlock_irq
from lrulab.kernel.vmstat import mod_mthp_stat

from . import State

_BIT = re.compile(r"^shrinker_bit thp (.+) node(\d+)$")
_NODE = re.compile(r"^node(\d+)$")
# folio keys the reader adds for inspect that the model's state view does not have
READER_ONLY = (" mapcount", " partially_mapped")


class LoadError(Exception):
    """The state cannot be loaded into a model Kernel; str() is one line."""


def load_kernel(state: State, point: str, nodes: int, boot_options: list[str] | tuple = (),
                sysfs: dict | None = None) -> Kernel:
    """A model Kernel following `point`'s rules holding `state` (see the module doc)."""
    try:
        cfg = make_config(point, None, tuple(boot_options), nodes, sysfs)
    except ConfigError as e:
        raise LoadError(str(e)) from None
    if cfg.patch.thp_list_lru:
        raise LoadError(f"--kernel {point}: its THP queue is a list_lru (7.2+); inspect loads "
                        "only the open-coded queues (6.1 .. 7.1): choose one of those points")
    k = boot(cfg)
    memcgs = _load_memcgs(k, state)
    folios = _load_folios(k, state, memcgs)
    _load_queues(k, state, folios, memcgs)
    _load_bits(k, state, memcgs)
    return k


def _memcg_paths(state: State) -> list[str]:
    return [key[6:] for key in state if key.startswith("memcg ") and " kmemcg_id" not in key]


def _load_memcgs(k: Kernel, state: State) -> dict:
    """Every memcg of the tree in pre-order (a parent before its children): allocated and
    onlined as cgroup_mkdir does, its kmemcg_id the kernel's, then dying/offline as read."""
    out = {"root": k.root_mem_cgroup} if k.root_mem_cgroup is not None else {}
    for path in _memcg_paths(state):
        if path == "root":
            continue
        parent_path = path.rpartition("/")[0] or "root"
        parent = out.get(parent_path)
        if parent is None:
            raise LoadError(f"memcg {path}: its parent {parent_path} was not read before it")
        parent.subtree_control = True
        m = mc.mem_cgroup_css_alloc(k, parent, path)
        run_sync(k, mc.mem_cgroup_css_online(k, m))
        mc.online_css(k, m)
        out[path] = m
    for path, m in out.items():
        m.kmemcg_id = int(state.get(f"memcg {path} kmemcg_id", m.kmemcg_id))
        how = state.get(f"memcg {path}")
        if how in ("dying", "offline"):
            m.dying = True        # rmdir: CSS_DYING
        if how == "offline":      # css_killed_work_fn ran: CSS_ONLINE cleared
            m.online = False
            m.online_cnt -= 1
            if m.parent is not None:
                m.parent.online_cnt -= 1
    return out


def _folio_names(state: State) -> list[str]:
    return [key[6:] for key, v in state.items()
            if key.startswith("folio ") and key.count(" ") == 1 and v == "live"]


def _load_folios(k: Kernel, state: State, memcgs: dict) -> dict:
    """Each live folio: order, node, refcount, mappings, PG_partially_mapped (points that have
    it), charged (css_get, memory.current) to the memcg the kernel charged it to."""
    out = {}
    for name in _folio_names(state):
        def get(field, name=name):
            key = f"folio {name} {field}"
            if key not in state:
                raise LoadError(f"folio {name}: the state has no {field}")
            return state[key]
        order, nid = int(get("order")), int(get("node"))
        if not 0 <= nid < k.cfg.nodes:
            raise LoadError(f"folio {name}: node {nid} outside 0..{k.cfg.nodes - 1}")
        f = Folio(name, order, nid)
        f.refcount = int(get("refcount"))
        mapped = str(get("mapped"))
        f.pmd_mapped = mapped == "pmd"
        f.nr_pages_mapped = int(mapped.split()[1]) if mapped.startswith("ptes ") else 0
        f.mapcount = int(state.get(f"folio {name} mapcount",
                                   1 if f.pmd_mapped else f.nr_pages_mapped))
        if k.cfg.patch.partially_mapped_flag and state.get(f"folio {name} partially_mapped"):
            f.flags |= PG_partially_mapped
            mod_mthp_stat(k, order, "nr_anon_partially_mapped", 1)
        path = get("memcg")
        if path != "-" and not mc.mem_cgroup_disabled(k):
            m = memcgs.get(path)
            if m is None:
                raise LoadError(f"folio {name}: charged to {path}, which is not in the tree")
            mc.css_get(m)
            f.memcg = m
            m.lru_folios.append(f)
            m.nr_pages += f.nr_pages
        k.nodes[nid].nr_used_pages += f.nr_pages
        if f.pmd_mapped:
            k.vmstat["nr_anon_transparent_hugepages"] += 1
        k.folios[name] = out[name] = f
    return out


def _load_queues(k: Kernel, state: State, folios: dict, memcgs: dict) -> None:
    """Each deferred-split queue in the kernel's list order, under its lock, as
    deferred_split_folio adds (list_add_tail, split_queue_len++)."""
    for key, names in state.items():
        if not key.startswith("deferred_split "):
            continue
        where = key[len("deferred_split "):]
        node = _NODE.match(where)
        if node:
            nid = int(node.group(1))
            if not 0 <= nid < k.cfg.nodes:
                raise LoadError(f"{key}: node {nid} outside 0..{k.cfg.nodes - 1}")
            q = k.nodes[nid].deferred_split_queue
        elif where in memcgs:
            q = memcgs[where].deferred_split_queue
        else:
            raise LoadError(f"{key}: no such queue in the loaded tree")
        for name in names:
            f = folios.get(name)
            if f is None:
                raise LoadError(f"{key}: {name} is queued but its folio was not read")
            run_sync(k, spin_lock_irq(k, q.split_queue_lock))
            list_add_tail(k, f._deferred_list, q.split_queue)
            q.split_queue_len += 1
            spin_unlock_irq(k, q.split_queue_lock)


def _load_bits(k: Kernel, state: State, memcgs: dict) -> None:
    """The THP shrinker's bit per memcg and node, set or clear as read."""
    s = k.deferred_split_shrinker
    for key, value in state.items():
        match = _BIT.match(key)
        if not match:
            continue
        m, nid = memcgs.get(match.group(1)), int(match.group(2))
        if m is None or m.shrinker_info is None or not 0 <= nid < k.cfg.nodes:
            raise LoadError(f"{key}: no such memcg or node in the loaded tree")
        info = m.shrinker_info[nid]
        if value:
            info.map |= 1 << s.id
        else:
            info.map &= ~(1 << s.id)


def model_view(state: State) -> State:
    """`state` without the reader-only folio keys: what ``model_state`` of a faithful load
    returns."""
    return {key: v for key, v in state.items()
            if not (key.startswith("folio ") and key.endswith(READER_ONLY))}
