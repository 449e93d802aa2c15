"""
Point citations of the service's old specification file at docs/service.md.

The code, help text and docs once cited the service as ``API.md E32``, ``API.md section 7`` or
``API.md A4``: a file users do not have. docs/service.md keeps the same identifiers as anchors, so
each such citation is rewritten, and nothing else is touched:

- in code, comments, docstrings and other text files: ``API.md E32, E48`` becomes
  ``docs/service.md E32, E48``, ``API.md section 7`` ``docs/service.md section 7``, ``API.md 2``
  (a bare section number) ``docs/service.md section 2``; a Python line that grows past 100
  characters is wrapped: a comment or docstring carries its last words onto its next line (or a new
  one), a one-line docstring becomes a three-line one, a string literal on a line of its own is
  split in two adjacent literals;
- in Markdown prose the citation becomes a link, relative to the file:
  ``[service.md E32](docs/service.md#e32), [E48](docs/service.md#e48)``,
  ``[service.md section 7](docs/service.md#section-7)``; in a heading the file's name is dropped
  (``(E32, E33)``); in code blocks and code spans the plain form of code is used.

It is idempotent: a second run changes nothing, so it can be run again after merging branches that
brought new citations. Usage, from the repository's root::

    python scripts/cite_service.py          # rewrite every file that cites it, list them
    python scripts/cite_service.py --check  # change nothing; exit 1 when a file cites it

The file names are searched as written; this script, tests/test_docs_service.py and
tests/test_architecture_doc.py name the old file only to find it.
"""

from __future__ import annotations

