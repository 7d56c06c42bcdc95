"""Build hook: compile the message catalogs (.po → .mo) into the wheel, and
copy the widget sources from ``widgets/`` into the package's ``static/``.

The .mo files are build output and never live in the source tree: they are
compiled into a temporary folder and force-included into the wheel next to
their .po files. An editable install compiles nothing, so a checkout always
reads its .po files directly (``intakeforms.i18n`` prefers a .mo when there is
one, and a .mo left in the tree would go stale as soon as a .po is edited).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.config import BuilderConfig
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: The catalogs, relative to the project root: ``<lang>/LC_MESSAGES/<domain>.po``.
LOCALE_DIR = Path("intakeforms") / "locale"
#: The widget files, copied from ``widgets/`` to ``intakeforms/static/`` in the
#: wheel (the names ``intakeforms.web.widgets.WIDGET_FILES`` serves). The rules
#: widget.js shares with the hosted form come from ``intakeforms/assets/form.js``,
#: which the wheel has as package data: the service splices them in as it serves.
WIDGET_FILES = ("widget.js", "widget.css", "widget-faq.js")


def compile_catalogs(source: Path, target: Path) -> list[Path]:
    """Compile every ``source/<lang>/LC_MESSAGES/*.po`` to the same place under ``target``.

    Fuzzy and untranslated messages are left out, as gettext would. Returns
    the ``.mo`` paths written.
    """
    written = []
    for po_path in sorted(source.glob("*/LC_MESSAGES/*.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parent.parent.name)
        mo_path = target / po_path.relative_to(source).with_suffix(".mo")
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with mo_path.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        written.append(mo_path)
    return written


class CustomBuildHook(BuildHookInterface[BuilderConfig]):
    """Compiles the catalogs and adds the .mo files and the widget files to a
    (non-editable) wheel; an editable install serves ``widgets/`` itself."""

    _compiled: Path | None = None

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        self._compiled = Path(tempfile.mkdtemp(prefix="intakeforms-mo-"))
        for mo_path in compile_catalogs(Path(self.root) / LOCALE_DIR, self._compiled):
            inside = LOCALE_DIR / mo_path.relative_to(self._compiled)
            build_data["force_include"][str(mo_path)] = inside.as_posix()
        for name in WIDGET_FILES:
            source = Path(self.root) / "widgets" / name
            if not source.is_file():
                raise FileNotFoundError(f"{source}: the widget file is missing from the sources")
            build_data["force_include"][str(source)] = f"intakeforms/static/{name}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if self._compiled is not None:
            shutil.rmtree(self._compiled, ignore_errors=True)
            self._compiled = None
