"""
The ground rules of the package's layers, checked on the source (issue 17): the core imports no
package above it, no literal 999 judges an outcome, no other package calls the client's private
``_run*`` machinery, no context variable carries the request path, and tests import public names.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

PACKAGE = Path(__file__).resolve().parent.parent / "miogram_async"
TESTS = Path(__file__).resolve().parent

#: The packages above the core: users of `MioGram`, never imported by it.
ABOVE_THE_CORE = ("campaign", "cli", "testing")

#: The only places 999 is written as a number, each with the name of what holds it. The error
#: table and the wire decoder's table of service texts name the code itself; the fake service's
#: reply table names it the way the server's script answers it (the fake models the server and
#: does not ask the SDK's judgement). One other meaning of 999 exists: the most report records
#: one APIGetReport asks for (A20), a count unrelated to the error, kept in one named constant.
NINE_NINE_NINE = {
    ("_base/errors.py", "ERROR_CLASSES"),
    ("_base/wire.py", "_TEXT_CODES"),
    ("testing/_replies.py", "NO_RESPONSE"),
    ("_base/validation.py", "REPORT_MAX"),
}

#: The tiers of the core, bottom up: each imports only from the tiers below it (and from itself).
#: The flat ``_*.py`` modules at the root (the client and what its methods end in) are the top.
TIERS = ("_base", "_gates", "_http", "_mass")

#: The client's private machinery that every action method ends in (`_runner.ActionRunner`).
RUN_METHODS = ("_run", "_run_media", "_run_mass")


def core_modules() -> dict[str, Path]:
    """
    The core: the modules of the tiers (`TIERS`) and the flat ``_*.py`` modules at the root, by
    dotted name (``_http.session``, ``_client``). The package's ``__init__`` (the public surface,
    which re-exports the campaign's names) and ``__main__`` (``python -m miogram_async`` runs the
    CLI) are its entry points, not core.
    """
    found = {
        path.stem: path for path in sorted(PACKAGE.glob("_*.py")) if not path.stem.startswith("__")
    }
    for tier in TIERS:
        for path in sorted((PACKAGE / tier).glob("*.py")):
            found[f"{tier}.{path.stem}"] = path
    return found


def tier_of(dotted: str) -> int:
    """The rank of the core module *dotted* (0 is `_base`); the root modules rank above all."""
    first = dotted.split(".", maxsplit=1)[0]
    return TIERS.index(first) if first in TIERS else len(TIERS)


def package_files() -> Iterator[Path]:
    """Every Python file of the package."""
    yield from sorted(PACKAGE.rglob("*.py"))


def imported_modules(path: Path, root: Path = PACKAGE) -> set[str]:
    """
    The package modules *path* imports, dotted from the package *root* (``campaign._postgres``),
    ``TYPE_CHECKING`` and function-level imports included.
    """
    here = path.relative_to(root).parent.parts
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
            found.update(
                name.removeprefix("miogram_async.") for name in names if name != "miogram_async"
            )
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = ".".join(here[: len(here) - (node.level - 1)] if node.level > 1 else here)
        elif (node.module or "").startswith("miogram_async"):
            base = ""
        else:
            continue
        module = (node.module or "").removeprefix("miogram_async").lstrip(".")
        dotted = ".".join(part for part in (base, module) if part)
        if dotted:
            found.add(dotted)
        # ``from . import campaign`` / ``from .campaign import _x``: the names may be modules too.
        found.update(f"{dotted}.{alias.name}".lstrip(".") for alias in node.names)
    return found


def is_package_module(dotted: str) -> bool:
    """Whether *dotted* (from the package root) names a module or subpackage of the package."""
    path = PACKAGE.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_no_core_module_imports_campaign_cli_or_testing() -> None:
    """The core modules import nothing from campaign/, cli/ or testing/, type-only imports too."""
    leaks = {
        (name, imported)
        for name, path in core_modules().items()
        for imported in imported_modules(path)
        if imported.split(".")[0] in ABOVE_THE_CORE and is_package_module(imported)
    }
    assert leaks == set()


def test_every_tier_imports_only_from_the_tiers_below_it() -> None:
    """_base imports no other tier, _gates only _base, _http those two, _mass those three."""
    assert set(TIERS) == {path.name for path in PACKAGE.glob("_*") if path.is_dir()}
    upward = {
        (name, imported)
        for name, path in core_modules().items()
        for imported in imported_modules(path)
        if is_package_module(imported)
        and imported.split(".")[0].startswith("_")
        and not imported.startswith("__")
        and tier_of(imported) > tier_of(name)
    }
    assert upward == set()


def test_the_import_scan_sees_every_form_of_import(tmp_path: Path) -> None:
    """The scan finds relative, absolute, package-level and TYPE_CHECKING imports alike."""
    module = tmp_path / "campaign" / "_x.py"
    module.parent.mkdir()
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "import miogram_async.cli._run\n"
        "from .._errors import APIError\n"
        "from ._model import NumberState\n"
        "from . import _hooks\n"
        "from miogram_async.testing import FakeMioGram\n"
        "if TYPE_CHECKING:\n"
        "    from .._client import MioGram\n"
        "def later():\n"
        "    from ..cli import _exit\n",
        encoding="utf-8",
    )
    found = imported_modules(module, root=tmp_path)
    expected = {
        "cli._run",
        "_errors",
        "campaign._model",
        "campaign._hooks",
        "testing",
        "_client",
        "cli",
        "cli._exit",
    }
    assert expected <= found


def _constant_owner(tree: ast.Module, target: ast.Constant) -> str | None:
    """The name the top-level assignment holding *target* binds, if any."""
    for statement in tree.body:
        if not any(node is target for node in ast.walk(statement)):
            continue
        if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
            return statement.targets[0].id
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            return statement.target.id
        return None
    return None


def test_no_literal_999_outside_the_error_table_and_the_wire_decoder() -> None:
    """999 is written as a number only in the tables that name it (and once as a report count)."""
    found: set[tuple[str, str | None]] = set()
    for path in package_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and type(node.value) is int and node.value == 999:
                found.add((path.relative_to(PACKAGE).as_posix(), _constant_owner(tree, node)))
    assert found == NINE_NINE_NINE


def test_campaign_and_cli_call_no_private_run_of_the_client() -> None:
    """No module of campaign/ or cli/ reaches the client's _run, _run_media or _run_mass."""
    for package in ("campaign", "cli"):
        for path in sorted((PACKAGE / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr.startswith(RUN_METHODS):
                    # A class's own method of the same name (Campaign._run) is its own business.
                    owner = node.value
                    where = f"{path.name}:{node.lineno} reaches {node.attr}"
                    assert isinstance(owner, ast.Name), where
                    assert owner.id == "self", where
                if isinstance(node, ast.ImportFrom):
                    names = {alias.name for alias in node.names}
                    assert "ActionRunner" not in names, f"{path.name}:{node.lineno}"


def test_no_context_variable_carries_the_request_path() -> None:
    """No core module declares a ContextVar: what a request needs is passed down as a value."""
    for name, path in core_modules().items():
        source = path.read_text(encoding="utf-8")
        assert "ContextVar" not in source, name
        assert "contextvars" not in source, name


def _public_names(module: ModuleType) -> set[str]:
    declared = getattr(module, "__all__", None)
    assert declared is not None, f"{module.__name__} declares no __all__"
    return set(declared)


def test_tests_import_only_public_names() -> None:
    """
    Every name a test imports from the package is one its module declares (in ``__all__``).

    The rule: a test reaches what a module offers, never what it keeps to itself. A test may name
    a private module (``miogram_async._base.wire``) to test that module's own interface, the unit
    under test, and may import a module as a whole; every name it imports from a module is in
    that module's ``__all__``, and so never starts with an underscore. What a test needs of a
    module (a reference implementation a fast path must equal, the state of one fan-out) is made
    part of the module's declared interface, or reached through it.
    """
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.level:
                continue
            if not (node.module or "").startswith("miogram_async"):
                continue
            assert node.module is not None
            module = importlib.import_module(node.module)
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if hasattr(module, "__path__") and _is_module(submodule):
                    continue  # a module imported as a whole
                assert alias.name in _public_names(module), (
                    f"{path.name}:{node.lineno} imports {alias.name} from {node.module}"
                )


def _is_module(dotted: str) -> bool:
    try:
        importlib.import_module(dotted)
    except ImportError:
        return False
    return True
