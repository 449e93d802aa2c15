"""
Settings and fixtures shared by the whole test suite: the client's time base against the instant
fake, and one real PostgreSQL server for the whole test session.

The server comes from the ``pgserver`` package (a dev dependency: its wheel ships the PostgreSQL
binaries), so no system package is assumed. It listens on a unix socket in a fresh directory only,
never on a network port. PostgreSQL refuses to run as root; as root (CI), pgserver runs it as a
system user ``pgserver`` it creates with ``useradd``. If the server cannot start within the bound,
the tests that need it fail (never skip).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The fake's default time model is instant: it takes no time and has no front's wait to speak of,
# so `FakeMioGram.client()` leaves the client its own `front_wait` (E32). Against it the suite runs
# the client as against a service twenty times faster than the real one: every time the client
# plans with is a share of `front_wait` (the slow pace it assumes while it has measured none, the
# drain after an unknown outcome, the chunk sizes; E49), so this scales the SDK's own defaults
# without replacing any of them, and a fault test waits a twentieth of the real drain. The variable
# reaches the CLI subprocesses too. Tests of the real defaults unset it; tests with a time-scaled
# fake get its front wait from `fake.client()`.
os.environ["MIOGRAM_FRONT_WAIT"] = "3"

# A client that names no send gate shares the machine-wide gate of its service, in the user's
# runtime directory (docs/service.md E33). The suite keeps that default, in a runtime directory of
# its own: the clients of this session (and the CLI processes and workers it starts, which
# inherit the variable) share gates with each other only, never with the developer's real sends
# or another test session running on the host.
_RUNTIME = tempfile.mkdtemp(prefix="miogram-runtime-")
atexit.register(shutil.rmtree, _RUNTIME, ignore_errors=True)
os.environ["XDG_RUNTIME_DIR"] = _RUNTIME
os.environ.pop("MIOGRAM_SEND_GATE", None)

#: Seconds the server may take to start (initdb included) before the tests that need it fail.
_START_WITHIN = 90.0


def _start(directory: Path) -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI containers); pgserver only uses it
        # for a lock file.
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server  # noqa: PLC0415 - only when needed

        return get_server(directory, cleanup_mode="delete")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a running PostgreSQL server (unix socket), stopped and deleted at the end."""
    # Not under pytest's own temporary directory: as root the server runs as another user, who
    # must traverse to its data, and every pytest session takes group and other permissions off
    # /tmp/pytest-of-<user> again.
    parent = Path(tempfile.mkdtemp(prefix="miogram-pg-"))
    directory = parent / "pgdata"
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        server = pool.submit(_start, directory).result(timeout=_START_WITHIN)
    except concurrent.futures.TimeoutError:
        shutil.rmtree(parent, ignore_errors=True)
        pytest.fail(f"PostgreSQL (pgserver) did not start within {_START_WITHIN:.0f} s")
    except BaseException:
        shutil.rmtree(parent, ignore_errors=True)
        raise
    finally:
        pool.shutdown(wait=False)
    try:
        yield str(server.get_uri())
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)