import argparse
import functools
import io
import os
import re
import sys
import tokenize
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICE = ROOT / "docs" / "service.md"
LIMIT = 100  # ruff's line-length for Python files
SKIP_DIRS = frozenset(
    {".git", ".venv", "venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
    | {"build", "dist", "node_modules"}
)
TEXT_SUFFIXES = frozenset({".py", ".pyi", ".md", ".toml", ".cfg", ".ini", ".txt", ".yml", ".yaml"})
# Files that name the old file in order to find it: they do not cite it.
SEARCHERS = frozenset(
    {"scripts/cite_service.py", "tests/test_docs_service.py", "tests/test_architecture_doc.py"}
)

_ID = r"[EADG]\d{1,2}"
_NUM = r"\d+(?:\.\d+)?"
_CITATION = re.compile(
    r"API\.md"
    r"(?:(?P<sws>\s+)(?P<section>sections?)(?P<nws>\s+)"
    rf"(?P<nums>{_NUM}(?:\s*(?:-|–|and)\s*{_NUM})?)"
    rf"|(?P<iws>\s+)(?P<ids>{_ID}(?:\s*(?:,|and|-|–)\s*{_ID})*)\b"
    rf"|(?P<bws> )(?P<bare>\d+)\b)?"
)
_ID_OR_SEPARATOR = re.compile(rf"({_ID})")


def _plain(match: re.Match[str]) -> str:
    """The citation in the plain form used in code and code blocks."""
    if match.group("section"):
        return (
            f"docs/service.md{match.group('sws')}{match.group('section')}"
            f"{match.group('nws')}{match.group('nums')}"
        )
    if match.group("ids"):
        return f"docs/service.md{match.group('iws')}{match.group('ids')}"
    if match.group("bare"):
        return f"docs/service.md section {match.group('bare')}"
    return "docs/service.md"


def _linked(match: re.Match[str], target: str, *, heading: bool) -> str:
    """The citation as a Markdown link (or, in a heading, as bare identifiers)."""
    if match.group("section") or match.group("bare"):
        nums = match.group("nums") or match.group("bare")
        first = re.match(_NUM, nums)
        assert first is not None
        anchor = "section-" + first.group(0).replace(".", "-")
        words = (
            f"{match.group('sws')}{match.group('section')}{match.group('nws')}{nums}"
            if match.group("section")
            else f" section {nums}"
        )
        return words.lstrip() if heading else f"[service.md{words}]({target}#{anchor})"
    ids = match.group("ids")
    if ids:
        if heading:
            return ids
        pieces = _ID_OR_SEPARATOR.split(ids)
        out = []
        for index, piece in enumerate(pieces):
            if _ID_OR_SEPARATOR.fullmatch(piece):
                label = f"service.md{match.group('iws')}{piece}" if index == 1 else piece
                out.append(f"[{label}]({target}#{piece.lower()})")
            else:
                out.append(piece)
        return "".join(out)
    return f"[service.md]({target})"


def rewrite_markdown(text: str, path: Path) -> str:
    """Rewrite the citations of a Markdown file: links in prose, the plain form in code."""
    target = Path(os.path.relpath(SERVICE, path.parent)).as_posix()
    lines = text.split("\n")
    fenced = False
    for number, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if "API.md" not in line:
            continue
        if fenced:
            lines[number] = _CITATION.sub(_plain, line)
            continue
        heading = line.startswith("#")
        # Odd pieces between backticks are code spans: plain form there.
        pieces = re.split(r"(`+)", line)
        in_code, opener = False, ""
        for index, piece in enumerate(pieces):
            if piece.startswith("`"):
                if not in_code:
                    in_code, opener = True, piece
                elif piece == opener:
                    in_code = False
                continue
            if in_code:
                pieces[index] = _CITATION.sub(_plain, piece)
            else:
                pieces[index] = _CITATION.sub(
                    functools.partial(_linked, target=target, heading=heading),
                    piece,
                )
        lines[number] = "".join(pieces)
    return "\n".join(lines)


# -- wrapping Python lines that grew past the limit ----------------------------------------------

_COMMENT = re.compile(r"^(\s*#:?\s?)(\S.*)$")
_ITEM = re.compile(r"^\s*(?:[-*] |\w[\w.]*(?: \([^)]*\))?: |\w[\w ]*:$)")
_LITERAL_LINE = re.compile(
    r"""^(\s*)([rRfFuU]{0,2})(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')(.*)$"""
)


def _split_at(text: str, room: int, *, braces: bool = False) -> tuple[str, str] | None:
    """Split *text* at its last space that leaves at most *room* characters before it."""
    depth = 0
    best = None
    for index, char in enumerate(text):
        if braces and char in "{}":
            depth += 1 if char == "{" else -1
        if char == " " and depth == 0 and 0 < index <= room:
            best = index
    if best is None:
        return None
    return text[:best], text[best + 1 :]


def _strings(text: str) -> Iterator[tuple[int, int]]:
    """(first line, last line), 0-based, of every string token of *text* spanning lines."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.STRING and token.end[0] > token.start[0]:
                yield token.start[0] - 1, token.end[0] - 1
    except (tokenize.TokenError, SyntaxError):
        return


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def wrap_python(text: str, long_lines: set[int]) -> str:
    """Wrap the lines numbered *long_lines* (0-based) of Python *text* that exceed the limit."""
    lines = text.split("\n")
    pending = sorted(long_lines)
    while pending:
        number = pending.pop(0)
        line = lines[number]
        if len(line) <= LIMIT:
            continue
        spans = list(_strings("\n".join(lines)))
        step = (
            _wrap_comment(lines, number)
            or _wrap_docstring(lines, number, spans)
            or _wrap_one_line_docstring(lines, number)
            or _wrap_literal(lines, number)
        )
        if step is None:
            print(f"  line {number + 1} is over {LIMIT} characters: wrap it by hand")
            continue
        inserted, touched = step
        pending = sorted({n + inserted if n > number else n for n in pending} | touched)
    return "\n".join(lines)


Step = tuple[int, set[int]]  # lines inserted, lines to look at again


def _wrap_comment(lines: list[str], number: int) -> Step | None:
    match = _COMMENT.match(lines[number])
    if match is None or lines[number].lstrip().startswith("#!"):
        return None
    prefix, body = match.groups()
    split = _split_at(body, LIMIT - len(prefix))
    if split is None:
        return None
    head, tail = split
    lines[number] = prefix + head
    following = _COMMENT.match(lines[number + 1]) if number + 1 < len(lines) else None
    if following and following.group(1) == prefix and not _ITEM.match(following.group(2)):
        lines[number + 1] = f"{prefix}{tail} {following.group(2)}"
        return 0, {number, number + 1}
    lines.insert(number + 1, prefix + tail)
    return 1, {number, number + 1}


def _wrap_docstring(lines: list[str], number: int, spans: list[tuple[int, int]]) -> Step | None:
    span = next(((a, b) for a, b in spans if a <= number <= b), None)
    if span is None:
        return None
    line = lines[number]
    indent = _indent(line)
    split = _split_at(line[indent:], LIMIT - indent)
    if split is None:
        return None
    head, tail = split
    lines[number] = " " * indent + head
    item = bool(_ITEM.match(line))
    following = lines[number + 1] if number + 1 <= span[1] else None
    if following is not None and following.strip() and following.strip() not in ('"""', "'''"):
        deeper = _indent(following) > indent
        same = _indent(following) == indent and not _ITEM.match(following)
        if (deeper and item) or (same and not item) or (same and number == span[0]):
            lines[number + 1] = " " * _indent(following) + tail + " " + following.lstrip()
            return 0, {number, number + 1}
    lines.insert(number + 1, " " * (indent + 4 if item else indent) + tail)
    return 1, {number, number + 1}


def _wrap_one_line_docstring(lines: list[str], number: int) -> Step | None:
    line = lines[number]
    body = line.strip()
    if not (body.startswith('"""') and body.endswith('"""') and len(body) > 6):
        return None
    indent = " " * _indent(line)
    lines[number : number + 1] = [f'{indent}"""', f"{indent}{body[3:-3]}", f'{indent}"""']
    return 2, {number + 1}


def _wrap_literal(lines: list[str], number: int) -> Step | None:
    match = _LITERAL_LINE.match(lines[number])
    if match is None:
        return None
    indent, prefix, double, single, rest = match.groups()
    quote, body = ('"', double) if double is not None else ("'", single)
    room = LIMIT - len(indent) - len(prefix) - 2
    split = _split_at(body, room - 1, braces="f" in prefix.lower())
    if split is None:
        return None
    head, tail = split
    tail_prefix = prefix if "{" in tail else prefix.replace("f", "").replace("F", "")
    head_prefix = prefix if "{" in head else prefix.replace("f", "").replace("F", "")
    lines[number : number + 1] = [
        f"{indent}{head_prefix}{quote}{head} {quote}",
        f"{indent}{tail_prefix}{quote}{tail}{quote}{rest}",
    ]
    return 1, {number, number + 1}


# -- the sweep -----------------------------------------------------------------------------------


def rewrite(path: Path, text: str) -> str:
    """The text of *path* with every citation of the old file rewritten."""
    if path.suffix == ".md":
        return rewrite_markdown(text, path)
    before = text.split("\n")
    text = _CITATION.sub(_plain, text)
    if path.suffix in (".py", ".pyi"):
        after = text.split("\n")
        long_lines = {
            number
            for number, line in enumerate(after)
            if len(line) > LIMIT and (number >= len(before) or line != before[number])
        }
        text = wrap_python(text, long_lines)
    return text


def candidates(root: Path) -> Iterator[Path]:
    """The text files of the repository that may cite the old file."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            path = Path(folder) / name
            relative = path.relative_to(root).as_posix()
            if relative in SEARCHERS:
                continue
            if path.suffix in TEXT_SUFFIXES or (
                path.suffix == "" and path.parent.name == "scripts"
            ):
                yield path


def sweep(root: Path, *, write: bool, report: Callable[[str], object] = print) -> list[Path]:
    """Rewrite (or with ``write=False`` only find) the files citing the old file; return them."""
    changed = []
    for path in candidates(root):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if "API.md" not in text:
            continue
        changed.append(path)
        report(path.relative_to(root).as_posix())
        if write:
            path.write_text(rewrite(path, text), encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if needed")
    options = parser.parse_args(argv)
    changed = sweep(ROOT, write=not options.check)
    if options.check:
        return 1 if changed else 0
    print(f"{len(changed)} files rewritten; run ruff format and the tests.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
