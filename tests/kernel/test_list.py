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


def test_unlocked_list_del_init_sees_a_neighbour_unlinked_between_loads_and_stores():
    """list_del_init_unlocked: loads, then (another CPU's step) stores; a neighbour unlinked
    in between is list corruption; undisturbed it is a plain list_del_init."""
    from lrulab.kernel.list import list_del_init_unlocked
    from lrulab.kernel.sched import run_sync
    k, head = K(), ListHead("h")
    a, b, c = ListHead("a"), ListHead("b"), ListHead("c")
    for e in (a, b, c):
        list_add_tail(k, e, head)
    gen = list_del_init_unlocked(k, b, "test")
    assert next(gen) == "test"
    list_del_init(k, a)  # the other CPU
    run_sync(k, gen)
    assert [ev.kind for ev in k.events] == ["list"] and "a was unlinked" in k.events[0].message
    k2, head2 = K(), ListHead("h")
    x, y = ListHead("x"), ListHead("y")
    list_add_tail(k2, x, head2)
    list_add_tail(k2, y, head2)
    run_sync(k2, list_del_init_unlocked(k2, x, "test"))
    assert k2.events == [] and list_entries(head2) == [y] and x.next is x
