"""
docs/service.md stands on its own: every citation of the service points at one of its anchors.

The code, its help text and the docs cite the service's behaviour by identifier: ``docs/service.md
E32``, a link ``service.md#e32``, ``service.md section 7``, or a bare ``(E32)``, ``A4``, ``D11``,
``G2``. docs/service.md gives each identifier an explicit anchor (``<a id="e32"></a>``), so a
citation resolves when that anchor exists. A token that merely looks like one is not a citation
when it is quoted (``"A1"``, an agent's name) or part of a spreadsheet range (``A1:C9``).

No file cites the old specification file that users do not have (`files_citing_the_spec`);
``scripts/cite_service.py`` rewrites such citations and is tested here too.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICE = ROOT / "docs" / "service.md"
SPEC_FILE = "API.md"  # the old specification file, named here only to find citations of it
SKIP_DIRS = frozenset(
    {".git", ".venv", "venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
    | {"build", "dist", "node_modules"}
)
TEXT_SUFFIXES = frozenset({".py", ".pyi", ".md", ".toml", ".cfg", ".ini", ".txt", ".yml", ".yaml"})
# This module and the sweep script name identifiers and the old file in order to find them.
# Files that name the old file to find it (or to check that a page does not): they cite nothing.
SEARCHERS = frozenset(
    {"tests/test_docs_service.py", "scripts/cite_service.py", "tests/test_architecture_doc.py"}
)

_ANCHOR = re.compile(r'<a id="([^"]+)"></a>')
_LINK = re.compile(r"service\.md#([\w-]+)")
_NUM = r"\d+(?:\.\d+)?"
_SECTIONS = re.compile(
    rf"service\.md\]?\s+sections?\s+({_NUM}(?:\s*(?:[-–,]|and)\s*{_NUM})*)", re.IGNORECASE
)
# An identifier, not glued to a word, a quote, a path, a cell reference or a range.
_IDENTIFIER = re.compile(r"(?<![\w\"'=:$/.\\])([EADG])(\d{1,2})(?![\w\"']|:\w)")


def service_anchors() -> set[str]:
    """The explicit anchors of docs/service.md."""
    return set(_ANCHOR.findall(SERVICE.read_text(encoding="utf-8")))


def citations(text: str) -> Iterator[tuple[int, str, str]]:
    """(line, citation as written, anchor it needs) for every citation of the service in *text*."""

    def line_of(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    for match in _LINK.finditer(text):
        yield line_of(match.start()), match.group(0), match.group(1)
    for match in _SECTIONS.finditer(text):
        for number in re.findall(_NUM, match.group(1)):
            yield line_of(match.start()), match.group(0), "section-" + number.replace(".", "-")
    for match in _IDENTIFIER.finditer(text):
        yield line_of(match.start()), match.group(0), match.group(0).lower()


def text_files(root: Path = ROOT) -> Iterator[Path]:
    """The repository's source and documentation files (no virtualenv, caches or data files)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            path = Path(folder) / name
            if path.relative_to(root).as_posix() in SEARCHERS:
                continue
            if path.suffix in TEXT_SUFFIXES or (
                path.suffix == "" and path.parent.name == "scripts"
            ):
                yield path


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def files_citing_the_spec(root: Path = ROOT) -> list[str]:
    """Every ``file:line`` under *root* that names the old specification file."""
    found = []
    for path in text_files(root):
        for number, line in enumerate(read(path).splitlines(), start=1):
            if SPEC_FILE in line:
                found.append(f"{path.relative_to(root).as_posix()}:{number}")
    return found


