"""Reading untrusted YAML: limits, located errors, duplicate keys, no hangs or tracebacks."""

from __future__ import annotations

import pytest

from kfctl.config.yamlread import MAX_BYTES, parse_yaml, read_yaml
from kfctl.errors import ConfigError


def _error(text: str | bytes, file: str = "k.yaml") -> str:
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, file)
    return info.value.render()


def test_marks_map_paths_to_lines_and_columns():
    doc, problems = parse_yaml("a:\n  b:\n  - x\n  - {c: 1}\n", "k.yaml")
    assert problems == []
    assert doc.data == {"a": {"b": ["x", {"c": 1}]}}
    loc = doc.source_map.locate(("a", "b", 1, "c"))
    assert (loc.line, loc.column, loc.path) == (4, 9, "a.b[1].c")
    key = doc.source_map.locate(("a", "b"), key=True)
    assert (key.line, key.column) == (2, 3)
    missing = doc.source_map.locate(("a", "b", 1, "zzz"))
    assert (missing.line, missing.column, missing.path) == (4, 5, "a.b[1].zzz")


def test_duplicate_keys_are_reported_not_silently_dropped():
    doc, problems = parse_yaml("a: 1\nb: 2\na: 3\n", "k.yaml")
    assert [str(p).split(" (hint")[0] for p in problems] == [
        "k.yaml:3:1: a: duplicate key 'a' (first defined on line 1)"]


def test_merge_keys_expand_and_explicit_keys_win():
    doc, problems = parse_yaml("base: &b {x: 1, y: 2}\nuse: {<<: *b, y: 3}\n", "k.yaml")
    assert problems == []
    assert doc.data["use"] == {"x": 1, "y": 3}


def test_timestamps_and_strings_stay_text():
    doc, _ = parse_yaml("version: 2020-01-01\nname: '123'\nn: 123\nflag: true\n", "k.yaml")
    assert doc.data == {"version": "2020-01-01", "name": "123", "n": 123, "flag": True}


@pytest.mark.parametrize(("text", "expected"), [
    ("a:\n\tb: 1\n", "k.yaml:2:1: tab character in indentation"),
    ("a: [1, 2\nb: 3\n", "k.yaml:2:2: YAML syntax error: did not find expected ','"),
    ("- a\n- b\n", "k.yaml:1:1: expected a KfDef mapping (apiVersion, kind, metadata, spec), got a list"),
    ("just text\n", "got a string"),
    ("# only a comment\n", "k.yaml:1:1: the file is empty"),
    ("", "k.yaml:1:1: the file is empty"),
    ("a: 1\n---\nb: 2\n", "k.yaml:2:1: more than one YAML document"),
    ("a: \x07\n", "k.yaml:1:4: control character '\\x07'"),
    (b"a: 1\nb: \x00\n", "k.yaml:2:4: binary data (a NUL byte)"),
    (b"a: 1\nb: caf\xe9\n", "k.yaml:2:7: not UTF-8 text (byte 0xe9)"),
    ("a: &a [*a]\n", "(a recursive alias?)"),
    ("a: &a {<<: *a}\n", "(a recursive alias?)"),
])
def test_fatal_problems_are_located(text, expected):
    assert expected in _error(text)


def test_utf8_bom_is_accepted():
    doc, _ = parse_yaml(b"\xef\xbb\xbfa: 1\n", "k.yaml")
    assert doc.data == {"a": 1}


@pytest.mark.timeout(10)
def test_alias_bomb_stops_quickly():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    message = _error("\n".join(lines) + "\n")
    assert "expands to more than" in message and "alias bomb" in message


@pytest.mark.timeout(10)
def test_deep_block_nesting_stops_at_the_limit():
    text = "".join(" " * i + f"k{i}:\n" for i in range(500)) + " " * 500 + "v\n"
    assert "nesting deeper than 64 levels" in _error(text)


@pytest.mark.timeout(10)
def test_deep_flow_nesting_is_an_error_not_a_crash():
    text = "a: " + "[" * 100_000 + "]" * 100_000 + "\n"
    message = _error(text)
    assert message.startswith("k.yaml:1:")


@pytest.mark.timeout(10)
def test_too_many_nodes_is_refused():
    text = "a:\n" + "".join(f"- {i}\n" for i in range(60_000))
    assert "more than 50000 YAML nodes" in _error(text)


@pytest.mark.timeout(10)
def test_multi_megabyte_file_is_refused_without_reading_it_all(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:
        fh.write(b"a: [" + b"1, " * (3 * 1024 * 1024) + b"1]\n")
    with pytest.raises(ConfigError) as info:
        read_yaml(big, display="big.yaml")
    assert "big.yaml: file is larger than 1 MiB" in info.value.render()


@pytest.mark.timeout(10)
def test_just_under_the_size_limit_finishes(tmp_path):
    text = "a: '" + "x" * (MAX_BYTES - 16) + "'\n"
    doc, _ = parse_yaml(text, "k.yaml")
    assert len(doc.data["a"]) == MAX_BYTES - 16


def test_unsupported_tag_and_long_number_are_located_problems():
    _, problems = parse_yaml("a: !!python/object:os.system x\nb: " + "9" * 5000 + "\n", "k.yaml")
    texts = [str(p) for p in problems]
    assert texts[0].startswith("k.yaml:1:4: a: unsupported YAML tag '!!python/object:os.system'")
    assert texts[1].startswith("k.yaml:2:4: b: number too long (5000 characters)")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        read_yaml(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        read_yaml(tmp_path)
