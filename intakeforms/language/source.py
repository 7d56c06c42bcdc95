"""Read YAML safely into plain values while remembering where each came from.

PyYAML's *compose* stage builds a node graph with a start mark on every node
and never constructs Python objects, so no tag can run code. We turn nodes into
values ourselves because the YAML 1.1 resolver that ships with PyYAML silently
changes meaning (``NO`` becomes ``False``, ``0123`` becomes ``83``, ``12:30``
becomes ``750``). Here every scalar stays the text the author wrote; the form
models turn text into numbers or booleans only where a number or a boolean is
meant, and the field's own type decides for ``default`` and ``when`` values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml

from intakeforms.errors import FormError, Problem

#: A form file larger than this is refused before parsing.
MAX_FILE_BYTES = 512 * 1024
#: Values produced from one file, counting every alias expansion: a limit that
#: stops "billion laughs" documents long before they cost memory or time.
MAX_VALUES = 20_000
MAX_DEPTH = 64

Path = tuple[str | int, ...]

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_STANDARD_TAGS = frozenset(
    {
        "tag:yaml.org,2002:str",
        "tag:yaml.org,2002:map",
        "tag:yaml.org,2002:seq",
        "tag:yaml.org,2002:null",
    }
)


_DEFAULT_TAGS: dict[type[yaml.Node], str] = {
    yaml.ScalarNode: yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG,
    yaml.SequenceNode: yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
    yaml.MappingNode: yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
}


class _Resolver(yaml.resolver.BaseResolver):
    """Resolves nothing implicitly: plain scalars stay strings.

    The parser calls these three for every node; BaseResolver's own search
    its (here empty) tables of implicit and path resolvers first, which was
    a sixth of the time of loading a form. The answers are the same.
    """

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        return _DEFAULT_TAGS[kind]

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


_Loader: type[Any]
try:
    from yaml.cyaml import CParser  # type: ignore[attr-defined]

    class _CLoader(CParser, yaml.composer.Composer, _Resolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _Resolver.__init__(self)

    _Loader = _CLoader
except ImportError:  # pragma: no cover - PyYAML's wheels all carry libyaml

    class _PyLoader(
        yaml.reader.Reader,
        yaml.scanner.Scanner,
        yaml.parser.Parser,
        yaml.composer.Composer,
        _Resolver,
    ):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            _Resolver.__init__(self)

    _Loader = _PyLoader


@dataclass(frozen=True, slots=True)
class Location:
    """A 1-based line and column in a source file."""

    line: int
    column: int


class Mark(Protocol):
    """Where the parser saw a node: line and column counted from 0."""

    @property
    def line(self) -> int: ...

    @property
    def column(self) -> int: ...


@dataclass
class Document:
    """A YAML document read into plain values, with locations by path.

    ``values`` is made of ``dict``, ``list``, ``str`` and ``None`` only.
    ``keys`` holds where each mapping key was written, ``nodes`` where each
    value starts; both are keyed by the path from the root and hold the
    parser's marks (counted from 0): :meth:`locate` gives a
    :class:`Location`. A location is needed only for a problem, so none is
    made for the thousands of values of a good file.
    """

    file: str
    values: Any
    nodes: dict[Path, Mark] = field(default_factory=dict)
    keys: dict[Path, Mark] = field(default_factory=dict)

    def locate(self, path: Path, *, key: bool = False) -> Location:
        """Where ``path`` was written, or its nearest written ancestor."""
        path = tuple(path)
        if key and path in self.keys:
            return _location(self.keys[path])
        while path:
            if path in self.nodes:
                return _location(self.nodes[path])
            path = path[:-1]
        root = self.nodes.get(())
        return Location(1, 1) if root is None else _location(root)

    def problem(self, path: Path, code: str, message: str, *, key: bool = False) -> Problem:
        """A :class:`Problem` at ``path``, its message prefixed with the path."""
        where = self.locate(path, key=key)
        return Problem(self.file, where.line, where.column, code, _prefix(path, message))


def format_path(path: Path) -> str:
    """``('fields', 2, 'type')`` → ``fields[2].type``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _prefix(path: Path, message: str) -> str:
    return f"{format_path(path)}: {message}" if path else message