def load_sweep() -> ModuleType:
    """scripts/cite_service.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("cite_service", ROOT / "scripts/cite_service.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the anchors ---------------------------------------------------------------------------------


def test_service_md_has_every_identifier() -> None:
    """E1-E51, A1-A29, D1-D16, G1-G9, sections 1-12 and the 43 actions each have an anchor."""
    wanted = (
        {f"e{n}" for n in range(1, 52)}
        | {f"a{n}" for n in range(1, 30)}
        | {f"d{n}" for n in range(1, 17)}
        | {f"g{n}" for n in range(1, 10)}
        | {f"section-{n}" for n in range(1, 13)}
        | {f"action-{n}" for n in range(1, 44)}
    )
    assert sorted(wanted - service_anchors()) == []


def test_service_md_anchors_are_unique() -> None:
    """No anchor is defined twice, so a link cannot land on the wrong row."""
    anchors = _ANCHOR.findall(SERVICE.read_text(encoding="utf-8"))
    assert sorted({a for a in anchors if anchors.count(a) > 1}) == []


def test_service_md_links_inside_itself_resolve() -> None:
    """Its own ``(#section-7)`` links land on anchors it defines."""
    text = SERVICE.read_text(encoding="utf-8")
    links = re.findall(r"\]\(#([\w-]+)\)", text)
    assert len(links) >= 10
    assert sorted(set(links) - service_anchors()) == []


def _entry(text: str, anchor: str) -> str:
    """The text from *anchor* up to the next anchor."""
    start = text.index(f'<a id="{anchor}"></a>')
    following = _ANCHOR.search(text, start + len(anchor) + 12)
    return text[start : following.start() if following else len(text)]


def test_every_observation_says_what_the_sdk_does() -> None:
    """E32-E51 each say what the service does and what the SDK does about it."""
    text = SERVICE.read_text(encoding="utf-8")
    for n in range(32, 52):
        entry = _entry(text, f"e{n}")
        assert "**The service.**" in entry, n
        assert "**The SDK.**" in entry, n


def test_every_table_row_has_the_sdk_column() -> None:
    """E1-E31, A1-A29, D1-D16 and G1-G9 rows fill their last column (what the SDK does)."""
    text = SERVICE.read_text(encoding="utf-8")
    rows = [f"e{n}" for n in range(1, 32)] + [f"a{n}" for n in range(1, 30)]
    rows += [f"d{n}" for n in range(1, 17)] + [f"g{n}" for n in range(1, 10)]
    for anchor in rows:
        row = _entry(text, anchor).split("\n", 1)[0]
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        assert len(cells) >= 3, anchor
        assert all(cells), anchor


# -- the citations -------------------------------------------------------------------------------


def test_citation_finder_tells_citations_from_lookalikes() -> None:
    """Citations are found in every written form; agent names and cell ranges are not citations."""
    found = [
        anchor
        for _, _, anchor in citations(
            "(docs/service.md E32, E48) and (E4-E7); A4: left out; see service.md#d11,\n"
            "[service.md sections 11–12](service.md#section-11); service.md section 7.1\n"
            'robots=["A1", "A2"], robot=\'G2\', "=SUM(A1:A30)", 1E32, x.E5, $E$9\n'
        )
    ]
    expected = ["e32", "e48", "e4", "e7", "a4", "d11", "section-11", "section-12", "section-7-1"]
    expected.append("section-11")  # once from the link text, once from the link
    assert sorted(found) == sorted(expected)


def test_every_citation_resolves() -> None:
    """Every citation of the service in code, help text and docs names an anchor of service.md."""
    anchors = service_anchors()
    broken = [
        f"{path.relative_to(ROOT).as_posix()}:{line}: {written!r} -> #{anchor}"
        for path in text_files()
        for line, written, anchor in citations(read(path))
        if anchor not in anchors
    ]
    assert broken == []


def test_help_text_cites_resolving_anchors() -> None:
    """The CLI's --help pages cite only identifiers that service.md defines."""
    from click.testing import CliRunner  # noqa: PLC0415

    from miogram_async.cli import cli  # noqa: PLC0415

    anchors = service_anchors()
    pages = [[], ["campaign", "run"], ["campaign", "resume"], ["demo"], ["fake", "serve"]]
    cited = []
    for page in pages:
        result = CliRunner().invoke(cli, [*page, "--help"], terminal_width=200)
        assert result.exit_code == 0, page
        cited += [anchor for _, _, anchor in citations(result.output)]
    assert "e33" in cited  # campaign run --help explains --concurrency by E33
    assert [anchor for anchor in cited if anchor not in anchors] == []


# -- the sweep of old citations ------------------------------------------------------------------


def test_nothing_cites_the_spec_file() -> None:
    """No file of the repository cites the specification file users do not have."""
    assert files_citing_the_spec() == []


def test_files_citing_the_spec_finds_them(tmp_path: Path) -> None:
    """The check and the sweep see the old file's name where it is written, and only there."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "a.py").write_text("x = 1\n# the gateway (API.md E33) breaks\n", encoding="utf-8")
    (tmp_path / "b.py").write_text("# the gateway (docs/service.md E33) breaks\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "c.py").write_text("# API.md E33\n", encoding="utf-8")
    assert files_citing_the_spec(tmp_path) == ["a.py:2"]
    found = load_sweep().sweep(tmp_path, write=False, report=lambda _: None)
    assert [p.name for p in found] == ["a.py"]


def _swept(tmp_path: Path, name: str, text: str) -> str:
    sweep = load_sweep()
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    setattr(sweep, "SERVICE", tmp_path / "docs" / "service.md")  # noqa: B010
    sweep.sweep(tmp_path, write=True, report=lambda _: None)
    first = path.read_text(encoding="utf-8")
    assert sweep.sweep(tmp_path, write=False, report=lambda _: None) == []  # idempotent
    return first


def test_sweep_rewrites_code_citations(tmp_path: Path) -> None:
    """In code: the plain form, sections named, bare numbers made sections, long lines wrapped."""
    code = (
        "def f() -> None:\n"
        '    """One-line docstring that is already rather long and that cites '
        'the spec (API.md E19)."""\n'
        "    # A comment that will be far too long once its citation is rewritten "
        "here (API.md E32, E48),\n"
        "    # and goes on here.\n"
        "    x = (\n"
        '        "one chunk of %d numbers got 999 after %.1fs '
        "(the front's own long wait, API.md E32): \"\n"
        '        "later"\n'
        "    )\n"
        '    y = "(API.md section 7) (API.md sections 11-12) (API.md 2)"\n'
        '    """\n'
        "    The order the code reads (API.md\n"
        "    E34).\n"
        '    """\n'
    )
    swept = _swept(tmp_path, "m.py", code)
    assert "API.md" not in swept
    assert all(len(line) <= 100 for line in swept.splitlines()), swept
    compile(swept, "m.py", "exec")
    assert '    """\n    One-line docstring' in swept
    assert '(docs/service.md E19).\n    """\n' in swept
    assert "(docs/service.md E32,\n    # E48), and goes on here.\n" in swept
    assert "(docs/service.md section 7) (docs/service.md sections 11-12)" in swept
    assert "(docs/service.md section 2)" in swept
    assert "reads (docs/service.md\n    E34).\n" in swept
    assert 'wait, docs/service.md "\n        "E32): "\n        "later"' in swept


