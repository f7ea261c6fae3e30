"""include/linux/list.h: doubly linked lists with CONFIG_DEBUG_LIST-style checks.

A ``ListHead`` is both a list head and an entry (``struct list_head``).  Entries remember the
head they are on (``owner``) so that the model can check the rule the kernel relies on: a list
is only changed under the lock that protects it (``head.lock``; None for private on-stack
lists).  Violations are reported as ``list`` events, never raised.
"""

from __future__ import annotations

from .sched import READ_ONCE, WRITE_ONCE, report


class ListHead:
    __slots__ = ("prev", "next", "owner", "lock", "container", "name", "handover")

    def __init__(self, name: str = "", lock=None, container=None, handover=None):
        self.prev = self
        self.next = self
        self.owner: ListHead | None = None  # for entries: the head they are linked on
        self.lock = lock  # for heads: the spinlock that protects the list
        self.container = container  # container_of() for entries
        self.name = name
        # for heads: an object whose lock_handed_over(k) says whether a lock other than
        # ``lock`` protects the list now and the current task holds it (a lock hand-over:
        # V1's split_queue_lock walk-up): None (no), "" (yes), or the text of a conflict
        # (yes, but another task still works on the list under ``lock``)
        self.handover = handover

    def __repr__(self) -> str:
        return f"<list {self.name}>"


def INIT_LIST_HEAD(h: ListHead) -> None:
    """include/linux/list.h: INIT_LIST_HEAD (WRITE_ONCE of both links)."""
    WRITE_ONCE(h, "next", h)
    WRITE_ONCE(h, "prev", h)
    h.owner = None


def list_empty(h: ListHead) -> bool:
    """include/linux/list.h: list_empty -- READ_ONCE(head->next) (lockless callers make it a
    step)."""
    return READ_ONCE(h, "next") is h


def _locked(k, head: ListHead, what: str) -> None:
    lock = head.lock
    if lock is not None and lock.owner is not k.current:
        verdict = head.handover.lock_handed_over(k) if head.handover is not None else None
        if verdict is not None:
            if verdict:
                report(k, "list", f"{what} on {head.name} {verdict}")
            return
        report(k, "list", f"{what} on {head.name} without holding {lock.name}")


def _link(new: ListHead, prev: ListHead, nxt: ListHead, head: ListHead) -> None:
    # __list_add: only the store that publishes the entry is WRITE_ONCE
    nxt.prev = new
    new.next = nxt
    new.prev = prev
    WRITE_ONCE(prev, "next", new)
    new.owner = head


def list_add_tail(k, new: ListHead, head: ListHead) -> None:
    """include/linux/list.h: list_add_tail (DEBUG_LIST: no double add)."""
    _locked(k, head, "list_add_tail")
    if new.owner is not None:
        report(k, "list", f"list_add double add: {new.name} already on {new.owner.name}")
        return
    _link(new, head.prev, head, head)


def list_add(k, new: ListHead, head: ListHead) -> None:
    """include/linux/list.h: list_add."""
    _locked(k, head, "list_add")
    if new.owner is not None:
        report(k, "list", f"list_add double add: {new.name} already on {new.owner.name}")
        return
    _link(new, head, head.next, head)


def _unlink(k, entry: ListHead, what: str) -> bool:
    if entry.next is None:
        report(k, "list", f"{what} corruption: {entry.name}->next is NULL or LIST_POISON1 "
               "(already deleted, or never a list)")
        return False
    if entry.next is entry:
        return False
    head = entry.owner
    if head is not None:
        _locked(k, head, what)
    nxt, prev = entry.next, entry.prev
    nxt.prev = prev  # __list_del: next->prev = prev; WRITE_ONCE(prev->next, next)
    WRITE_ONCE(prev, "next", nxt)
    entry.owner = None
    return True


def list_del_init(k, entry: ListHead) -> None:
    """include/linux/list.h: list_del_init."""
    _unlink(k, entry, "list_del_init")
    INIT_LIST_HEAD(entry)


def list_del(k, entry: ListHead) -> None:
    """include/linux/list.h: list_del -- leaves the entry poisoned."""
    if _unlink(k, entry, "list_del") or entry.next is entry:
        entry.next = entry.prev = None


def list_move_tail(k, entry: ListHead, head: ListHead) -> None:
    """include/linux/list.h: list_move_tail."""
    _unlink(k, entry, "list_move_tail")
    _locked(k, head, "list_move_tail")
    _link(entry, head.prev, head, head)


def list_move(k, entry: ListHead, head: ListHead) -> None:
    """include/linux/list.h: list_move."""
    _unlink(k, entry, "list_move")
    _locked(k, head, "list_move")
    _link(entry, head, head.next, head)


def _splice(k, src: ListHead, prev: ListHead, nxt: ListHead, dst: ListHead) -> None:
    _locked(k, src, "list_splice")
    _locked(k, dst, "list_splice")
    if src.next is src:
        return
    first, last = src.next, src.prev
    e = first
    while True:
        e.owner = dst
        if e is last:
            break
        e = e.next
    first.prev = prev
    prev.next = first
    last.next = nxt
    nxt.prev = last
    src.next = src.prev = src


def list_splice_init(k, src: ListHead, dst: ListHead) -> None:
    """include/linux/list.h: list_splice_init -- src's entries go to the head of dst."""
    _splice(k, src, dst, dst.next, dst)


def list_splice_tail_init(k, src: ListHead, dst: ListHead) -> None:
    """include/linux/list.h: list_splice_tail_init -- src's entries go to the tail of dst."""
    _splice(k, src, dst.prev, dst, dst)


def list_entries(head: ListHead) -> list:
    """Model helper: the entries of a list in order (for properties and printing)."""
    out = []
    e = head.next
    while e is not head and e is not None:
        out.append(e)
        e = e.next
    return out


def list_count(head: ListHead) -> int:
    """Model helper: the number of entries (include/linux/list.h: list_count_nodes)."""
    n = 0
    e = head.next
    while e is not head and e is not None:
        n += 1
        e = e.next
    return n


def list_del_init_unlocked(k, entry: ListHead, why: str):
    """include/linux/list.h: list_del_init by a task holding no lock of the list it is on,
    whose other entries another CPU may unlink under that list's lock (the deferred split
    scan's private list, whose folios a racing free unqueues under the queue lock).  The
    unlink is not atomic: it loads entry->prev and entry->next, then stores into both
    neighbours, and another CPU runs between (a generator: one step for the loads, one for
    the stores).  If a neighbour was unlinked or the entry moved in between, the stores
    relink a removed entry or drop a live one: the list is corrupt (CONFIG_DEBUG_LIST's
    __list_del_entry_valid fails on the next walk); reported as a ``list`` event, after which
    the model unlinks consistently so that it can go on.  ``why`` names the caller."""
    prev, nxt = entry.prev, entry.next
    yield why
    if entry.prev is not prev or entry.next is not nxt or prev.next is not entry \
            or nxt.prev is not entry:
        gone = entry if entry.next is None or entry.next is entry else \
            prev if prev.next is not entry else nxt
        report(k, "list", f"list_del_init corruption: {entry.name} unlinked locklessly "
                          f"({why}) while {gone.name} was unlinked between its loads and "
                          "stores")
    _unlink(k, entry, "list_del_init")
    INIT_LIST_HEAD(entry)
