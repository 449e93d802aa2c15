"""
A faithful fake MioGram service for tests, demos and benchmarks.

``FakeMioGram`` is one ASGI application with per-account state, reachable in process through
``fake.transport()`` (an ``httpx.AsyncBaseTransport``) or over loopback HTTP with
``async with fake.serve() as url``. It follows the real service's wire forms (API.md section 11):
check order, front and gateway error forms, credits, limits in bytes, reports. Faults are seeded
and per action; time can be made realistic; every request and delivery is kept for assertions.
"""

from ._app import FaultSignal, ServiceApp
from ._config import (
    AccountConfig,
    CreditsConfig,
    LimitsConfig,
    NumberBook,
    UndeliveredReply,
)
from ._fake import FakeMioGram
from ._faults import FaultKind, FaultRule, Faults
from ._state import AccountState, AgentState, Delivery, RequestRecord
from ._timing import TimeModel
from ._transport import FakeTransport

FakeAccount = AccountConfig

__all__ = [
    "AccountConfig",
    "AccountState",
    "AgentState",
    "CreditsConfig",
    "Delivery",
    "FakeAccount",
    "FakeMioGram",
    "FakeTransport",
    "FaultKind",
    "FaultRule",
    "FaultSignal",
    "Faults",
    "LimitsConfig",
    "NumberBook",
    "RequestRecord",
    "ServiceApp",
    "TimeModel",
    "UndeliveredReply",
]
