"""The action table: one row per Func and per method, and every per-action rule read from it."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from miogram_async import MioGram
from miogram_async._base import actions
from miogram_async._base.actions import ACTIONS, BY_FUNC, Action, Retry, row_for
from miogram_async._base.wire import as_json
from miogram_async._http.retry import NEVER_RETRIED, READ_ONLY_FUNCS

PACKAGE = Path(__file__).resolve().parent.parent / "miogram_async"

# Methods of MioGram that are not actions of the document.
NOT_ACTIONS = {"call", "load_limits", "aclose", "settle_unknown"}


def action_methods() -> dict[str, object]:
    """The public coroutine methods of MioGram that send one action each."""
    return {
        name: member
        for name, member in vars(MioGram).items()
        if not name.startswith("_")
        and inspect.iscoroutinefunction(member)
        and name not in NOT_ACTIONS
    }


def row_names() -> dict[int, str]:
    """The module-level name of every row, by the row's id."""
    return {id(value): name for name, value in vars(actions).items() if isinstance(value, Action)}


def test_there_are_43_rows_in_document_order_one_per_func() -> None:
    """43 rows, funcs unique, BY_FUNC maps each func to its row in the same order."""
    assert len(ACTIONS) == 43
    assert list(BY_FUNC) == [row.func for row in ACTIONS]
    assert all(BY_FUNC[row.func] is row for row in ACTIONS)
    assert ACTIONS[0].func == "SetStatusOnline"
    assert ACTIONS[-1].func == "APIGetReport"


def test_each_row_has_exactly_one_method_and_each_method_one_row() -> None:
    """The rows' methods are exactly MioGram's action methods, each sending its own row only."""
    methods = action_methods()
    assert sorted(row.method for row in ACTIONS) == sorted(methods)
    names = row_names()
    for row in ACTIONS:
        source = inspect.getsource(methods[row.method])  # type: ignore[arg-type]
        used = set(re.findall(r"actions\.([A-Z_]+)\b", source))
        assert used == {names[id(row)]}, row.method


def test_every_method_ends_in_one_run_of_its_row() -> None:
    """Each action method's last statement is one `return await self._run...(actions.ROW, ...)`."""
    for name, method in action_methods().items():
        tree = ast.parse(inspect.getsource(method).strip())  # type: ignore[arg-type]
        function = tree.body[0]
        assert isinstance(function, ast.AsyncFunctionDef)
        last = function.body[-1]
        assert isinstance(last, ast.Return), name
        assert isinstance(last.value, ast.Await), name
        call = last.value.value
        assert isinstance(call, ast.Call), name
        assert isinstance(call.func, ast.Attribute), name
        assert call.func.attr in {"_run", "_run_media", "_run_mass"}, name
        runs = [
            node
            for node in ast.walk(function)
            if isinstance(node, ast.Attribute) and node.attr.startswith("_run")
        ]
        assert len(runs) == 1, name


def test_retry_classes_follow_the_state_they_change() -> None:
    """Read-only rows change nothing; the secret-bearing row is never retried; others if unsent."""
    for row in ACTIONS:
        assert (row.retry is Retry.READ_ONLY) is (not row.changes_state), row.func
        assert (row.retry is Retry.NEVER) is row.secret_bearing, row.func
    assert {row.func for row in ACTIONS if not row.changes_state} == READ_ONLY_FUNCS
    assert len(READ_ONLY_FUNCS) == 14
    assert {actions.API_CHANGE_SECRET.func} == NEVER_RETRIED


def test_media_mass_and_not_found_rules_sit_on_the_rows() -> None:
    """Media rows name a limit and a format; Mass rows decode per chunk; 307 is False for sends."""
    for row in ACTIONS:
        assert (row.media is None) is (row.default_format is None), row.func
        assert (row.decode is None) is row.mass, row.func
        assert row.mass is row.func.endswith("Mass"), row.func
    formats = {row.func: row.default_format for row in ACTIONS if row.media is not None}
    assert formats == {
        "SetProfilePhoto": "jpg",
        "SendPhoto": "jpg",
        "SendVideo": "mp4",
        "SendAudio": "mp3",
        "SendText": "txt",
        "SendFile": "zip",
        "SendDocument": "doc",
        "SendPhotoMass": "jpg",
        "SendVideoMass": "mp4",
        "SendFileMass": "zip",
    }
    limits = {row.func: row.media for row in ACTIONS if row.media not in (None, "file")}
    assert limits == {
        "SetProfilePhoto": "photo",
        "SendPhoto": "photo",
        "SendPhotoMass": "photo",
        "SendVideo": "video",
        "SendVideoMass": "video",
    }
    not_found_false = {row.func for row in ACTIONS if row.not_found_is_false}
    assert not_found_false == {
        "SendTyping",
        "ChatAddUser",
        "ChatDeleteUser",
        "BlockUser",
        "UnBlockUser",
        "MarkRead",
        "SendMessage",
        "SendMessageWhatsApp",
        "SendPhoto",
        "SendVideo",
        "SendAudio",
        "SendText",
        "SendFile",
        "SendDocument",
        "SendLocation",
        "SendContact",
    }


