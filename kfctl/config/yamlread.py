"""Read one untrusted YAML document into plain data plus the line/column of every node.

A KfDef comes from users, so reading it must never hang, blow up memory or
leak a traceback, and every later complaint must point at the offending node.
PyYAML's ``safe_load`` keeps the last of duplicate keys silently and loses the
marks, so this module does its own construction over PyYAML's node API:

1. bytes: size cap (:data:`MAX_BYTES`), NUL bytes, UTF-8 decoding, each
   located at the offending byte;
2. an event pre-pass (libyaml's parser is iterative) that bounds nesting
   depth, node count and aliases before anything is built;
3. composition into nodes, then construction into dicts/lists/scalars that
   reports duplicate keys, non-string keys and unknown tags, and stops an
   alias bomb through an expansion budget.

The result is :class:`Document`: the data and a :class:`SourceMap` from JSON
paths (tuples of keys and indices) to 1-based line/column.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from kfctl.errors import ConfigError, Problem

MAX_BYTES = 1024 * 1024
"""A KfDef is a few KiB (kfctl 1.0's largest example is 10 KiB); 1 MiB is generous."""
MAX_DEPTH = 64
MAX_NODES = 50_000
MAX_VALUES = 200_000
"""Values built after expanding aliases: what stops a "billion laughs" document."""

JsonPath = tuple[str | int, ...]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALARS = yaml.constructor.SafeConstructor()
_KEEP_AS_TEXT = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:str"}
_MERGE = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class Location:
    """Where a value sits: file, 1-based line and column, and its JSON path."""

    file: str
    line: int | None
    column: int | None
    path: str | None = None

    def problem(self, message: str, *, hint: str | None = None) -> Problem:
        return Problem(message, file=self.file, line=self.line, column=self.column, path=self.path, hint=hint)


def format_path(path: JsonPath) -> str:
    """``("spec", "applications", 2, "name")`` -> ``spec.applications[2].name``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass(frozen=True)
class SourceMap:
    """JSON path -> (line, column) of the value node and, for mapping entries, of the key."""

    file: str
    values: Mapping[JsonPath, tuple[int, int]]
    keys: Mapping[JsonPath, tuple[int, int]]

    def locate(self, path: JsonPath, *, key: bool = False) -> Location:
        """The location of ``path``, falling back to its nearest located ancestor."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while True:
            if probe in table:
                line, col = table[probe]
                return Location(self.file, line, col, format_path(tuple(path)) or None)
            if key and probe in self.values:
                line, col = self.values[probe]
                return Location(self.file, line, col, format_path(tuple(path)) or None)
            if not probe:
                return Location(self.file, None, None, format_path(tuple(path)) or None)
            probe = probe[:-1]


@dataclass(frozen=True)
class Document:
    data: dict[str, Any]
    source_map: SourceMap


def _fail(file: str, message: str, *, mark: Any = None, line: int | None = None,
          column: int | None = None, hint: str | None = None) -> ConfigError:
    if mark is not None:
        line, column = mark.line + 1, mark.column + 1
    return ConfigError([Problem(message, file=file, line=line, column=column, hint=hint)])


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    return line, offset - start + 1


def _decode(raw: bytes, file: str) -> str:
    nul = raw.find(b"\0")
    if nul >= 0:
        line, col = _line_col(raw, nul)
        raise _fail(file, "binary data (a NUL byte): this is not a YAML text file", line=line, column=col,
                    hint="pass the KfDef YAML file")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(raw, exc.start)
        raise _fail(file, f"not UTF-8 text (byte 0x{raw[exc.start]:02x})", line=line, column=col,
                    hint="save the file as UTF-8") from None


def _yaml_problem(file: str, text: str, exc: yaml.YAMLError) -> ConfigError:
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return _fail(file, f"control character {chr(char)!r} (code {char:#x}) is not allowed in YAML",
                     line=line, column=column, hint="remove it, or write it as an escape in a double-quoted string")
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if mark is not None:
        lines = text.splitlines()
        row = lines[mark.line] if mark.line < len(lines) else ""
        if "\t" in row[: mark.column + 1] and not row[: row.index("\t")].strip():
            return _fail(file, "tab character in indentation: YAML indents with spaces only",
                         line=mark.line + 1, column=row.index("\t") + 1, hint="replace the tab with spaces")
    message = f"YAML syntax error: {problem}"
    if context:
        message += f" ({context}"
        cmark = getattr(exc, "context_mark", None)
        if cmark is not None and mark is not None and cmark.line != mark.line:
            message += f" at line {cmark.line + 1}"
        message += ")"
    return _fail(file, message, mark=mark)


def _prepass(text: str, file: str) -> None:
    """Walk the parser's events: one document, bounded depth and node count."""
    depth = nodes = documents = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _fail(file, "more than one YAML document: a KfDef file holds exactly one",
                                mark=event.start_mark, hint="remove the '---' and what follows, or split the file")
            elif isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                nodes += 1
                if depth > MAX_DEPTH:
                    raise _fail(file, f"nesting deeper than {MAX_DEPTH} levels: not a KfDef",
                                mark=event.start_mark)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
                nodes += 1
            if nodes > MAX_NODES:
                raise _fail(file, f"more than {MAX_NODES} YAML nodes: far too large for a KfDef",
                            mark=event.start_mark)
    except yaml.YAMLError as exc:
        raise _yaml_problem(file, text, exc) from None
    except RecursionError:
        raise _fail(file, "nesting too deep: not a KfDef") from None


class _Builder:
    """Nodes -> plain data, recording marks and every problem found."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.values: dict[JsonPath, tuple[int, int]] = {}
        self.keys: dict[JsonPath, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self.budget = MAX_VALUES

    def _problem(self, node: yaml.Node, path: JsonPath, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(message, file=self.file, line=node.start_mark.line + 1,
                                     column=node.start_mark.column + 1, path=format_path(path) or None, hint=hint))

    def build(self, node: yaml.Node, path: JsonPath, depth: int = 0) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise _fail(self.file, f"the document expands to more than {MAX_VALUES} values through aliases "
                        "(an alias bomb?)", mark=node.start_mark, hint="remove the '*' aliases")
        if depth > MAX_DEPTH:
            raise _fail(self.file, f"nesting deeper than {MAX_DEPTH} levels (a recursive alias?)",
                        mark=node.start_mark)
        self.values.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)  # PyYAML has no fourth kind of node
        return self._scalar(node, path)

    def _scalar(self, node: yaml.ScalarNode, path: JsonPath) -> Any:
        if node.tag in _KEEP_AS_TEXT:
            return node.value
        try:
            value = _SCALARS.construct_object(node)
        except yaml.constructor.ConstructorError:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self._problem(node, path, f"unsupported YAML tag {tag!r}",
                          "plain values only: remove the tag")
            return None
        except ValueError:
            self._problem(node, path, f"number too long ({len(node.value)} characters)",
                          "quote it if it is meant as text")
            return None
        if isinstance(value, bytes):
            self._problem(node, path, "binary (!!binary) values are not supported", "use a plain string")
            return None
        return value

    def _entries(self, node: yaml.MappingNode, path: JsonPath,
                 depth: int) -> Iterator[tuple[yaml.Node, yaml.Node]]:
        """Mapping entries with YAML merge keys ('<<') expanded; explicit keys win."""
        if depth > MAX_DEPTH:
            raise _fail(self.file, "merge keys ('<<') nested too deep (a recursive alias?)", mark=node.start_mark)
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key, value in node.value:
            if key.tag == _MERGE:
                sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
                for src in sources:
                    self.budget -= len(src.value) if isinstance(src, yaml.MappingNode) else 1
                    if isinstance(src, yaml.MappingNode):
                        merged.extend(self._entries(src, path, depth + 1))
                    else:
                        self._problem(src, path, "a merge key ('<<') needs a mapping or a list of mappings")
            else:
                yield key, value
        explicit = {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
        seen: set[str] = set()
        for key, value in merged:
            if key.value not in explicit and key.value not in seen:
                seen.add(key.value)
                yield key, value

    def _mapping(self, node: yaml.MappingNode, path: JsonPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in self._entries(node, path, depth):
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, path, "a mapping key must be a plain string, not a "
                              f"{'list' if isinstance(key_node, yaml.SequenceNode) else 'mapping'}")
                continue
            key = key_node.value
            child = (*path, key)
            if key in result:
                self._problem(key_node, child, f"duplicate key {key!r} (first defined on line {first_line[key]})",
                              "YAML keeps only one of them: remove or merge the duplicate")
            else:
                first_line[key] = key_node.start_mark.line + 1
            self.keys.setdefault(child, (key_node.start_mark.line + 1, key_node.start_mark.column + 1))
            result[key] = self.build(value_node, child, depth + 1)
        return result


_KINDS = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
          float: "a number", type(None): "an empty value"}


def kind_of(value: Any) -> str:
    """How a value reads to a YAML author: 'a mapping', 'a list', 'a string', ..."""
    return _KINDS.get(type(value), type(value).__name__)


def read_yaml(path: str | Path, *, display: str | None = None) -> tuple[Document, list[Problem]]:
    """Read one YAML mapping document from ``path``: see :func:`parse_yaml`."""
    file = display or str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError([Problem("no such file", file=file)]) from None
    except IsADirectoryError:
        raise ConfigError([Problem("is a directory, not a KfDef file", file=file)]) from None
    except OSError as exc:
        raise ConfigError([Problem(f"cannot read: {exc.strerror or exc}", file=file)]) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError([Problem(
            f"file is larger than {MAX_BYTES // 1024 // 1024} MiB: a KfDef is a few KiB, this is not one",
            file=file, hint="check that you passed the right file")])
    return parse_yaml(raw, file)


def parse_yaml(raw: bytes | str, file: str) -> tuple[Document, list[Problem]]:
    """Parse YAML text (bytes or str) named ``file`` into a :class:`Document`.

    Fatal problems (size, encoding, syntax, limits, a non-mapping document)
    raise ConfigError. Construction problems (duplicate keys, unsupported tags)
    are returned beside the data, so the checks that follow can still report
    everything else in the same run.
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if len(raw) > MAX_BYTES:
        raise ConfigError([Problem(f"more than {MAX_BYTES} bytes: too large for a KfDef", file=file)])
    text = _decode(raw, file)
    if not text.strip() or all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        raise _fail(file, "the file is empty: expected a KfDef (apiVersion, kind, metadata, spec)",
                    line=1, column=1, hint="`kfctl init DIR` writes one")
    _prepass(text, file)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise _yaml_problem(file, text, exc) from None
    if root is None:
        raise _fail(file, "the file is empty: expected a KfDef (apiVersion, kind, metadata, spec)",
                    line=1, column=1)
    if not isinstance(root, yaml.MappingNode):
        builder = _Builder(file)
        kind = kind_of(builder.build(root, ()))
        raise _fail(file, f"expected a KfDef mapping (apiVersion, kind, metadata, spec), got {kind}",
                    mark=root.start_mark)
    builder = _Builder(file)
    data = builder.build(root, ())
    document = Document(data=data, source_map=SourceMap(file, MappingProxyType(builder.values),
                                                        MappingProxyType(builder.keys)))
    return document, builder.problems
