"""yamlload: the hardened YAML load and the bounded file read (rules of issue 9)."""

import pytest

from lrulab.yamlload import MAX_BYTES, load_yaml, read_user_file


class Bad(Exception):
    pass


def load(text):
    return load_yaml(text, "f.yaml", "scenario", Bad)


BOMB = "\n".join(["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
                 + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)])


@pytest.mark.parametrize("text,line,words", [
    ("a: " + "[" * 200 + "]" * 200, 1, "nested deeper"),
    ("x: &a [*a]", 1, "nested deeper"),
    (BOMB, 1, "aliases are expanded"),
    ("a: 1\n<<: {b: 2}", 2, "merge keys"),
    ("a: !foo bar", 1, "tag '!foo'"),
    ("a: !!int two", 1, "not a valid int"),
    ("a: !!bool x", 1, "not a valid bool"),
    ('a: !!int "_"', 1, "not a valid int"),  # empty once PyYAML drops the '_' (fuzz find)
    ("a: !!int ''", 1, "not a valid int"),
    ("a: !!timestamp 2001-12-14", 1, "timestamp"),
    ("a: !!python/object/apply:os.system [true]", 1, "not supported"),
    ("a: " + "1" * 4400, 1, "integer of 4400 digits"),
    ("kernel: 1\nb: 2\nkernel: 3", 3, "duplicate key 'kernel' (first on line 1)"),
    ("a: [1,\n", 2, "YAML syntax error"),
    ("a: \x00", 1, "not YAML text"),
])
def test_hostile_yaml_is_refused_with_its_line(text, line, words):
    with pytest.raises(Bad) as e:
        load(text)
    msg = str(e.value)
    assert msg.startswith(f"f.yaml:{line}: ") and words in msg and "\n" not in msg


def test_yaml_keeps_lines_and_plain_dates_stay_strings():
    d = load("a: 1\nb:\n  - 2024-01-01\n  - x\n")
    assert d == {"a": 1, "b": ["2024-01-01", "x"]}
    assert d.lines == {"a": 1, "b": 2} and d["b"].lines == [3, 4]


def test_aliases_within_limits_still_load():
    assert load("a: &x [1, 2]\nb: *x") == {"a": [1, 2], "b": [1, 2]}


@pytest.mark.parametrize("make,words", [
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: p.write_bytes(b"a" * (MAX_BYTES + 1)), "-byte limit"),
    (lambda p: p.write_bytes(b"a: 1\n\xff\xfe"), "not UTF-8"),
    (lambda p: None, "no such file"),
])
def test_user_file_is_refused_before_reading(tmp_path, make, words):
    p = tmp_path / "s.yaml"
    make(p)
    with pytest.raises(Bad) as e:
        read_user_file(p, "scenario", Bad)
    assert str(e.value).startswith(f"{p}:") and words in str(e.value)


def test_device_file_is_refused_before_reading():
    with pytest.raises(Bad, match="not a regular file"):
        read_user_file("/dev/zero", "scenario", Bad)
