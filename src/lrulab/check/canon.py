"""A canonical encoding of a Python object graph, for state fingerprints.

Generic: it knows nothing about what the objects mean.  Objects are numbered in the order a
depth-first walk from the roots first meets them, so two graphs that differ only in the
``id()`` of their objects encode the same; sharing and cycles are kept (a second meeting
encodes as a back reference).  Suspended generators encode as their ``yield from`` chain:
each frame's code, instruction offset and locals.

The caller tunes the walk per type with ``fields[type](obj) -> list[(name, value)] | None``: a
list replaces the object's own fields (to drop pure history, or to rewrite a counter into
what the future can observe of it); None walks its ``__slots__`` / ``__dict__`` as they are.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import types

_PRIM = (int, str, float, bool, bytes, type(None))


def _slot_names(cls) -> tuple:
    names = []
    for c in reversed(cls.__mro__):
        s = c.__dict__.get("__slots__", ())
        if isinstance(s, str):
            s = (s,)
        names.extend(n for n in s if n not in ("__dict__", "__weakref__"))
    return tuple(names)


class Canon:
    """``fields``: {type: fn(obj) -> list[(name, value)] | None} for the types whose walk the
    caller tunes (exact types; None from fn means walk the object as it is)."""

    def __init__(self, fields: dict | None = None, local=None):
        self.fields = dict(fields or {})
        self.local = local  # optional fn(local name, value) -> value, for generator locals
        self._slots: dict = {}
        self._varnames: dict = {}

    def encode(self, roots) -> list:
        self._memo = {}
        self._out = []
        self._keep = []
        for r in roots:
            self._enc(r)
        out = self._out
        self._keep = self._out = self._memo = None
        return out

    def numbering(self, roots) -> dict:
        """id(obj) -> the number the walk gives obj: names for the objects of a state that
        are the same in every replay of it (valid while the roots keep the objects alive)."""
        self._memo = {}
        self._out = []
        self._keep = []
        for r in roots:
            self._enc(r)
        memo = self._memo
        self._keep = self._out = self._memo = None
        return memo

    def digest(self, roots) -> bytes:
        """128-bit BLAKE2 of the encoding, serialised by pickle without its memo (so equal
        encodings give equal bytes whatever objects their strings happen to share)."""
        buf = io.BytesIO()
        p = pickle.Pickler(buf, protocol=5)
        p.fast = True
        p.dump(self.encode(roots))
        return hashlib.blake2b(buf.getbuffer(), digest_size=16).digest()

    def digest_tokens(self, tokens) -> bytes:
        """digest() of an encoding the caller has already made (and perhaps rewritten)."""
        buf = io.BytesIO()
        p = pickle.Pickler(buf, protocol=5)
        p.fast = True
        p.dump(tokens)
        return hashlib.blake2b(buf.getbuffer(), digest_size=16).digest()

    def _many(self, values) -> None:
        out = self._out
        enc = self._enc
        for v in values:
            if type(v) in _PRIM:
                out.append(v)
            else:
                enc(v)

    def _enc(self, obj) -> None:
        out = self._out
        t = type(obj)
        if t in _PRIM:
            out.append(obj)
            return
        if t is type or t is types.FunctionType or t is types.BuiltinFunctionType:
            out.append(("fn", getattr(obj, "__module__", ""), obj.__qualname__))
            return
        if t is types.MethodType:
            out.append(("meth", obj.__func__.__qualname__))
            self._enc(obj.__self__)
            return
        memo = self._memo
        i = memo.get(id(obj))
        if i is not None:
            out.append(("@", i))
            return
        memo[id(obj)] = len(memo)
        self._keep.append(obj)  # keep obj alive while the walk runs, so that ids stay unique
        if t is list or t is tuple:
            out.append(("L" if t is list else "T", len(obj)))
            self._many(obj)
            return
        if t is dict:
            out.append(("D", len(obj)))
            for key, val in obj.items():
                if type(key) in _PRIM:
                    out.append(key)
                else:
                    self._enc(key)
                if type(val) in _PRIM:
                    out.append(val)
                else:
                    self._enc(val)
            return
        if t is set or t is frozenset:
            items = list(obj)
            if all(type(x) in _PRIM for x in items):
                out.append(("S", tuple(sorted(items, key=repr))))
            else:
                out.append(("S", len(items)))
                self._many(items)
            return
        if t is types.GeneratorType:
            self._gen(obj)
            return
        hook = self.fields.get(t)
        fl = hook(obj) if hook is not None else None
        if fl is None:
            names = self._slots.get(t)
            if names is None:
                names = self._slots[t] = _slot_names(t)
            d = getattr(obj, "__dict__", None)
            if not d:
                # a __slots__ object: the type fixes the field order, no names needed
                out.append(("O", t.__qualname__))
                self._many([getattr(obj, n, None) for n in names])
                return
            fl = [(n, getattr(obj, n, None)) for n in names] + list(d.items())
        out.append(("O", t.__qualname__, len(fl)))
        for name, val in fl:
            out.append(name)
            if type(val) in _PRIM:
                out.append(val)
            else:
                self._enc(val)

    def _gen(self, g) -> None:
        out = self._out
        frame = g.gi_frame
        if frame is None:
            out.append(("G", "done"))
            return
        code = g.gi_code
        loc = frame.f_locals
        # the locals in the code's order: f_locals is a dict whose key order depends on when
        # it was first read, not on the state
        names = self._varnames.get(code)
        if names is None:
            names = self._varnames[code] = code.co_varnames + code.co_cellvars + \
                code.co_freevars
        present = [n for n in names if n in loc]
        out.append(("G", code.co_filename.rsplit("/", 1)[-1], code.co_qualname, frame.f_lasti,
                    len(present)))
        local = self.local
        for name in present:
            out.append(name)
            self._enc(loc[name] if local is None else local(name, loc[name]))
        sub = g.gi_yieldfrom
        self._enc(sub)


def map_strings(tokens: list, fn) -> list:
    """The encoding with every string item (and every string in a set of primitives) passed
    through ``fn`` -- for renamings; sets are re-sorted after."""
    out = []
    for x in tokens:
        t = type(x)
        if t is str:
            x = fn(x)
        elif t is tuple and len(x) == 2 and x[0] == "S" and type(x[1]) is tuple:
            x = ("S", tuple(sorted((fn(v) if type(v) is str else v for v in x[1]), key=repr)))
        out.append(x)
    return out
