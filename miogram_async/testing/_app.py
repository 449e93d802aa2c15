"""
The fake service as one raw ASGI application.

Checks run in the real front script's order (docs/service.md E22): non-POST 812, blocked IP 815,
empty secret 800, unknown secret 801, inactive account 826, no agent 827, caller IP not allowed 802,
unknown ``Func`` 302; then permission 309 and, for sends, length 304, size 303 and credit 305.
Everything after that is the gateway's (``_gateway.py``): its block (815), token/IP errors
(813/814), the shared credit file (E33), missing elements 302, invalid base64 400, delivery; the
front waits for it at most the time model's ``front_wait`` in the server profile (E32).

Faults that must break the connection itself are raised as :class:`FaultSignal`; the in-process
transport turns them into httpx exceptions and the loopback server into a closed socket.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final
from urllib.parse import parse_qsl

import anyio
import anyio.lowlevel

from ._api import API_HANDLERS
from ._call import Call
from ._chats import CHAT_PLANNERS
from ._config import Behaviour
from ._faults import AFTER_PROCESSING, GATEWAY_FAULTS, FaultKind, FaultPlan, Faults
from ._gateway import Gateway, Plan
from ._replies import NO_RESPONSE, Reply, front_error
from ._sends import SEND_PLANNERS, front_send_checks
from ._state import RequestRecord, ServiceState
from ._timing import TimeModel

__all__ = ["FaultSignal", "ServiceApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Actions that need the control permission (docs/service.md section 8, E26).
NEEDS_SUPER: Final = frozenset(
    {
        "SetStatusOnline",
        "SendTyping",
        "CreateGroupChat",
        "RenameChat",
        "ChatAddUser",
        "ChatDeleteUser",
        "SetProfileName",
        "BlockUser",
        "UnBlockUser",
        "MarkRead",
        "SetUsername",
        "SetProfilePhoto",
    }
)
#: Actions that need the data-retrieval permission.
NEEDS_GET: Final = frozenset({"ChatInfo", "GetUserInfo", "GetDialogList", "GetHistory"})
#: Refused for the shared "stack" agents even though they hold both permissions (E14).
STACK_REFUSED: Final = frozenset({"SetProfileName", "BlockUser", "SetUsername", "SetProfilePhoto"})

GATEWAY_PLANNERS: Final[dict[str, Callable[[Call], Reply | Plan]]] = {
    **CHAT_PLANNERS,
    **SEND_PLANNERS,
}
ALL_FUNCS: Final = frozenset(GATEWAY_PLANNERS) | frozenset(API_HANDLERS)
#: Actions that change nothing (the rest change state, and count in the E33 measure).
READ_FUNCS: Final = frozenset(
    {
        "ChatInfo",
        "GetUserInfo",
        "GetDialogList",
        "GetHistory",
        "APIGetLimits",
        "APIGetCredits",
        "APIGetIP",
        "APIGetRobot",
        "APIGetActive",
        "APIGetUsername",
        "APIisSuper",
        "APIcanGet",
        "APIGetAds",
        "APIGetReport",
    }
)


class FaultSignal(Exception):
    """Raised by the app when a fault must break the connection instead of answering."""

    def __init__(self, kind: FaultKind) -> None:
        super().__init__(kind)
        self.kind = kind


class ServiceApp:
    """The ASGI callable; one instance per :class:`~miogram_async.testing.FakeMioGram`."""

    def __init__(
        self,
        state: ServiceState,
        time_model: TimeModel,
        faults: Faults,
        behaviour: Behaviour | None = None,
    ) -> None:
        self.state = state
        self.time = time_model
        self.plan = FaultPlan(faults)
        self.behaviour = behaviour or Behaviour()
        self.gateway = Gateway()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                break
        client = scope.get("client")
        client_ip = client[0] if client else "127.0.0.1"
        content_type = ""
        for name, value in scope.get("headers", []):
            if name.lower() == b"content-type":
                content_type = value.decode("latin-1")
        reply = await self.handle(scope.get("method", "GET"), content_type, bytes(body), client_ip)
        headers = [
            (b"content-type", reply.content_type.encode()),
            (b"content-length", str(len(reply.body)).encode()),
            # Every web server stamps its replies with its clock, and so the fake, with
            # clock_offset: the SDK bounds the service's clock with it (settling from history).
            (b"date", email.utils.formatdate(self.state.service_time(), usegmt=True).encode()),
        ]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})

    async def handle(self, method: str, content_type: str, body: bytes, client_ip: str) -> Reply:
        """Answer one request, applying the faults chosen for it."""
        index = self.state.claim_index()
        form: dict[str, str] = {}
        if content_type.partition(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            # PHP fills $_POST only for form bodies; anything else reads as no elements at all.
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        func = form.get("Func", "")
        fired = self.plan.choose(func)
        facts: dict[str, str | None] = {"agent": None}
        changes_state = func not in READ_FUNCS
        if changes_state:
            self.state.enter_state_changing()
        try:
            # Let concurrent requests interleave even when no time passes, so that what is in
            # flight at once is seen whatever the time model.
            await anyio.lowlevel.checkpoint()
            if fired.delay > 0:
                await anyio.sleep(fired.delay)
            kind = fired.kind
            if kind is FaultKind.HTTP_ERROR and fired.rule is not None:
                return Reply.html(fired.rule.status)
            if kind in (FaultKind.DROP, FaultKind.CONNECT_ERROR):
                raise FaultSignal(kind)
            if kind is FaultKind.NO_RESPONSE:
                return front_error(NO_RESPONSE)
            if kind is FaultKind.BAD_REQUEST:
                return front_error(302)
            if kind is FaultKind.BLOCK:
                self.state.blocked_ips.add(client_ip)
                return front_error(815)
            await self.time.request_delay()
            gateway_fault = GATEWAY_FAULTS.get(kind) if kind is not None else None
            dies_after = None
            if kind is FaultKind.GATEWAY_DIES and fired.rule is not None:
                dies_after = fired.rule.handed
            reply = await self._process(
                index,
                method,
                form,
                client_ip,
                facts,
                gateway_fault=gateway_fault,
                dies_after=dies_after,
            )
            if kind is FaultKind.HTTP_ERROR_AFTER and fired.rule is not None:
                return Reply.html(fired.rule.status)
            if kind is FaultKind.TRUNCATED_JSON:
                return Reply(
                    body=reply.body[: len(reply.body) // 2], content_type=reply.content_type
                )
            if kind in AFTER_PROCESSING:
                raise FaultSignal(kind)
            return reply
        finally:
            if changes_state:
                self.state.leave_state_changing()
            elements = {name: value for name, value in form.items() if name != "Secret"}
            self.state.finished(
                RequestRecord(
                    index=index,
                    func=func,
                    elements=elements,
                    robot=form.get("Robot", ""),
                    agent=facts["agent"],
                    client_ip=client_ip,
                    method=method,
                    received_at=time.time(),
                    fault=None if fired.kind is None else fired.kind.value,
                    added_delay=fired.delay,
                )
            )

    async def _process(
        self,
        index: int,
        method: str,
        form: dict[str, str],
        client_ip: str,
        facts: dict[str, str | None],
        *,
        gateway_fault: int | None = None,
        dies_after: int | None = None,
    ) -> Reply:
        state = self.state
        if method != "POST":
            # The intrusion counter grows by 30 per non-POST request and never shrinks (E23).
            count = state.intrusion.get(client_ip, 0) + 30
            state.intrusion[client_ip] = count
            if count > 100:
                state.blocked_ips.add(client_ip)
                return front_error(815)
            return front_error(812)
        if client_ip in state.blocked_ips:
            return front_error(815)
        secret = form.get("Secret", "")
        if not secret:
            return front_error(800)
        account = state.find_by_secret(secret)
        if account is None:
            return front_error(801)
        if not account.config.active:
            return front_error(826)
        agent_name = account.pick_agent(form.get("Robot", ""))
        if agent_name is None:
            return front_error(827)
        if not account.ip_allowed(client_ip):
            return front_error(802)
        func = form.get("Func", "")
        if func not in ALL_FUNCS:
            return front_error(302)
        facts["agent"] = agent_name
        stack = "stack" in agent_name.lower()
        config = account.config
        if (func in NEEDS_SUPER and not (config.is_super or stack)) or (
            func in NEEDS_GET and not (config.can_get or stack)
        ):
            return front_error(309)
        if stack and func in STACK_REFUSED:
            return front_error(309)
        call = Call(
            index=index,
            func=func,
            form=form,
            account=account,
            agent=account.agents[agent_name],
            client_ip=client_ip,
            service=state,
            time=self.time,
            behaviour=self.behaviour,
        )
        if func in API_HANDLERS:
            return await API_HANDLERS[func](call)
        if func in SEND_PLANNERS:
            refusal = front_send_checks(call)
            if refusal is not None:
                return refusal
        return await self._forward(call, gateway_fault, dies_after)

    async def _forward(
        self, call: Call, gateway_fault: int | None, dies_after: int | None = None
    ) -> Reply:
        """The front forwards *call* to the gateway and waits for its answer."""
        gateway = self.gateway
        behaviour = self.behaviour
        gateway.settle(time.monotonic())
        if gateway.blocked:
            # The gateway has blocked the front itself: every account gets it (E41).
            return call.gateway_error(815)
        if gateway_fault is not None:
            gateway.auth_errors += 1
            if gateway.auth_errors >= 4:
                gateway.blocked = True
            return call.gateway_error(gateway_fault)
        if gateway.credit_file_corrupted:
            # What the broken credit file reads as: no credit for sends, no permission for the
            # rest (E33).
            if call.func in SEND_PLANNERS:
                return call.gateway_error(306 if call.func.endswith("Mass") else 305)
            return call.gateway_error(309)
        plan = GATEWAY_PLANNERS[call.func](call)
        if isinstance(plan, Reply):
            return plan
        job = gateway.schedule(
            call, plan, shared_credit_file=behaviour.shared_credit_file, dies_after=dies_after
        )
        wait = None
        if behaviour.front_wait:
            wait = self.time.front_wait_seconds()
        return await gateway.answer(job, front_wait=wait)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
