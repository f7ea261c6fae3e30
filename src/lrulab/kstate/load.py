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

from lrulab.kernel import list_lru as ll
from lrulab.kernel import memcontrol as mc
from lrulab.kernel.config import ConfigError, make_config
from lrulab.kernel.folio import Folio, PG_partially_mapped
from lrulab.kernel.kernel import Kernel, boot
from lrulab.kernel.list import list_add_tail
from lrulab.kernel.lru_user import LruObject
from lrulab.kernel.sched import run_sync, spin_lock, spin_lock_irq, spin_unlock, spin_unlock_irq
from lrulab.kernel.vmstat import mod_mthp_stat

from . import State

_BIT = re.compile(r"^shrinker_bit (\S+) (.+) node(\d+)$")
_LRU = re.compile(r"^list_lru (\S+) (.+) node(\d+)$")
# a superblock's shrinker (fs/super.c: alloc_super): NUMA- and memcg-aware
SB_SHRINKER = {"memcg_aware": True, "shrinker": ["numa_aware", "memcg_aware"]}
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
    k = boot(cfg, {name: SB_SHRINKER for name in lru_names(state)})
    memcgs = _load_memcgs(k, state)
    folios = _load_folios(k, state, memcgs)
    _load_queues(k, state, folios, memcgs)
    _load_lrus(k, state, memcgs)
    _load_bits(k, state, memcgs)
    return k


def lru_names(state: State) -> list[str]:
    """The list_lru users the state has items or set bits of (``list_lru <name> ...``,
    ``shrinker_bit <name> ...`` other than thp)."""
    names = [m.group(1) for m in map(_LRU.match, state) if m]
    names += [m.group(1) for m in map(_BIT.match, state) if m and m.group(1) != "thp"]
    return list(dict.fromkeys(names))


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


def _load_lrus(k: Kernel, state: State, memcgs: dict) -> None:
    """Each list_lru sublist's items: as many objects, charged to the sublist's memcg, on the
    memcg's sublist (kmemcg_id) or the node list (root), under its lock; list_lru_add without
    its bit (the bits are loaded as read)."""
    for key, count in state.items():
        match = _LRU.match(key)
        if not match:
            continue
        name, path, nid = match.group(1), match.group(2), int(match.group(3))
        user, m = k.lrus[name], memcgs.get(path)
        if m is None and path != "root" or not 0 <= nid < k.cfg.nodes:
            raise LoadError(f"{key}: no such memcg or node in the loaded tree")
        lru = user.lru
        idx = -1 if m is None or mc.mem_cgroup_is_root(k, m) else m.kmemcg_id
        if idx >= 0 and idx not in lru.xa:
            lru.xa[idx] = ll.ListLruMemcg(lru, path, k.cfg.nodes, ll._node_locks(lru))
        l = ll.list_lru_from_memcg_idx(k, lru, nid, idx)
        for i in range(int(count)):
            obj = LruObject(f"{name}@{path}@n{nid}#{i}", nid, None if idx < 0 else m)
            user.items[obj.name] = obj
            run_sync(k, spin_lock(k, l.lock))
            list_add_tail(k, obj.lru, l.list)
            l.nr_items += 1
            lru.node[nid].nr_items += 1
            spin_unlock(k, l.lock)


def _load_bits(k: Kernel, state: State, memcgs: dict) -> None:
    """Each shrinker's bit per memcg and node as read: the THP shrinker's (``thp``) and the
    list_lru users' (their superblock's shrinker).  Every map is cleared first: 6.1's
    expand_one_shrinker_info sets all old bits when boot registers another shrinker."""
    for m in memcgs.values():
        for info in m.shrinker_info or ():
            info.map = 0
    for key, value in state.items():
        match = _BIT.match(key)
        if not match:
            continue
        who = match.group(1)
        s = k.deferred_split_shrinker if who == "thp" else getattr(k.lrus.get(who), "shrinker",
                                                                     None)
        if s is None:
            raise LoadError(f"{key}: no shrinker {who} in the loaded kernel")
        m, nid = memcgs.get(match.group(2)), int(match.group(3))
        if m is None or m.shrinker_info is None or not 0 <= nid < k.cfg.nodes:
            raise LoadError(f"{key}: no such memcg or node in the loaded tree")
        info = m.shrinker_info[nid]
        if value:
            info.map |= 1 << s.id
        else:
            info.map &= ~(1 << s.id)


def model_view(state: State) -> State:
    """`state` without the reader-only folio keys (mapcount, partially_mapped): what
    ``loaded_view`` of a faithful load returns."""
    return {key: v for key, v in _set_lru_bits_only(state).items()
            if not (key.startswith("folio ") and key.endswith(READER_ONLY))}


def loaded_view(k: Kernel) -> State:
    """A loaded Kernel's state in the reader's shape: ``model_state`` with its list_lru users'
    counts, plus their set bits."""
    from .model import model_state

    return {**_set_lru_bits_only(model_state(k, tuple(k.lrus))), **lru_bits(k)}


def _set_lru_bits_only(state: State) -> State:
    """model_state lists every list_lru user's bit, 0 or 1 (conformance reads each one); the
    reader of a whole machine lists only the set ones, as lru_bits does."""
    return {key: v for key, v in state.items()
            if not (key.startswith("shrinker_bit ") and not key.startswith("shrinker_bit thp ")
                    and v == 0)}


def lru_bits(k: Kernel) -> State:
    """The list_lru users' set bits in the reader's shape (``shrinker_bit <lru> <path>
    node<N>``), to check that a load put them where they were read."""
    out: State = {}
    for name, user in k.lrus.items():
        for m in [k.root_mem_cgroup, *k.memcgs.values()] if k.root_mem_cgroup else []:
            for nid in range(k.cfg.nodes):
                if m.shrinker_info and m.shrinker_info[nid].map >> user.shrinker.id & 1:
                    out[f"shrinker_bit {name} {m.path or 'root'} node{nid}"] = 1
    return out
