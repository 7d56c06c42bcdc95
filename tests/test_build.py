"""The built distributions: compiled catalogs, the typing marker and the command.

Builds from the source tree with the installed backend (``--no-isolation``), so
no network is needed; ``build`` and ``hatchling`` come with the test extras.
"""

from __future__ import annotations

import configparser
import gettext
import io
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pathspec import GitIgnoreSpec

from intakeforms.i18n import CATALOG_LOCALES, DOMAIN
from intakeforms.validate import MESSAGES

ROOT = Path(__file__).resolve().parent.parent
CATALOG = "intakeforms/locale/{}/LC_MESSAGES/" + DOMAIN


def locale_files() -> set[Path]:
    return set((ROOT / "intakeforms" / "locale").rglob("*"))


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the wheel and the sdist, each built from the source tree."""
    out = tmp_path_factory.mktemp("dist")
    before = locale_files()
    command = [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel"]
    result = subprocess.run(
        [*command, "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert locale_files() == before, "building must not write into the source tree"
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Iterator[zipfile.ZipFile]:
    (path,) = dist.glob("intakeforms-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


@pytest.fixture(scope="module")
def sdist_names(dist: Path) -> set[str]:
    (path,) = dist.glob("intakeforms-*.tar.gz")
    with tarfile.open(path) as archive:
        return {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}


def test_wheel_has_catalogs_sources_and_typing_marker(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    expected = {"intakeforms/py.typed", "intakeforms/locale/intakeforms.pot"}
    for language in CATALOG_LOCALES:
        expected |= {CATALOG.format(language) + ".po", CATALOG.format(language) + ".mo"}
    assert expected <= names
    assert all(not name.endswith(".mo") or name[:-3] + ".po" in names for name in names)


def test_wheel_has_templates_and_assets(wheel: zipfile.ZipFile) -> None:
    """The HTML page's templates and its form.css/form.js ship inside the package."""
    names = set(wheel.namelist())
    templates = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "intakeforms" / "templates").glob("*.html")
    }
    assert {"intakeforms/templates/form.html", "intakeforms/templates/thanks.html"} <= templates
    assert templates <= names
    assert {"intakeforms/assets/form.js", "intakeforms/assets/form.css"} <= names
    for name in ("intakeforms/assets/form.js", "intakeforms/assets/form.css"):
        assert wheel.read(name) == (ROOT / name).read_bytes()
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    requires = [
        line.split(":", 1)[1].strip().lower()
        for line in wheel.read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist:")
    ]
    assert any(r.startswith("jinja2") for r in requires), "the templates need Jinja2"


def test_wheel_has_the_widgets_and_serves_them_from_the_package(
    wheel: zipfile.ZipFile, tmp_path: Path
) -> None:
    """The build hook copies widgets/ into intakeforms/static/, and an installed
    package serves that copy rather than looking for a checkout."""
    for name in ("widget.js", "widget.css"):
        assert wheel.read(f"intakeforms/static/{name}") == (ROOT / "widgets" / name).read_bytes()
    # widget.js is served with the rules it shares with the hosted form's script.
    # Minified, the spliced parseAnswer is renamed and exported as `parseAnswer:x`;
    # unspliced, the export would stay the bare, undeclared `{…, parseAnswer, …}`.
    form_js = "intakeforms/assets/form.js"
    assert wheel.read(form_js) == (ROOT / form_js).read_bytes()
    wheel.extractall(tmp_path)
    probe = (
        "from intakeforms.web.widgets import widget_source_dir, widget_asset;"
        "body = widget_asset('widget.js').body;"
        "print(widget_source_dir()); print(len(body)); print(b'parseAnswer:' in body)"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {probe}"],
        capture_output=True,
        text=True,
        check=True,
    )
    folder, size, spliced = result.stdout.split()
    assert Path(folder) == tmp_path / "intakeforms" / "static"
    assert int(size) > 0
    assert spliced == "True"


def test_wheel_declares_the_command(wheel: zipfile.ZipFile) -> None:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    entry_points = configparser.ConfigParser()
    entry_points.read_string(wheel.read(name).decode())
    assert entry_points["console_scripts"]["intakeforms"] == "intakeforms.cli:main"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fi", "Vastaa tähän kysymykseen."),
        ("sv", "Svara på den här frågan."),
        ("en", "Please answer this question."),
    ],
)
def test_compiled_catalog_translates(wheel: zipfile.ZipFile, language: str, expected: str) -> None:
    compiled = gettext.GNUTranslations(io.BytesIO(wheel.read(CATALOG.format(language) + ".mo")))
    assert compiled.gettext(MESSAGES["required"]) == expected
    if language != "en":
        for msgid in MESSAGES.values():
            assert compiled.gettext(msgid) != msgid, (language, msgid)


def test_sdist_has_sources_but_no_compiled_catalogs(sdist_names: set[str]) -> None:
    assert {CATALOG.format(language) + ".po" for language in CATALOG_LOCALES} <= sdist_names
    assert {"hatch_build.py", "pyproject.toml"} <= sdist_names
    assert not [name for name in sdist_names if name.endswith(".mo")]


def test_git_ignores_compiled_catalogs() -> None:
    ignored = GitIgnoreSpec.from_lines((ROOT / ".gitignore").read_text().splitlines())
    for language in CATALOG_LOCALES:
        assert ignored.match_file(CATALOG.format(language) + ".mo")
        assert not ignored.match_file(CATALOG.format(language) + ".po")
    assert not ignored.match_file("intakeforms/locale/intakeforms.pot")
    assert ignored.match_file("intakeforms/static/widget.js")
