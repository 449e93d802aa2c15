"""
docs/architecture.md stays true to the package, so that it cannot drift again as modules move.

- Its tree (the fenced blocks of the section "The tree") names every module of the package, and
  names no module that does not exist.
- Every module path it writes in backticks (``_http/session.py``, ``tests/test_layers.py``)
  exists, and every ``path.py:name`` names something that module defines (``Session._gated``,
  ``send_mass.send_chunk``: classes, functions, functions defined in functions, assignments),
  and every ``Class.member`` names a class of the package that has that member.
- Its signature listings (the ``<!-- fragment -->`` Python blocks, each headed by the module it
  lists) name classes, attributes and parameters the code has.
- It names no file outside the repository: every ``*.md`` it mentions is one of the repository's.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "miogram_async"
PAGE = ROOT / "docs" / "architecture.md"
FRAGMENT = "<!-- fragment -->"

# A tree line naming a module or a folder: its indentation (two spaces a level, shallow) and name.
_ENTRY = re.compile(r"^(?P<indent> {0,12})(?P<name>[\w.]+(?:\.py|/))(?: +\S.*)?$")
# Where a tree line's description goes on when it wraps: far right of any entry.
_CONTINUATION = re.compile(r"^ {20,}\S")
_SPAN = re.compile(r"`([^`]+)`")
# A module path, maybe with a name it defines, maybe called: ``_mass/send.py:send_mass(...)``.
_MODULE_REF = re.compile(r"^(?P<path>(?:[\w.-]+/)*[\w-]+\.py)(?::(?P<name>[\w.]+))?(?:\(.*\))?$")
# A class of the package and one of its members: ``Session._gated``, ``_Step.agent``.
_MEMBER_REF = re.compile(r"^(?P<cls>_?[A-Z]\w*)\.(?P<member>\w+)")
#: The classes the page names that are not the package's: httpx's client.
EXTERNAL_CLASSES = frozenset({"AsyncClient"})
_MD_FILE = re.compile(r"[\w./-]*\b[\w-]+\.md\b")
_FRAGMENT_MODULE = re.compile(r"^# (miogram_async/[\w/]+\.py)\b")


def page_text() -> str:
    """The page as it is."""
    return PAGE.read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The text of the ``## heading`` section of *text*, up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match is not None, f"no section {heading!r}"
    return match.group(1)


def fenced_blocks(text: str) -> Iterator[tuple[str, str, bool]]:
    """(language, code, whether marked a fragment) of every fenced block of *text*."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        if lines[index].startswith("```"):
            end = next(i for i in range(index + 1, len(lines)) if lines[i].strip() == "```")
            fragment = index > 0 and lines[index - 1].strip() == FRAGMENT
            yield lines[index][3:].strip(), "\n".join(lines[index + 1 : end]), fragment
            index = end
        index += 1


def tree_paths(block: str) -> list[str]:
    """
    The module paths (from the repository's root) a tree block names, in order.

    A line names a folder (``_base/``) or a module (``errors.py``), indented two spaces under its
    folder, with its description after it; a description wraps onto lines indented 20 spaces or
    more. Any other line is an error, so that a misplaced entry is never silently skipped.
    """
    folders: list[str] = []
    found: list[str] = []
    for number, line in enumerate(block.splitlines(), start=1):
        if not line.strip() or _CONTINUATION.match(line):
            continue
        entry = _ENTRY.match(line)
        assert entry is not None, f"line {number} of a tree block is not understood: {line!r}"
        indent, name = len(entry.group("indent")), entry.group("name")
        assert indent % 2 == 0, f"line {number}: odd indentation: {line!r}"
        depth = indent // 2
        assert depth <= len(folders), f"line {number}: indented under no folder: {line!r}"
        assert depth > 0 or name == "miogram_async/", f"line {number}: outside the package"
        folders = folders[:depth]
        if name.endswith("/"):
            folders.append(name.removesuffix("/"))
        else:
            found.append("/".join([*folders, name]))
    return found


def listed_modules() -> list[str]:
    """Every module path the page's tree names, from all its blocks."""
    tree = section(page_text(), "The tree")
    return [path for _, code, _ in fenced_blocks(tree) for path in tree_paths(code)]


