"""The package's structure, read from its import graph (rules 1 to 3 of the layout).

1. No import cycle between the package's parts. A part is a subpackage
   (``intakeforms/store``) or a top-level module (``intakeforms/mail.py``); the
   package's own ``__init__`` is the part ``intakeforms``. ``mail.py`` and a
   ``mail/`` package are both the part ``mail``.
2. Dependencies point one way: the form language imports nothing of the web,
   the store, delivery or mail; the store nothing of the web, delivery or mail;
   delivery nothing of the web; the web never imports delivery.
3. No module over 500 lines.

Every import counts, also one inside a function (it is still a dependency),
except those under ``if TYPE_CHECKING:`` (never run). What does not hold yet is
listed below with its reason; the test fails for a new violation and for a
listed one that is gone, so the lists only shrink.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import intakeforms

PACKAGE = Path(intakeforms.__file__).parent
ROOT = "intakeforms"
MAX_LINES = 500

# The form language: what a form is, how it loads, compiles and validates.
# ``form.py`` holds the compiled form that load, compile and validate share.
LANGUAGE = {"language", "fields", "load", "compile", "validate", "form"}
MAIL = {"mail"}
FORBIDDEN: dict[str, set[str]] = {
    **{part: {"web", "store", "delivery"} | MAIL for part in LANGUAGE},
    "store": {"web", "delivery"} | MAIL,
    "delivery": {"web"},
    "web": {"delivery"},
}

# Rule 1: each cycle, as the set of parts that import each other.
KNOWN_CYCLES: dict[frozenset[str], str] = {}

# Rule 2: (importing module, part it must not import).
KNOWN_LAYERS: dict[tuple[str, str], str] = {}

# Rule 3: module path (from the repository root) → why it is still long.
KNOWN_LONG: dict[str, str] = {}


@dataclass(frozen=True)
class Import:
    """One import in the package: who imports what, and on which line."""

    module: str
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.module} (line {self.line}) imports {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def part(module: str) -> str:
    names = module.split(".")
    return names[1] if len(names) > 1 else ROOT


def under_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import under ``node``, in functions too, but not under TYPE_CHECKING."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and under_type_checking(child):
            for branch in child.orelse:
                yield from import_nodes(ast.Module(body=[branch], type_ignores=[]))
        else:
            yield from import_nodes(child)


def imports(known: dict[str, Path]) -> list[Import]:
    found: list[Import] = []
    for module, path in known.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in import_nodes(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from pkg import sub` imports the submodule; a name is the module's.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                    for alias in node.names
                ]
            for target in targets:
                if target == ROOT or target.startswith(ROOT + "."):
                    found.append(Import(module, node.lineno, target))
    return sorted(set(found), key=lambda i: (i.module, i.line, i.target))


def between_parts() -> list[Import]:
    return [i for i in imports(modules()) if part(i.module) != part(i.target)]


def cycles(edges: list[Import]) -> dict[frozenset[str], list[Import]]:
    """Each strongly connected group of parts, with the imports that join it."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(part(edge.module), set()).add(part(edge.target))

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reached = {name: reach(name) for name in graph}
    groups: dict[frozenset[str], list[Import]] = {}
    for name, seen in reached.items():
        if name in seen:
            group = frozenset(n for n in seen if name in reached.get(n, set()))
            groups[group] = [
                e for e in edges if part(e.module) in group and part(e.target) in group
            ]
    return groups


def report(new: list[str], gone: list[str]) -> str:
    lines = [*new]
    lines += [f"listed as known but no longer true, remove it from the list: {g}" for g in gone]
    return "\n".join(lines)


def test_no_cycle_between_parts() -> None:
    found = cycles(between_parts())
    new = [
        "import cycle between "
        + ", ".join(sorted(group))
        + ":\n  "
        + "\n  ".join(str(e) for e in joining)
        for group, joining in found.items()
        if group not in KNOWN_CYCLES
    ]
    gone = [", ".join(sorted(group)) for group in KNOWN_CYCLES if group not in found]
    assert not new and not gone, report(new, gone)


def test_dependencies_point_one_way() -> None:
    found: dict[tuple[str, str], list[Import]] = {}
    for edge in between_parts():
        target = part(edge.target)
        if target in FORBIDDEN.get(part(edge.module), set()):
            found.setdefault((edge.module, "mail" if target in MAIL else target), []).append(edge)
    new = [
        f"{part(module)} must not import {target}: " + "; ".join(str(e) for e in edges)
        for (module, target), edges in found.items()
        if (module, target) not in KNOWN_LAYERS
    ]
    gone = [
        f"{module} → {target}" for module, target in KNOWN_LAYERS if (module, target) not in found
    ]
    assert not new and not gone, report(new, gone)


def test_no_module_over_500_lines() -> None:
    found = {}
    for path in modules().values():
        count = len(path.read_text(encoding="utf-8").splitlines())
        if count > MAX_LINES:
            found[path.relative_to(PACKAGE.parent).as_posix()] = count
    new = [
        f"{name} has {count} lines (at most {MAX_LINES}): split it into plainly named modules"
        for name, count in found.items()
        if name not in KNOWN_LONG
    ]
    gone = [name for name in KNOWN_LONG if name not in found]
    assert not new and not gone, report(new, gone)


def test_the_graph_sees_imports_in_functions_and_not_type_checking() -> None:
    # The reader itself: a function-level import counts, TYPE_CHECKING does not.
    edges = imports(modules())
    lazy = [e for e in edges if e.module == "intakeforms.cli" and part(e.target) == "web"]
    assert lazy, "the import of create_app inside cli._serve was not seen"
    typing_only = [
        e for e in edges if e.module == "intakeforms.delivery.targets" and part(e.target) == "store"
    ]
    assert not typing_only, typing_only