def test_sweep_links_markdown_citations(tmp_path: Path) -> None:
    """In Markdown prose: links relative to the file; headings keep bare identifiers; code plain."""
    text = (
        "## Chunks (API.md E32, E33)\n"
        "The gateway breaks (API.md E33, E48); see API.md section 7 and `API.md E1`.\n"
        "```python\n"
        "x = 1  # API.md E9\n"
        "```\n"
    )
    swept = _swept(tmp_path, "docs/page.md", text)
    assert swept == (
        "## Chunks (E32, E33)\n"
        "The gateway breaks ([service.md E33](service.md#e33), [E48](service.md#e48)); see "
        "[service.md section 7](service.md#section-7) and `docs/service.md E1`.\n"
        "```python\n"
        "x = 1  # docs/service.md E9\n"
        "```\n"
    )
    top = _swept(tmp_path, "README.md", "It breaks (API.md E33).\n")
    assert top == "It breaks ([service.md E33](docs/service.md#e33)).\n"


@pytest.mark.parametrize("name", ["CHANGELOG.md", "pyproject.toml", "scripts/check"])
def test_sweep_reads_the_files_the_check_reads(name: str) -> None:
    """The sweep and the check look at the same files, so the check passes after a sweep."""
    sweep = load_sweep()
    assert (ROOT / name) in set(sweep.candidates(ROOT))
    assert (ROOT / name) in set(text_files())
