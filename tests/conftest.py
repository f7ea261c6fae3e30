"""Shared helpers: boot a kernel of a preset and run kernel generators to completion."""

import pytest

from lrulab.kernel import memcontrol as mc
from lrulab.kernel.config import make_config
from lrulab.kernel.kernel import boot
from lrulab.kernel.sched import run_sync


class KernelHarness:
    def __init__(self, variant="v7.2", patches=None, boot_opts=(), nodes=1, sysfs=None,
                 lrus=None, memcgs=()):
        self.k = boot(make_config(variant, patches, boot_opts, nodes, sysfs), lrus)
        self.k.current = self.k.task("test")
        for path in memcgs:
            self.run(mc.cgroup_mkdir(self.k, path))

    def run(self, gen, decide=None):
        return run_sync(self.k, gen, decide)

    def memcg(self, path):
        return self.k.memcgs[path]


@pytest.fixture
def kh():
    return KernelHarness