def test_an_undocumented_func_gets_a_state_changing_raw_row() -> None:
    """call() with a Func the table lacks: raw JSON, changes state, retried only when unsent."""
    row = row_for("SendSticker")
    assert row.func == "SendSticker"
    assert row.decode is as_json
    assert row.changes_state
    assert row.retry is Retry.UNSENT_ONLY
    assert not row.secret_bearing
    assert row_for("SendMessage") is actions.SEND_MESSAGE


def test_rows_are_frozen() -> None:
    """A row cannot be changed at run time."""
    with pytest.raises(AttributeError):
        actions.SEND_MESSAGE.retry = Retry.READ_ONLY  # type: ignore[misc]


def _package_sources() -> dict[str, str]:
    return {
        str(path.relative_to(PACKAGE)): path.read_text(encoding="utf-8")
        for path in PACKAGE.rglob("*.py")
    }


def test_the_secret_action_is_named_in_the_table_only() -> None:
    """Outside testing/, the wire name of the secret-changing action is written in _actions only."""
    naming = sorted(
        name
        for name, text in _package_sources().items()
        if '"APIChangeSecret"' in text and not name.startswith("testing")
    )
    assert naming == ["_base/actions.py"]


def test_no_private_httpx_api_is_used() -> None:
    """Neither the package, the tests nor the benchmarks import httpx's private modules."""
    root = PACKAGE.parent
    for path in [
        *root.joinpath("miogram_async").rglob("*.py"),
        *root.joinpath("benchmarks").rglob("*.py"),
    ]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import) httpx\._", text, re.MULTILINE), path
        assert "_transport_for" + "_url" not in text, path


def _module_name(package: Path, path: Path) -> str:
    """The dotted name of the module at *path* in *package* (a package is its ``__init__``)."""
    parts = [package.name, *path.relative_to(package).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph(package: Path) -> dict[str, set[str]]:
    """
    Every module of *package*, subpackages included -> the modules of *package* it imports.

    Relative and absolute imports count wherever they are (TYPE_CHECKING blocks, functions);
    ``from pkg import name`` imports the module ``pkg.name`` when there is one, else ``pkg``.
    """
    paths = {_module_name(package, path): path for path in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        own = (name if path.name == "__init__.py" else name.rpartition(".")[0]).split(".")
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                target = node.module or ""
                if node.level:
                    base = own[: len(own) - node.level + 1]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                for alias in node.names:
                    submodule = f"{target}.{alias.name}"
                    found.add(submodule if submodule in paths else target)
        graph[name] = (found & paths.keys()) - {name}
    return graph


def _a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of *graph* (its modules in order, the first again at the end), or None."""
    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> list[str] | None:
        if name in trail:
            return [*trail[trail.index(name) :], name]
        if name in done:
            return None
        for imported in sorted(graph[name]):
            found = visit(imported, (*trail, name))
            if found is not None:
                return found
        done.add(name)
        return None

    for name in sorted(graph):
        found = visit(name, ())
        if found is not None:
            return found
    return None


def test_errors_is_a_leaf_and_no_module_of_any_subpackage_is_in_an_import_cycle() -> None:
    """_errors imports nothing of the package; no import cycle anywhere, type-only ones included."""
    graph = _import_graph(PACKAGE)
    packages = {
        _module_name(PACKAGE, path.parent / "__init__.py") for path in PACKAGE.rglob("*.py")
    }
    assert {"miogram_async.campaign.storage._sqlite", "miogram_async.cli"} <= packages
    assert {name.rpartition(".")[0] for name in graph if name not in packages} == packages
    assert graph["miogram_async._base.errors"] == set()
    cycle = _a_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])
    assert "miogram_async._direct" not in graph


def test_the_cycle_check_sees_a_type_checking_cycle_deep_in_a_subpackage(tmp_path: Path) -> None:
    """A cycle across two subpackage levels, closed only by a TYPE_CHECKING import, is found."""
    deep = tmp_path / "pkg" / "sub" / "deep"
    deep.mkdir(parents=True)
    for package in (tmp_path / "pkg", deep.parent, deep):
        (package / "__init__.py").write_text("", encoding="utf-8")
    (deep / "_a.py").write_text("from ._b import B\n", encoding="utf-8")
    closing = "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from .. import _c\n"
    (deep / "_b.py").write_text(f"{closing}B = 1\n", encoding="utf-8")
    (deep.parent / "_c.py").write_text("from .deep import _a\n", encoding="utf-8")
    assert _a_cycle(_import_graph(tmp_path / "pkg")) == [
        "pkg.sub._c",
        "pkg.sub.deep._a",
        "pkg.sub.deep._b",
        "pkg.sub._c",
    ]
    (deep / "_b.py").write_text("B = 1\n", encoding="utf-8")
    assert _a_cycle(_import_graph(tmp_path / "pkg")) is None
