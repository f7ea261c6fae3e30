"""Which preset each catalog bug is first found in, a preset where it is fixed, and the
scenario files the checker benchmarks run: shared by them (run as scripts from this folder)."""

import glob
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def scenario_files() -> list:
    """The bug catalog, then the checker's test scenarios."""
    files = sorted(glob.glob(os.path.join(ROOT, "scenarios", "bugs", "*.yaml")))
    return files + sorted(glob.glob(os.path.join(ROOT, "tests", "check", "scenarios", "*.yaml")))

FIRST = {"b1-thp-rmdir-race": "series-v3", "b1-dcache-rmdir-race": "series-v3",
         "b2-nokmem-shared-list": "series-v5", "b4-memcg-disabled-collapse": "series-v3",
         "b5-isolate-uaf": "series-v4", "b6-collapse-alloc-fail": "series-v4",
         "b7-stale-bits": "v1", "b13-node-locality": "linux-6.1"}

FIXED = {"b1-thp-rmdir-race": "series-v5", "b1-dcache-rmdir-race": "series-v5",
         "b2-nokmem-shared-list": "v7.2", "b4-memcg-disabled-collapse": "series-v4",
         "b5-isolate-uaf": "series-v5", "b6-collapse-alloc-fail": "series-v5",
         "b7-stale-bits": "v7.2", "b13-node-locality": "series-v3"}
