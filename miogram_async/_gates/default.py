"""
The send gate a client takes when it names none, and the gates a text names.

The gateway breaks when two state-changing requests are in flight at once, from whichever
processes (docs/service.md E33), and a web service runs several processes (``uvicorn --workers
4``, gunicorn, several scripts on one host) each with its own client. So the default gate is not
the client's alone: `choose_gate` picks, in this order,

1. ``send_gate=`` a `SendGate`: that one (the caller's; the client does not close it);
2. ``send_gate=`` a text, else ``MIOGRAM_SEND_GATE``: ``local`` (`LocalSendGate`, this client
   only), a directory (`FileSendGate`, the processes of one host) or a ``postgresql://`` URL
   (`PostgresSendGate`, any machines), with ``concurrency`` slots (`gate_from_text`);
3. ``concurrency`` above 1, the explicit opt-in to parallel requests: `LocalSendGate` of that
   capacity, as before;
4. the machine-wide gate of the service's URL (`machine_gate`): a `FileSendGate` in the user's
   runtime directory (``$XDG_RUNTIME_DIR/miogram-async/send-gates``) or else cache directory
   (``$XDG_CACHE_HOME``, ``~/.cache``, ``~/Library/Caches`` on macOS), made 0700; every process
   of the user on the host that talks to the same service shares it;
5. where no such folder can be used (no home, a read-only one, not the user's own, Windows): the
   client's `LocalSendGate`, with one WARNING per process saying what that means.

A gate the package makes waits the client's ``dead_holder_wait`` after a holder that died holding
it: the longest the dead holder's request may keep the gateway busy (E32), the same estimate as
the drain after an unknown outcome of a request of `REQUEST_NUMBERS_MAX` numbers while nothing is
known of the gateway's pace (`miogram_async._http.pace.dead_holder_wait`, E49).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import socket
import stat
import sys
import urllib.parse
from pathlib import Path
from typing import Final

import attrs

from .._base.errors import ValidationError
from .._base.log import logger
from .._base.pg import is_database_url, url_problem
from .base import LocalSendGate, SendGate
from .file import FileSendGate
from .postgres import PostgresSendGate
from .stack import StackedSendGate

__all__ = [
    "ENV",
    "FILE_GATE_MAX_POLL",
    "LOCAL",
    "NAMED_GATE",
    "REQUEST_NUMBERS_MAX",
    "GateChoice",
    "choose_gate",
    "gate_from_text",
    "gate_identity",
    "machine_gate",
    "machine_gate_folder",
    "machine_gate_name",
]

#: The environment variable that names the gate of every client and command of an environment.
ENV: Final = "MIOGRAM_SEND_GATE"
#: The text that asks for a client's own in-process gate (``send_gate="local"``).
LOCAL: Final = "local"
#: The most numbers one request carries (a Mass chunk: the service's batch, E32).
REQUEST_NUMBERS_MAX: Final = 100
#: The gate name of a directory or database named by a text: one for every account and service.
NAMED_GATE: Final = "default"
#: The longest pause between two tries of a waiter at a file gate the package makes: a try is a
#: few system calls, and a shorter pause hands the slot on sooner (`benchmarks/bench_gate.py`).
FILE_GATE_MAX_POLL: Final = 0.01

_FOLDER_PARTS: Final = ("miogram-async", "send-gates")
_WARNED: set[str] = set()


@attrs.frozen
class GateChoice:
    """
    The gate a client's state-changing requests pass, and how it was chosen.

    Attributes:
        gate: the gate.
        named: the user named a gate that reaches beyond this process (``send_gate=`` a gate
            other than a `LocalSendGate`, a directory or URL, or ``MIOGRAM_SEND_GATE``); a
            PostgreSQL campaign then runs through it rather than through its own.
        owned: the client made it and closes it.
        how: ``"given"``, ``"named"``, ``"environment"``, ``"local"``, ``"concurrency"``,
            ``"machine"`` or ``"fallback"``.
    """

    gate: SendGate
    named: bool
    owned: bool
    how: str


def choose_gate(
    send_gate: SendGate | str | None,
    *,
    base_url: str,
    concurrency: int,
    dead_holder_wait: float,
) -> GateChoice:
    """
    The gate of a client with these options (see the module's notes for the order); a gate it
    makes waits *dead_holder_wait* seconds after a holder that died holding it.

    Raises:
        ValidationError: *send_gate* or ``MIOGRAM_SEND_GATE`` names no usable gate.
    """
    wait = dead_holder_wait
    if isinstance(send_gate, SendGate):
        return GateChoice(send_gate, not isinstance(send_gate, LocalSendGate), False, "given")
    source = "send_gate"
    text = send_gate
    if text is None:
        source, text = ENV, (os.environ.get(ENV) or "").strip() or None
    if text is not None:
        gate = gate_from_text(text, limit=concurrency, dead_holder_wait=wait, source=source)
        local = isinstance(gate, LocalSendGate)
        how = "local" if local else ("environment" if source == ENV else "named")
        return GateChoice(gate, not local, not local, how)
    if concurrency > 1:
        return GateChoice(LocalSendGate(concurrency), False, False, "concurrency")
    machine = machine_gate(base_url, dead_holder_wait=wait)
    if isinstance(machine, FileSendGate):
        return GateChoice(machine, False, True, "machine")
    _warn_once(machine)
    return GateChoice(LocalSendGate(concurrency), False, False, "fallback")


def gate_from_text(
    text: str, *, limit: int = 1, dead_holder_wait: float = 120.0, source: str = ""
) -> SendGate:
    """
    The gate *text* names: ``local``, a ``postgresql://`` URL or an existing directory.

    Raises:
        ValidationError: *text* is none of them (its message starts with *source* when given,
            and never quotes a URL).
    """
    value = text.strip()
    if value.lower() == LOCAL:
        return LocalSendGate(limit)
    problem: str | None = None
    if is_database_url(value):
        problem = url_problem(value)
        if problem is None:
            return PostgresSendGate(
                value, name=NAMED_GATE, limit=limit, dead_holder_wait=dead_holder_wait
            )
        problem = (
            f"the postgresql:// URL is malformed: {problem} (not shown: it may hold a password)"
        )
    elif "://" in value:  # never echoed: a URL may carry a password
        problem = (
            "expected 'local', a postgresql:// URL or an existing directory, got a "
            f"{value.split('://', 1)[0]}:// URL"
        )
    elif not Path(value).is_dir():
        problem = f"expected 'local', a postgresql:// URL or an existing directory, got {value!r}"
    if problem is not None:
        raise ValidationError(f"{source}: {problem}" if source else problem)
    return FileSendGate(
        value,
        name=NAMED_GATE,
        limit=limit,
        max_poll=FILE_GATE_MAX_POLL,
        dead_holder_wait=dead_holder_wait,
    )


def machine_gate_name(base_url: str) -> str:
    """The name of the machine-wide gate of the service at *base_url* (its host and a digest)."""
    try:
        parts = urllib.parse.urlsplit(base_url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        host, port = "", None
    label = re.sub(r"[^a-z0-9.-]+", "-", host).strip(".-")[:60] or "service"
    if port in (80, 443):
        port = None
    if port is not None:
        label += f"-{port}"
    # http and https, and a default port written or not, reach one service.
    path = urllib.parse.urlsplit(base_url).path if host else base_url
    digest = hashlib.sha256(f"{host}:{port or ''}{path}".encode()).hexdigest()[:10]
    return f"{label}-{digest}"


def machine_gate(base_url: str, *, dead_holder_wait: float) -> FileSendGate | str:
    """The machine-wide gate of *base_url*, or why there is none (for the warning)."""
    folder = machine_gate_folder()
    if isinstance(folder, str):
        return folder
    gate = FileSendGate(folder, name=machine_gate_name(base_url), dead_holder_wait=dead_holder_wait)
    gate._remake_folder = True  # a folder removed while in use (a logout, a cleaner) comes back
    return gate


def machine_gate_folder() -> Path | str:
    """The folder of the machine-wide gates (made 0700 if need be), or why none can be used."""
    return _folder(
        os.environ.get("XDG_RUNTIME_DIR"), os.environ.get("XDG_CACHE_HOME"), str(Path.home())
    )


@functools.lru_cache(maxsize=8)
def _folder(runtime: str | None, cache: str | None, home: str) -> Path | str:
    # Once per process and environment: a client's construction costs no file system calls.
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        return "Windows has no flock"
    candidates: list[Path] = []
    if runtime and os.path.isabs(runtime):
        candidates.append(Path(runtime))
    if cache and os.path.isabs(cache):
        candidates.append(Path(cache))
    elif sys.platform == "darwin":
        candidates.append(Path(home) / "Library" / "Caches")
    else:
        candidates.append(Path(home) / ".cache")
    reasons: list[str] = []
    for base in candidates:
        folder = base.joinpath(*_FOLDER_PARTS)
        problem = _make_private(folder)
        if problem is None:
            return folder
        reasons.append(f"{folder}: {problem}")
    return "; ".join(reasons)


def _make_private(folder: Path) -> str | None:
    """Make *folder* (0700, the user's own) if need be; what stands in the way, or None."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        found = os.lstat(folder)
        if not stat.S_ISDIR(found.st_mode):
            return "not a directory"
        if found.st_uid != os.geteuid():
            return "it belongs to another user"
        if stat.S_IMODE(found.st_mode) & 0o077:
            os.chmod(folder, 0o700)
        if not os.access(folder, os.W_OK | os.X_OK):
            return "not writable"
    except OSError as exc:
        text = exc.strerror or type(exc).__name__
        return text[:1].lower() + text[1:]
    return None


def _warn_once(reason: str) -> None:
    if reason in _WARNED:
        return
    _WARNED.add(reason)
    logger.warning(
        "no machine-wide send gate (%s): each client keeps its own requests one at a time, but "
        "other processes on this host that send through the same service are not held back, "
        "and two requests in flight at once break its gateway (docs/service.md E33); set "
        "MIOGRAM_SEND_GATE to a directory every process can write, or a postgresql:// URL",
        reason,
    )


def gate_identity(gate: SendGate) -> str:
    """
    Which gate *gate* is, in words that compare equal for the same gate in any process.

    A PostgreSQL gate is its database (host, port, name) and gate name, whatever user connects;
    a file gate its host, folder and name. Never a password.
    """
    if isinstance(gate, StackedSendGate):
        return gate_identity(gate.inner)
    if isinstance(gate, PostgresSendGate):
        return f"{gate.database} gate {gate.name!r}"
    if isinstance(gate, FileSendGate):
        return f"folder {socket.gethostname()}:{gate.folder} gate {gate.name!r}"
    if isinstance(gate, LocalSendGate):
        return "an in-process gate"
    return f"a {type(gate).__qualname__}"
