"""
A faithful fake MioGram service for tests, demos and benchmarks.

``FakeMioGram`` is one ASGI application with per-account state, reachable in process through
``fake.transport()`` (an ``httpx.AsyncBaseTransport``) or over loopback HTTP with
``async with fake.serve() as url``. By default it answers as the service's server code does
(docs/service.md sections 11-12: check order, error forms, credits, the front's 60 s wait, the
shared credit file); ``FakeMioGram(profile="documented")`` answers as the document intends. Faults
are seeded and per action; time can be made realistic (a pace per number that varies by agent, with
jitter and slow spells); every request, delivery and number handed to the messenger is kept for
assertions.
"""

from ._app import FaultSignal, ServiceApp
from ._config import (
    AccountConfig,
    Behaviour,
    CreditsConfig,
    LimitsConfig,
    NumberBook,
    UndeliveredReply,
)
from ._fake import FakeMioGram
from ._faults import FaultKind, FaultRule, Faults
from ._gateway import GatewayWork
from ._state import (
    AccountState,
    AgentState,
    ContactCard,
    Delivery,
    Handoff,
    HistoryItem,
    RequestRecord,
)
from ._timing import Pacer, SlowSpells, TimeModel
from ._transport import FakeTransport

FakeAccount = AccountConfig

__all__ = [
    "AccountConfig",
    "AccountState",
    "AgentState",
    "Behaviour",
    "ContactCard",
    "CreditsConfig",
    "Delivery",
    "FakeAccount",
    "FakeMioGram",
    "FakeTransport",
    "FaultKind",
    "FaultRule",
    "FaultSignal",
    "Faults",
    "GatewayWork",
    "Handoff",
    "HistoryItem",
    "LimitsConfig",
    "NumberBook",
    "Pacer",
    "RequestRecord",
    "ServiceApp",
    "SlowSpells",
    "TimeModel",
    "UndeliveredReply",
]
