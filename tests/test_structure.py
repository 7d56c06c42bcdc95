"""The package's structure, read from its import graph and names (rules 1 to 4).

1. No import cycle between the package's parts. A part is a subpackage
   (``intakeforms/store``) or a top-level module (``intakeforms/mail.py``); the
   package's own ``__init__`` is the part ``intakeforms``. ``mail.py`` and a
   ``mail/`` package are both the part ``mail``.
2. Dependencies point one way: the form language imports nothing of the web,
   the store, delivery or mail; the store nothing of the web, delivery or mail;
   delivery nothing of the web; the web never imports delivery.
3. No module over 500 lines.
4. Each delivery target kind is named in its own module (``targets/zendesk.py``)
   and the registry (``targets/__init__.py``) only: no other code holds its
   name as a string or in an identifier, nor its settings model's name.

Every import counts, also one inside a function (it is still a dependency),
except those under ``if TYPE_CHECKING:`` (never run). What does not hold yet is
listed below with its reason; the test fails for a new violation and for a
listed one that is gone, so the lists only shrink.
"""

from __future__ import annotations

import ast
import re
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
    # FAQ files and their search: read like forms, shown by the web.
    "faq": {"web", "store", "delivery"} | MAIL,
    # Signed links and tokens: the web, the command line and mails use them.
    "links": {"web", "store", "delivery"} | MAIL,
    # How answers are shown: the language, compile and validate use it.
    "present": {"web", "store", "delivery"} | MAIL,
    "store": {"web", "delivery"} | MAIL,
    # The figures from visitor events: the web, delivery's retention and the
    # command line use them.
    "stats": {"web", "delivery"} | MAIL,
    # The submit use case: the web, the command line and Python call it.
    "intake": {"web", "delivery"},
    "delivery": {"web"},
    "targets": {"web"},
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


# -- rule 4: one home per target kind -------------------------------------------


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string nodes that are docstrings (modules, classes, functions)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def names_in_code(path: Path) -> Iterator[tuple[int, str]]:
    """(line, word) for each identifier and string constant of the module's
    code: names, attributes, imports, definitions, keywords; not docstrings
    or comments."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                yield node.lineno, node.value
        elif isinstance(node, ast.Name):
            yield node.lineno, node.id
        elif isinstance(node, ast.Attribute):
            yield node.lineno, node.attr
        elif isinstance(node, ast.alias):
            yield node.lineno, node.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.lineno, node.name
        elif isinstance(node, ast.keyword | ast.arg) and node.arg:
            yield node.lineno, node.arg


def kind_words() -> dict[str, tuple[str, re.Pattern[str]]]:
    """Each built-in kind → (its home module, what names it in code).

    ``email`` is also a field type and a module of the standard library, so
    for that kind only its settings model's name counts.
    """
    from intakeforms.targets import BUILTIN

    words = {}
    for kind in BUILTIN:
        model = rf"^{re.escape(kind.model.__name__)}$"
        pattern = model if kind.name == "email" else rf"(?i:{re.escape(kind.name)})|{model}"
        words[kind.name] = (f"{ROOT}.targets.{kind.name}", re.compile(pattern))
    return words


def test_each_target_kind_is_named_in_its_module_and_the_registry_only() -> None:
    words = kind_words()
    # The registry, and the package's root, whose __all__ lists the public API
    # (a kind's helper for receivers, like sign_webhook, included).
    allowed = {f"{ROOT}.targets", ROOT}
    found = []
    for module, path in modules().items():
        for line, word in names_in_code(path):
            for kind, (home, pattern) in words.items():
                if module != home and module not in allowed and pattern.search(word):
                    found.append(f"{module}:{line} names the {kind} target: {word[:60]!r}")
    assert not found, "\n".join(sorted(set(found)))


def test_the_kind_check_sees_a_name_outside_its_home(tmp_path: Path) -> None:
    stray = tmp_path / "stray.py"
    stray.write_text(
        '"""A docstring may say zendesk."""\n'
        "from intakeforms.targets.zendesk import ZendeskTarget\n"
        'URL = "https://acme.zendesk.com"\n',
        encoding="utf-8",
    )
    pattern = kind_words()["zendesk"][1]
    hits = [line for line, word in names_in_code(stray) if pattern.search(word)]
    assert hits == [2, 2, 3], hits
    assert not kind_words()["email"][1].search("NotAnEmailTarget")