class SourceError(Exception):
    """The file cannot be read as YAML at all; carries one problem."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def read_document(text: str, file: str) -> Document:
    """Parse ``text`` (one YAML document) into a :class:`Document`."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise SourceError(
            Problem(
                file,
                1,
                1,
                "file_too_large",
                f"the file is larger than {MAX_FILE_BYTES // 1024} KiB; "
                "split it into one file per form",
            )
        )
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        tab = _tab_in_indentation(text, line, column)
        if tab is not None:
            line, column = tab
            what = (
                "a tab in the indentation; YAML indents with spaces only: replace "
                "the tab with spaces (two per level, as in the lines around it)"
            )
        raise SourceError(
            Problem(file, line, column, "yaml_syntax", f"YAML syntax error: {what}")
        ) from None
    except yaml.YAMLError as exc:
        raise SourceError(Problem(file, 1, 1, "yaml_syntax", f"YAML error: {exc}")) from None
    doc = Document(file=file, values=None)
    if root is None:
        return doc
    builder = _Builder(doc)
    doc.values = builder.build(root, (), 0)
    return doc


def _tab_in_indentation(text: str, line: int, column: int) -> tuple[int, int] | None:
    """Where a tab is in the indentation of ``line`` or of the line before it
    (a parser may trip on the line after), or at ``column`` of ``line`` (after
    a list's dash), as (line, column); else None.

    A tab is the most common cause of a YAML syntax error that a newcomer
    cannot see: editors show it as spaces, and the parser's words for it
    ("found character that cannot start any token") do not say "tab"."""
    lines = text.splitlines()
    if 1 <= line <= len(lines) and lines[line - 1][column - 1 : column] == "\t":
        return line, column
    for number in (line, line - 1):
        if 1 <= number <= len(lines):
            content = lines[number - 1]
            indent = content[: len(content) - len(content.lstrip(" \t"))]
            if "\t" in indent:
                return number, indent.index("\t") + 1
    return None


def _location(mark: Mark) -> Location:
    return Location(mark.line + 1, mark.column + 1)


def _loc(node: yaml.Node) -> Location:
    return _location(node.start_mark)


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.count = 0

    def _fail(self, node: yaml.Node, code: str, message: str) -> SourceError:
        where = _loc(node)
        return SourceError(Problem(self.doc.file, where.line, where.column, code, message))

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_VALUES or depth > MAX_DEPTH:
            raise self._fail(
                node,
                "yaml_too_complex",
                "the document expands to too many values (anchors and aliases "
                "repeated inside each other?); write the values out instead",
            )
        self.doc.nodes[path] = node.start_mark
        if node.tag not in _STANDARD_TAGS:
            raise self._fail(
                node,
                "yaml_tag",
                f"YAML tag {node.tag!r} is not allowed; remove it and write a plain value",
            )
        if isinstance(node, yaml.ScalarNode):
            if not node.style and node.value in _NULLS:
                return None
            return str(node.value)
        depth += 1
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.MappingNode)
        keys = self.doc.keys
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if _is_merge(key_node):
                raise self._fail(
                    key_node, "yaml_merge", "merge keys (<<) are not supported; write the keys out"
                )
            if type(key_node) is not yaml.ScalarNode:
                raise self._fail(
                    key_node, "yaml_key", "a key must be a plain name, not a list or map"
                )
            if key_node.tag not in _STANDARD_TAGS:
                raise self._fail(key_node, "yaml_tag", f"YAML tag {key_node.tag!r} is not allowed")
            key = str(key_node.value)
            here = (*path, key)
            if key in result:
                first = _location(keys[here])
                raise self._fail(
                    key_node,
                    "duplicate_key",
                    f"{_prefix(here, '')}duplicate key {key!r} "
                    f"(first written at line {first.line}); keep one of them",
                )
            keys[here] = key_node.start_mark
            result[key] = self.build(value_node, here, depth)
        return result


# A plain scalar's style is None from PyYAML's composer and "" from libyaml's.
def _is_merge(node: yaml.Node) -> bool:
    if node.tag == "tag:yaml.org,2002:merge":
        return True
    return node.value == "<<" and type(node) is yaml.ScalarNode and not node.style


def read_map(text: str, file: str, *, code: str, hint: str) -> Document:
    """:func:`read_document` for a file that must be a map (a form, an FAQ
    file); anything else raises :class:`~intakeforms.FormError`, with ``code``
    and ``hint`` at 1:1."""
    try:
        doc = read_document(text, file)
    except SourceError as exc:
        raise FormError([exc.problem]) from None
    if not isinstance(doc.values, dict):
        raise FormError([Problem(file, 1, 1, code, hint)])
    return doc