def package_modules() -> set[str]:
    """Every Python module of the package, as a path from the repository's root."""
    return {path.relative_to(ROOT).as_posix() for path in PACKAGE.rglob("*.py")}


def defines(path: Path, qualname: str) -> bool:
    """Whether the module at *path* defines *qualname* (``Class.method``, ``function.inner``)."""
    body: list[ast.stmt] = ast.parse(path.read_text(encoding="utf-8")).body
    for part in qualname.split("."):
        found = next((node for node in _members(body) if part in _names(node)), None)
        if found is None:
            return False
        body = found.body if isinstance(found, ast.ClassDef | ast.FunctionDef) else []
        if isinstance(found, ast.AsyncFunctionDef):
            body = found.body
    return True


def _members(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of *body*, those inside its if, try and with blocks included."""
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.Try | ast.With):
            for block in ("body", "orelse", "finalbody"):
                yield from _members(getattr(node, block, []))


def _names(node: ast.stmt) -> set[str]:
    """The names *node* binds: a class or function's, or an assignment's targets."""
    if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {target.id for target in node.targets if isinstance(target, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def resolve(reference: str) -> str | None:
    """Why the backticked *reference* (``path.py`` or ``path.py:name``) is wrong, or ``None``."""
    match = _MODULE_REF.match(reference)
    assert match is not None
    candidates = [PACKAGE / match.group("path"), ROOT / match.group("path")]
    path = next((candidate for candidate in candidates if candidate.is_file()), None)
    if path is None:
        return f"{reference}: no such module"
    name = match.group("name")
    if name is not None and not defines(path, name):
        return f"{reference}: {path.relative_to(ROOT)} defines no {name}"
    return None


def prose_spans(text: str) -> list[str]:
    """The backticked spans of *text* outside its fenced blocks, each made one line."""
    prose = re.sub(r"^```.*?^```$", "", text, flags=re.M | re.S)
    return [" ".join(span.split()) for span in _SPAN.findall(prose)]


def module_references(text: str) -> list[str]:
    """Every backticked ``path.py`` or ``path.py:name`` of *text*'s prose."""
    return [span for span in prose_spans(text) if _MODULE_REF.match(span)]


def class_members() -> dict[str, set[str]]:
    """
    Every class of the package by name -> what its instances have: its methods, nested classes,
    class-level names and the attributes its methods set on ``self``.
    """
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            names = found.setdefault(node.name, set())
            for statement in node.body:
                names |= _names(statement)
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Attribute)
                    and isinstance(inner.ctx, ast.Store)
                    and isinstance(inner.value, ast.Name)
                    and inner.value.id == "self"
                ):
                    names.add(inner.attr)
    return found


def member_problems(spans: list[str], members: dict[str, set[str]]) -> list[str]:
    """What the ``Class.member`` spans among *spans* name that the package's classes lack."""
    problems: list[str] = []
    for span in spans:
        match = _MEMBER_REF.match(span)
        if match is None or match.group("cls") in EXTERNAL_CLASSES:
            continue
        cls, member = match.group("cls"), match.group("member")
        if cls not in members:
            problems.append(f"{span}: the package has no class {cls}")
        elif member not in members[cls]:
            problems.append(f"{span}: {cls} has no {member}")
    return problems


def parameter_names(listed: str) -> list[str]:
    """The parameter names of a listed signature's text between its parentheses."""
    names: list[str] = []
    depth, start = 0, 0
    pieces: list[str] = []
    for index, char in enumerate(listed):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            pieces.append(listed[start:index])
            start = index + 1
    pieces.append(listed[start:])
    for piece in pieces:
        word = re.match(r"\s*\**(\w+)", piece)
        if word is not None and word.group(1) != "self":
            names.append(word.group(1))
    return names


def listed_signature(line: str) -> tuple[str, list[str]] | None:
    """(name, parameter names) of a ``def name(...)`` line, or ``None`` for any other line."""
    match = re.match(r"\s*(?:async )?def (\w+)\(", line)
    if match is None:
        return None
    depth, index = 1, match.end()
    while depth:
        depth += {"(": 1, ")": -1}.get(line[index], 0)
        index += 1
    return match.group(1), parameter_names(line[match.end() : index - 1])


def real_parameters(function: object) -> list[str]:
    """The parameter names of *function* as the code has them, ``self`` left out."""
    assert callable(function)
    return [name for name in inspect.signature(function).parameters if name != "self"]


