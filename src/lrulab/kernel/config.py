"""Patch flags, named kernels and boot options.

Every behaviour that changed between the kernels we model is one flag, tested with
``if k.cfg.patch.<flag>:`` at the line the patch changed.  Flags and the kernels a scenario can
name (points of history and the presets' names for them) come from ``history``; where the
sources leave a version open the record says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import history

# name -> (one line naming its commit, where in the kernel): one per modelled record of the
# history (kernel/history.py); adding a flag is adding a record there.
FLAGS: dict[str, tuple[str, str]] = history.flag_table()

# The model's preset names -> (description, flags), each the derived flags of a point of
# history (history.ALIASES); never assembled here.  Every other point name works too
# (kernel_flags).
PRESETS: dict[str, tuple[str, dict[str, bool]]] = {
    name: (history.describe(point), history.flags_at(point))
    for name, point in history.ALIASES.items()}

BOOT_OPTIONS = {
    "cgroup.memory=nokmem": "no kernel memory accounting: kmemcg_id stays -1 everywhere",
    "cgroup_disable=memory": "no memory controller: folios are uncharged, mem_cgroup_disabled()",
}

SYSFS_DEFAULTS = {
    # /sys/kernel/mm/transparent_hugepage/shrink_underused (kernel variable split_underused_thp)
    "shrink_underused": True,
    "khugepaged_max_ptes_none": 511,  # .../khugepaged/max_ptes_none
}
# older scenario spelling -> knob (the kernel variable's name, kept as a documented alias)
SYSFS_ALIASES = {"split_underused_thp": "shrink_underused"}


class ConfigError(ValueError):
    """An unknown preset, flag, boot option or knob."""


class Patches:
    """The flag values of one configuration, as attributes (``k.cfg.patch.<flag>``)."""

    __slots__ = tuple(FLAGS)

    def __init__(self, values: dict[str, bool]):
        for name in FLAGS:
            setattr(self, name, bool(values[name]))

    def as_dict(self) -> dict[str, bool]:
        return {name: getattr(self, name) for name in FLAGS}


@dataclass
class Config:
    variant: str
    patch: Patches
    overrides: dict[str, bool] = field(default_factory=dict)
    boot: tuple[str, ...] = ()
    nodes: int = 1
    sysfs: dict = field(default_factory=dict)
    cgroup: str = "v2"  # the memory controller's hierarchy: "v2" or "v1" (kernel.cgroup)
    kconfig: dict = field(default_factory=dict)  # build options (KCONFIG), kernel.config
    node_ids: tuple = ()  # the possible nodes (for_each_node); ``nodes`` is nr_node_ids

    def __post_init__(self):
        if not self.node_ids:
            self.node_ids = tuple(range(self.nodes))

    @property
    def memcg_kmem(self) -> bool:
        """CONFIG_MEMCG_KMEM (kernel.config.memcg_kmem, default y): without it the kernel has
        no kmem accounting at all -- no kmemcg_id, no memcg-aware list_lru, no objcg charge of
        slab objects; memcg_kmem_enabled() is constant false."""
        return self.kconfig.get("memcg_kmem", True)

    @property
    def debug_vm(self) -> bool:
        """CONFIG_DEBUG_VM (kernel.config.debug_vm, default n): VM_BUG_ON_FOLIO and
        VM_BUG_ON_PAGE are BUG() (include/linux/mmdebug.h); the model uses it where a put
        of a folio whose refcount is already 0 must stop the task (folio_put_testzero)."""
        return self.kconfig.get("debug_vm", False)

    @property
    def nokmem(self) -> bool:
        return "cgroup.memory=nokmem" in self.boot

    @property
    def memcg_disabled(self) -> bool:
        return "cgroup_disable=memory" in self.boot

    @property
    def cgroup_v1(self) -> bool:
        """The scenario mounts a cgroup v1 memory hierarchy (``kernel: {cgroup: v1}``): a
        cgroup with children may have tasks (no subtree_control, no no-internal-process rule),
        swap-out uncharges the folio (mem_cgroup_swapout does its work only on v1) and
        memory.move_charge_at_immigrate exists where the kernel still has it."""
        return self.cgroup == "v1"


CGROUP_VERSIONS = ("v2", "v1")


def kernel_names() -> list[str]:
    """Every kernel a scenario or option may name: the presets, then the other points."""
    return history.names()


def kernel_flags(name: str) -> dict[str, bool]:
    """The flags of a preset or point of history; ConfigError naming the choices."""
    if name in PRESETS:
        return dict(PRESETS[name][1])
    try:
        point = history.resolve(name)
    except KeyError:
        raise ConfigError(f"unknown kernel {name!r}; choose one of: "
                          f"{', '.join(kernel_names())}") from None
    if not history.in_model(point):
        raise ConfigError(f"kernel {name!r} predates the model (its code always has the "
                          f"{history.MODEL_FROM} memcg-aware THP queue); choose "
                          f"{history.MODEL_FROM} or later")
    return history.flags_at(point)


# build options a scenario may set (kernel.config), with their default
KCONFIG_DEFAULTS = {"memcg_kmem": True, "debug_vm": False}
# CONFIG_MEMCG_KMEM was folded into CONFIG_MEMCG from this release on (Roman Gushchin, "mm:
# memcg: merge CONFIG_MEMCG_KMEM into CONFIG_MEMCG"; release as we remember it, not seen)
MEMCG_KMEM_GONE = "6.10"


def kconfig_error(variant: str, kconfig: dict) -> str | None:
    """Why ``kconfig`` is not a build of ``variant`` (None: it is)."""
    for name, value in kconfig.items():
        if name not in KCONFIG_DEFAULTS:
            return (f"unknown config option {name!r}; known: "
                    f"{', '.join(KCONFIG_DEFAULTS)}")
        if not isinstance(value, bool):
            return f"config {name} must be true or false, not {value!r}"
    if kconfig.get("memcg_kmem", True) is False:
        try:
            base = history.base(variant)
        except KeyError:
            return None  # the kernel name itself is reported
        if history.version_key(base) >= history.version_key(MEMCG_KMEM_GONE):
            return (f"config memcg_kmem: false is not a build of {variant} ({base}): "
                    f"CONFIG_MEMCG_KMEM is part of CONFIG_MEMCG from {MEMCG_KMEM_GONE} on; "
                    "choose a kernel before it, or boot: [cgroup.memory=nokmem]")
    return None


def node_set_error(nodes) -> str | None:
    """Why ``nodes`` (kernel.nodes: a count, or the node ids with holes) is not a node set."""
    if isinstance(nodes, int) and not isinstance(nodes, bool):
        return None if 1 <= nodes <= 64 else \
            f"kernel.nodes must be an integer 1..64 or a list of node ids, not {nodes!r}"
    if not isinstance(nodes, (list, tuple)) or not nodes or any(
            not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= 63 for n in nodes):
        return (f"kernel.nodes must be an integer 1..64 or a list of node ids 0..63 like "
                f"[0, 2], not {nodes!r}")
    if list(nodes) != sorted(set(nodes)):
        return f"kernel.nodes {list(nodes)!r}: list each node once, in ascending order"
    if nodes[0] != 0:
        return (f"kernel.nodes {list(nodes)!r} lacks node 0, the node every op defaults to; "
                "add it")
    return None


def nodes_text(nodes: tuple) -> str:
    """'0..3' for a node range, '0, 2' for a set with holes."""
    if list(nodes) == list(range(len(nodes))):
        return f"0..{len(nodes) - 1}"
    return ", ".join(str(n) for n in nodes)


def node_ids(nodes) -> tuple:
    """The possible nodes of a kernel.nodes value (a count or a list of ids)."""
    return tuple(range(nodes)) if isinstance(nodes, int) else tuple(nodes)


def make_config(variant: str, patches: dict | None = None, boot=(), nodes=1,
                sysfs: dict | None = None, kconfig: dict | None = None,
                cgroup: str = "v2") -> Config:
    """Build a Config, refusing unknown names with a message that names the fix."""
    values = kernel_flags(variant)
    for name, value in (patches or {}).items():
        if name not in FLAGS:
            raise ConfigError(f"unknown patch flag {name!r}; 'lrulab variants' lists them")
        if not isinstance(value, bool):
            raise ConfigError(f"patch flag {name} must be true or false, not {value!r}")
        values[name] = value
    for opt in boot:
        if opt not in BOOT_OPTIONS:
            raise ConfigError(f"unknown boot option {opt!r}; known: {', '.join(BOOT_OPTIONS)}")
    knobs = dict(SYSFS_DEFAULTS)
    for name, value in (sysfs or {}).items():
        name = SYSFS_ALIASES.get(name, name)
        if name not in SYSFS_DEFAULTS:
            raise ConfigError(f"unknown sysfs knob {name!r}; known: {', '.join(SYSFS_DEFAULTS)}")
        knobs[name] = value
    why = node_set_error(nodes)
    if why:
        raise ConfigError(why)
    why = kconfig_error(variant, kconfig or {})
    if why:
        raise ConfigError(why)
    if cgroup not in CGROUP_VERSIONS:
        raise ConfigError(f"cgroup must be v2 or v1, not {cgroup!r}")
    ids = node_ids(nodes)
    # nr_node_ids: arrays indexed by node id span the holes (kcalloc(nr_node_ids, ...)); the
    # loops go over the possible nodes only (for_each_node)
    return Config(variant, Patches(values), dict(patches or {}), tuple(boot), ids[-1] + 1,
                  knobs, cgroup, dict(kconfig or {}), ids)
