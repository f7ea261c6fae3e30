"""The kernel's state as plain data, read the same way from the model and from a real kernel.

One shape for both sides, so comparing is a diff of two dicts (``diff``).  Keys (values):

- ``memcg <path>``: ``online`` | ``dying`` (rmdir'ed, css still online) | ``offline``; every
  memcg still in the cgroup tree (a zombie stays until its css is released);
- ``memcg <path> kmemcg_id``: int (-1: none);
- ``deferred_split <queue>``: the scenario names of the folios on a deferred-split queue, in
  list order (head first); ``<queue>`` is a memcg path, ``node<N>`` (the per-node queue), or
  ``<path> node<N>`` (a list_lru sublist); empty queues are absent;
- ``shrinker_bit thp <path> node<N>``: 0/1, the THP (deferred split) shrinker's bit in that
  memcg's shrinker_info on that node (the shrinker is found by name, so its id may differ);
- ``list_lru <lru> <path> node<N>``: int, items on that list_lru sublist (non-zero only);
- ``folio <name>``: ``live`` | ``split`` | ``freed``; for a live folio also
  ``folio <name> order``, ``... node``, ``... memcg`` (path, or ``-`` uncharged),
  ``... refcount`` and ``... mapped`` (``pmd``, ``ptes <n>`` or ``none``).

Folios are named as in the scenario; a folio on a queue that the scenario did not name shows as
``pfn:0x<pfn>`` (kernel) so it still disagrees visibly.  ``lrulab.kstate.model.model_state``
builds the dict from a model Kernel; ``lrulab.kstate.reader`` reads it with drgn.
"""

from __future__ import annotations

from typing import Any

State = dict[str, Any]


def diff(kernel: State, model: State) -> list[tuple[str, Any, Any]]:
    """(key, kernel value, model value) for every key whose values differ; a key only one side
    has shows ``None`` on the other."""
    return [(key, kernel.get(key), model.get(key))
            for key in sorted(set(kernel) | set(model)) if kernel.get(key) != model.get(key)]


__all__ = ["State", "diff"]