def has_attribute(cls: type, name: str) -> bool:
    """Whether *cls* has *name*: an attrs field, an annotated attribute, or any attribute."""
    if attrs.has(cls) and name in attrs.fields_dict(cls):
        return True
    annotated = any(name in getattr(base, "__annotations__", {}) for base in cls.__mro__)
    return annotated or hasattr(cls, name)


def fragment_problems(code: str) -> list[str]:
    """What a signature listing names that its modules do not have."""
    problems: list[str] = []
    module: object = None
    cls: type | None = None
    lines = code.splitlines()
    assert lines, "an empty fragment"
    assert _FRAGMENT_MODULE.match(lines[0]), "a fragment starts with its module"
    for line in lines:
        heading = _FRAGMENT_MODULE.match(line)
        if heading is not None:
            dotted = heading.group(1).removesuffix(".py").replace("/", ".")
            module, cls = importlib.import_module(dotted), None
            continue
        if not line.strip() or line.lstrip().startswith(("#", "@")):
            continue
        indented = line[0].isspace()
        if not indented:
            cls = None
        signature = listed_signature(line)
        if signature is not None:
            name, listed = signature
            owner = cls if indented and cls is not None else module
            function = getattr(owner, name, None)
            if function is None:
                problems.append(f"{name}: not in {owner}")
            elif listed != real_parameters(function):
                problems.append(f"{name}{tuple(listed)}: the code has {real_parameters(function)}")
            continue
        declared = re.match(r"class (\w+)\b[^:]*:\s*(.*)$", line)
        if declared is not None:
            cls = getattr(module, declared.group(1), None)
            if cls is None:
                problems.append(f"class {declared.group(1)}: not in {module}")
                continue
            members = declared.group(2).split("#")[0]
            problems += [
                f"{cls.__name__}.{member}: no such member"
                for member in re.findall(r"\w+", members)
                if not hasattr(cls, member)
            ]
            continue
        attribute = re.match(r"\s*(\w+):", line)
        if attribute is None:
            continue
        if indented and cls is not None:
            if not has_attribute(cls, attribute.group(1)):
                problems.append(f"{cls.__name__}.{attribute.group(1)}: no such attribute")
        elif not indented and not hasattr(module, attribute.group(1)):
            problems.append(f"{attribute.group(1)}: not in {module}")
    return problems


def fragments() -> list[str]:
    """The page's signature listings."""
    return [code for language, code, fragment in fenced_blocks(page_text()) if fragment]


# -- the tree ------------------------------------------------------------------------------------


def test_the_tree_names_every_module_of_the_package() -> None:
    """Every Python module under miogram_async/ is named in the page's tree."""
    assert sorted(package_modules() - set(listed_modules())) == []


def test_the_tree_names_only_modules_that_exist_and_each_once() -> None:
    """Every module the tree names exists, and none is named twice."""
    listed = listed_modules()
    assert len(listed) > 100
    assert sorted(set(listed) - package_modules()) == []
    assert sorted({path for path in listed if listed.count(path) > 1}) == []


def test_the_tree_reader_follows_folders_and_refuses_what_it_cannot_read() -> None:
    """Nesting gives the paths; a module added but not listed, or a stray line, is caught."""
    block = (
        "miogram_async/\n"
        "  _base/\n"
        "    errors.py         the error tree, a description that goes on\n"
        "                      on a second line\n"
        "  campaign/\n"
        "    storage/\n"
        "      _sqlite/\n"
        "        _sql.py       statements\n"
        "    _hooks.py         hooks\n"
        "  _client.py          MioGram\n"
    )
    assert tree_paths(block) == [
        "miogram_async/_base/errors.py",
        "miogram_async/campaign/storage/_sqlite/_sql.py",
        "miogram_async/campaign/_hooks.py",
        "miogram_async/_client.py",
    ]
    present = {*tree_paths(block), "miogram_async/_base/new.py"}
    assert present - set(tree_paths(block)) == {"miogram_async/_base/new.py"}
    for stray in ("miogram_async/\n      deep.py  under no folder\n", "_client.py  outside\n"):
        with pytest.raises(AssertionError):
            tree_paths(stray)
    with pytest.raises(AssertionError):
        tree_paths("miogram_async/\n  _base/\n   errors.py  odd indentation\n")


