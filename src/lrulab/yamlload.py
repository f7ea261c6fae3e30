"""User files in: a bounded read and a hardened YAML load, with line numbers kept.

Scenario and workload files are input from users and from other tools, so the load is PyYAML's
``SafeLoader`` with limits: the file's size and kind (a regular file), nesting depth, the number
of nodes after alias expansion (no "billion laughs"), integer length.  It refuses what would let
a file mean something other than what it shows: duplicate keys (PyYAML keeps the last one
silently), merge keys (``<<``) and tags outside the YAML core schema (``!foo``, ``!!timestamp``,
``!!binary``).  Plain scalars that look like dates stay strings.  Every refusal is the caller's
error class with one line, ``file:line: what; fix``."""

from __future__ import annotations

import os
import stat

import yaml

MAX_BYTES = 1 << 20  # a scenario or workload is a few KiB; 1 MiB is generous
MAX_DEPTH = 32  # nesting of mappings and lists (real files use at most 5)
MAX_NODES = 100_000  # nodes after alias expansion
MAX_ALIASES = 1_000  # alias references in the text
MAX_INT_DIGITS = 40  # no count or seed in lrulab needs more
CORE_TAGS = {"tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "seq",
                                                "map")}
MERGE_TAG = "tag:yaml.org,2002:merge"


class LDict(dict):
    """A mapping that remembers the line of each key (``lines``) and its own (``line``)."""

    line = 0
    lines: dict = {}


class LList(list):
    """A list that remembers the line of each item (``lines``) and its own (``line``)."""

    line = 0
    lines: list = []


class _Loader(yaml.SafeLoader):
    """SafeLoader that counts aliases and bounds the depth while composing (the composer
    recurses: a deep file would otherwise end in RecursionError)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Refused(self.peek_event().start_mark.line + 1,
                               f"more than {MAX_ALIASES} aliases; write the values out")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(self.peek_event().start_mark.line + 1,
                           f"nested deeper than {MAX_DEPTH} levels; flatten it")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# dates stay strings: drop the implicit timestamp resolver (the core schema has none)
_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in rs if tag != "tag:yaml.org,2002:timestamp"]
    for ch, rs in yaml.SafeLoader.yaml_implicit_resolvers.items()}


class _Refused(Exception):
    def __init__(self, line: int, msg: str):
        super().__init__(msg)
        self.line = line
        self.msg = msg


def read_user_file(path, what: str, error: type[Exception], hint: str = "") -> str:
    """The text of the user's file ``path``, refusing (``error``, one line) anything that is
    not a readable regular UTF-8 file of at most MAX_BYTES: a directory, /dev/zero, a FIFO, a
    huge file.  ``hint`` ends the 'no such file' message."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path}:0: no such file; {hint or 'check the path'}") from None
    except (OSError, ValueError) as e:
        raise error(f"{path}:0: cannot read {what} ({e.__class__.__name__}); give a readable "
                    "YAML file") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{path}:0: is a directory; give a {what} file")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}:0: not a regular file; give a {what} file")
    if st.st_size > MAX_BYTES:
        raise error(f"{path}:0: {st.st_size:,} bytes, over the {MAX_BYTES:,}-byte limit for a "
                    f"{what}; give a smaller file")
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise error(f"{path}:0: cannot read {what} ({e.__class__.__name__}); give a readable "
                    "YAML file") from None
    if len(data) > MAX_BYTES:
        raise error(f"{path}:0: over the {MAX_BYTES:,}-byte limit for a {what}; give a smaller "
                    "file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise error(f"{path}:{line}: not UTF-8 text (byte {e.start}); save the {what} as "
                    "UTF-8") from None


def load_yaml(text: str, path: str, what: str, error: type[Exception]):
    """Parse ``text`` into LDict / LList / scalars; None for an empty document.  Bad or
    refused YAML raises ``error('path:line: ...')``."""
    if len(text) > MAX_BYTES:
        raise error(f"{path}:0: over the {MAX_BYTES:,}-byte limit for a {what}")
    loader = None
    try:
        try:
            loader = _Loader(text)
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line = mark.line + 1 if mark else 1
            problem = e.problem or str(e).splitlines()[0]
            raise error(f"{path}:{line}: YAML syntax error: {problem}; fix the YAML "
                        "there") from None
        except yaml.YAMLError as e:  # ReaderError: a character YAML does not allow
            pos = getattr(e, "position", None)
            line = text[:pos].count("\n") + 1 if isinstance(pos, int) else 1
            reason = getattr(e, "reason", None) or str(e).splitlines()[0]
            raise error(f"{path}:{line}: not YAML text ({reason}); remove that "
                        "character") from None
        if node is None:
            return None
        return _Convert(loader).node(node, 0)
    except _Refused as e:
        raise error(f"{path}:{e.line}: {e.msg}") from None
    finally:
        if loader is not None:
            loader.dispose()


class _Convert:
    """Node graph -> LDict / LList / scalars, counting nodes as aliases expand them."""

    def __init__(self, loader):
        self.loader = loader
        self.count = 0

    def node(self, node, depth: int):
        line = node.start_mark.line + 1
        self.count += 1
        if self.count > MAX_NODES:
            raise _Refused(line, f"more than {MAX_NODES:,} values once aliases are expanded; "
                           "write a smaller file")
        if depth > MAX_DEPTH:  # an alias that refers to itself, or deep alias nesting
            raise _Refused(line, f"nested deeper than {MAX_DEPTH} levels (a recursive "
                           "alias?); write the values out")
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise _Refused(line, f"tag {node.tag!r} is not supported; drop it")
            out = LDict()
            out.line, out.lines = line, {}
            for kn, vn in node.value:
                kline = kn.start_mark.line + 1
                if kn.tag == MERGE_TAG:
                    raise _Refused(kline, "merge keys (<<) are not supported; write the keys "
                                   "out")
                key = self.node(kn, depth + 1)
                if isinstance(key, (LDict, LList)):
                    key = str(key)
                if key in out:
                    raise _Refused(kline, f"duplicate key {key!r} (first on line "
                                   f"{out.lines[key]}); keep one")
                out[key] = self.node(vn, depth + 1)
                out.lines[key] = kline
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise _Refused(line, f"tag {node.tag!r} is not supported; drop it")
            out = LList(self.node(v, depth + 1) for v in node.value)
            out.line = line
            out.lines = [v.start_mark.line + 1 for v in node.value]
            return out
        return self.scalar(node, line)

    def scalar(self, node, line: int):
        if node.tag not in CORE_TAGS:
            raise _Refused(line, f"tag {node.tag!r} is not supported; use plain values")
        if node.tag == "tag:yaml.org,2002:int":
            digits = sum(c.isalnum() for c in node.value)
            if digits > MAX_INT_DIGITS:
                raise _Refused(line, f"integer of {digits} digits; lrulab takes at most "
                               f"{MAX_INT_DIGITS}")
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, KeyError, TypeError, OverflowError, IndexError):
            # IndexError: PyYAML's int constructor indexes the value after dropping '_'
            # (an explicit !!int "_" is empty then)
            short = node.value if len(node.value) <= 40 else node.value[:37] + "..."
            tag = node.tag.rpartition(":")[2]
            raise _Refused(line, f"{short!r} is not a valid {tag}; fix the value or drop the "
                           "tag") from None
