"""include/linux/list.h with DEBUG_LIST checks."""

from lrulab.kernel.list import ListHead, list_add_tail, list_del, list_del_init, list_entries
from lrulab.kernel.sched import SpinLock, Task


class K:
    def __init__(self):
        self.events = []
        self.current = Task(0, "t")


def test_list_add_double_add_is_reported():
    """Rule: an entry already on a list must not be added again (DEBUG_LIST double add)."""
    k, head, e = K(), ListHead("h"), ListHead("e")
    list_add_tail(k, e, head)
    list_add_tail(k, e, head)
    assert [ev.kind for ev in k.events] == ["list"]
    assert list_entries(head) == [e]


def test_list_del_of_deleted_entry_is_reported():
    """Rule: list_del poisons; deleting again is list corruption."""
    k, head, e = K(), ListHead("h"), ListHead("e")
    list_add_tail(k, e, head)
    list_del(k, e)
    list_del(k, e)
    assert [ev.kind for ev in k.events] == ["list"]


def test_list_op_without_lock_is_reported():
    """Rule: a list protected by a lock is only changed with that lock held."""
    k = K()
    lock = SpinLock("l")
    head, e = ListHead("h", lock), ListHead("e")
    list_add_tail(k, e, head)
    assert "without holding l" in k.events[0].message
    lock.owner = k.current
    list_del_init(k, e)
    assert len(k.events) == 1
