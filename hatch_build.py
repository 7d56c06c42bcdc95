"""Build hook: compile the message catalogs (.po → .mo) into the package.

The .mo files are build output, kept out of git; the wheel declares them as
artifacts so they ship even though they are ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def compile_catalogs(root: Path) -> list[Path]:
    """Compile every ``intakeforms/locale/*/LC_MESSAGES/*.po`` next to itself."""
    written = []
    for po_path in sorted((root / "intakeforms" / "locale").glob("*/LC_MESSAGES/*.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parent.parent.name)
        mo_path = po_path.with_suffix(".mo")
        with mo_path.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        written.append(mo_path)
    return written


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc]
    """Compiles catalogs before the wheel (or an editable install) is built."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        for mo_path in compile_catalogs(root):
            build_data["artifacts"].append(mo_path.relative_to(root).as_posix())