# -- names in backticks --------------------------------------------------------------------------


def test_every_module_path_and_name_the_page_writes_exists() -> None:
    """Each backticked path.py exists, and each path.py:name names what that module defines."""
    references = module_references(page_text())
    assert len(references) > 100
    assert [problem for ref in references if (problem := resolve(ref)) is not None] == []


def test_the_walks_name_their_steps_by_module_and_function() -> None:
    """The Mass send and the campaign run are walked through named functions of the package."""
    text = page_text()
    for heading in ("A Mass send, frame by frame", "A campaign run, frame by frame"):
        steps = section(text, heading)
        named = [ref for ref in module_references(steps) if ":" in ref]
        assert len(named) >= 20, heading
        assert re.findall(r"^\d+\. `", steps, re.M), heading


def test_the_reference_check_finds_nested_names_and_refuses_missing_ones() -> None:
    """Methods, inner functions and constants resolve; a moved module or a lost name does not."""
    assert resolve("_http/session.py:Session._gated") is None
    assert resolve("_mass/send.py:send_mass.send_chunk") is None
    assert resolve("campaign/_pace.py:PaceKeeper.progress.report") is None
    assert resolve("_base/errors.py:ERROR_CLASSES") is None
    assert resolve("tests/test_layers.py") is None
    assert resolve("_session.py") is not None
    assert resolve("_errors.py:ERROR_CLASSES") is not None
    assert resolve("_http/session.py:Session._no_such_step") is not None
    assert resolve("_mass/send.py:send_mass.no_such_closure") is not None
    assert resolve("_runner.py:through_gate(client, send_gate)") is None
    assert resolve("_runner.py:no_such_gate(client)") is not None


def test_every_class_member_the_page_names_exists() -> None:
    """Each backticked Class.member names a class of the package that has that member."""
    spans = prose_spans(page_text())
    named = [span for span in spans if _MEMBER_REF.match(span)]
    assert len(named) > 100
    assert member_problems(spans, class_members()) == []


def test_the_member_check_refuses_a_lost_member_or_class() -> None:
    """Methods, fields and attributes set on self pass; a missing member or class is reported."""
    members = class_members()
    good = ["Session._gated", "GatewayPace.first_agent", "MassOptions.watch", "_Step.agent"]
    assert member_problems([*good, "AsyncClient.send(stream=True)", "plain text"], members) == []
    bad = ["Session._no_such_step", "Fanout.work", "JournalHooks.chunk_begun"]
    assert len(member_problems(bad, members)) == len(bad)


# -- signature listings --------------------------------------------------------------------------


def test_the_signature_listings_name_what_the_code_has() -> None:
    """Every class, attribute and parameter a fragment lists is the code's."""
    listings = fragments()
    assert listings
    assert [problem for code in listings for problem in fragment_problems(code)] == []


def test_the_listing_check_sees_a_wrong_parameter_or_attribute() -> None:
    """A renamed parameter, a lost field or a missing enum member is reported."""
    listing = (
        "# miogram_async/_base/validation.py\n"
        "def check_message(message: str, *, max_bytes: int | None = None, ad_bytes: int = 0)\n"
        "def normalize_phone(phone: str, *, default_region: str | None = 'IR') -> str\n"
        "@attrs.frozen\n"
        "class Media:\n"
        "    data_b64: str\n"
        "    checksum: str\n"
        "# miogram_async/_base/actions.py\n"
        "class Retry(Enum): READ_ONLY, SOMETIMES\n"
    )
    problems = fragment_problems(listing)
    assert len(problems) == 3, problems
    assert [p.split("(")[0].split(":")[0] for p in problems] == [
        "check_message",
        "Media.checksum",
        "Retry.SOMETIMES",
    ]


# -- files ---------------------------------------------------------------------------------------


def test_the_page_names_no_file_outside_the_repository() -> None:
    """Every .md file the page names is the repository's; the outside spec files are never named."""
    text = page_text()
    assert "SURFACE.md" not in text
    assert "API.md" not in text
    named = set(_MD_FILE.findall(text))
    assert "docs/service.md" in named
    missing = [
        name
        for name in sorted(named)
        if not (ROOT / name).is_file() and not (PAGE.parent / name).is_file()
    ]
    assert missing == []
