"""The real kernels the conformance harness boots, and each one's rules and point of history.

A kernel is picked by name (``--kernel debian-6.12.117``); its image's release is read from the
bzImage header before booting, and the release decides the rules the guest script follows
(mTHP orders, sysfs knobs, per-order stats) and the model configuration it is compared with
(preset + patch flags).  The model point is a table, so when the model gains a faithful preset
for a kernel only the table changes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

THP_SYSFS = "/sys/kernel/mm/transparent_hugepage"


class UnknownKernel(Exception):
    """A kernel name or release the harness has no rules for; str() is one line."""


@dataclass(frozen=True)
class ModelPoint:
    """The model configuration a kernel is compared with.  `presets` are tried in order: the
    first one the model knows is used (a faithful preset may not exist yet), with `patches`
    on top of it (each a commit the kernel carries and the preset lacks)."""
    presets: tuple[str, ...]
    patches: dict[str, bool] = field(default_factory=dict)
    why: str = ""

    def resolve(self, known: set[str] | dict) -> tuple[str, dict[str, bool]]:
        for name in self.presets:
            if name in known:
                return name, dict(self.patches)
        raise UnknownKernel(f"the model has none of the presets {', '.join(self.presets)}")


@dataclass(frozen=True)
class KernelRules:
    """What the guest may do on one kernel series."""
    series: str                      # "6.1", "6.12"
    mthp_orders: tuple[int, ...]     # anonymous folio orders besides PMD order 9
    sysfs: dict[str, str]            # scenario knob -> sysfs path
    not_in_kernel: dict[str, str]    # scenario knob -> why the kernel cannot express it
    mthp_stats: bool                 # hugepages-<size>kB/stats/ exist (6.9+)
    absent_counters: tuple[str, ...] # model counters this kernel does not have (compared to 0)


RULES_61 = KernelRules(
    series="6.1", mthp_orders=(),
    sysfs={"khugepaged_max_ptes_none": f"{THP_SYSFS}/khugepaged/max_ptes_none"},
    not_in_kernel={"shrink_underused": "shrink_underused does not exist in Linux 6.1 "
                   "(added in 6.12); 6.1 never queues or splits underused THPs"},
    mthp_stats=False,
    absent_counters=("thp_underused_split_page", "thp_migration_split"),
)

# 6.12: mTHP (6.8, "mm: thp: introduce multi-size THP sysfs interface"), per-order stats
# (6.9/6.10/6.11), shrink_underused (6.12, "mm: split underused THPs", variable
# split_underused_thp in mm/huge_memory.c).  nr_anon_partially_mapped is a per-order stat
# (hugepages-*/stats/nr_anon_partially_mapped), not a /proc/vmstat counter (audit B4).
RULES_612 = KernelRules(
    series="6.12", mthp_orders=(2, 3, 4, 5, 6, 7, 8),
    sysfs={"khugepaged_max_ptes_none": f"{THP_SYSFS}/khugepaged/max_ptes_none",
           "shrink_underused": f"{THP_SYSFS}/shrink_underused"},
    not_in_kernel={},
    mthp_stats=True,
    absent_counters=(),
)


@dataclass(frozen=True)
class KernelSpec:
    name: str                 # what --kernel takes
    package: str | None       # Debian package; None: the one linux-image-amd64 depends on
    series: str               # release prefix the image must have ("6.1" matches 6.1.x only)
    rules: KernelRules
    model: ModelPoint

    def matches(self, release: str) -> bool:
        return release_series(release) == self.series


KERNELS: dict[str, KernelSpec] = {
    "debian-6.1": KernelSpec(
        "debian-6.1", None, "6.1", RULES_61,
        ModelPoint(("linux-6.1",), {}, "Debian 6.1: preset linux-6.1")),
    # Debian 12's 6.12 backport: the model's preset debian-6.12.117 (the 6.12 point plus the
    # stable backports Debian carries, e.g. 8a8ca142a488 "mm: migrate: requeue destination
    # folio on deferred split queue", audit B6; kernel/history.py).
    "debian-6.12.117": KernelSpec(
        "debian-6.12.117", "linux-image-6.12.117+deb12-amd64", "6.12", RULES_612,
        ModelPoint(("debian-6.12.117",), {}, "Debian 6.12.117: preset debian-6.12.117")),
}
DEFAULT_KERNELS = ("debian-6.1", "debian-6.12.117")


def release_series(release: str) -> str:
    """"6.12.117+deb12-amd64" -> "6.12"; "6.1.0-56-amd64" -> "6.1"."""
    parts = release.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else release


def bzimage_release(path: Path) -> str:
    """The kernel release from a bzImage's setup header (boot protocol 2.0+: the u16 at 0x20E
    is the offset, minus 0x200, of the version string), e.g. "6.12.117+deb12-amd64"."""
    with open(path, "rb") as f:
        head = f.read(0x10000)
    if len(head) < 0x210 or head[0x202:0x206] != b"HdrS":
        raise UnknownKernel(f"{path} is not a bzImage (no HdrS setup header)")
    (off,) = struct.unpack_from("<H", head, 0x20E)
    start = off + 0x200
    end = head.find(b"\0", start)
    text = head[start:end if end > 0 else start + 256].decode("ascii", "replace")
    return text.split()[0] if text.split() else "?"


def spec_for_release(release: str) -> KernelSpec:
    for spec in KERNELS.values():
        if spec.matches(release):
            return spec
    raise UnknownKernel(f"kernel {release}: the harness has rules only for "
                        f"{', '.join(s.series + '.x' for s in KERNELS.values())}")


def spec(name: str) -> KernelSpec:
    if name not in KERNELS:
        raise UnknownKernel(f"unknown kernel {name!r}; choose one of: {', '.join(KERNELS)}")
    return KERNELS[name]
