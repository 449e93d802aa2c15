"""
The ``Send*`` actions: front checks (length, size, credit) and the gateway's delivery.

Credits (docs/service.md E12, E13): a delivered number costs one credit of the action's bucket; an
undelivered one costs nothing. A single send is refused with front error 305 only when the bucket
is below 0, so one send still goes out at 0 (the counter then reads -1). A Mass send of *n*
numbers is refused when the bucket holds less than *n*: with the front's 305 as the server code
does (E42); in the documented profile with 305 when the bucket is empty (``<= 0``), otherwise with
the gateway's 306 ``Low Credit``.

The gateway delivers; the front charges and writes the report record only when the gateway's reply
came inside its wait (E32), and a text with ``'`` is never logged (E44) or, with PHP's strict
mysqli, kills the front before it charges (E45).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Final

from ._call import Call, decode_file, lenient_b64_size
from ._config import digits_of, media_limit_bytes
from ._gateway import Plan
from ._replies import HTML_TYPE, Reply, front_error, gateway_result, gateway_size_error
from ._state import ContactCard, Delivery, Handoff, peer_id_of

__all__ = ["BUCKETS", "SEND_PLANNERS", "front_send_checks", "plan_send"]

TEXT_FUNCS: Final = frozenset(
    {"SendMessage", "SendMessageMass", "SendMessageWhatsApp", "SendMessageWhatsAppMass"}
)
WHATSAPP_FUNCS: Final = frozenset({"SendMessageWhatsApp", "SendMessageWhatsAppMass"})
#: Media actions: (credit and size bucket, default extension, docs/service.md E28).
MEDIA_FUNCS: Final[dict[str, tuple[str, str]]] = {
    "SendPhoto": ("Photo", "jpg"),
    "SendVideo": ("Video", "mp4"),
    "SendAudio": ("File", "mp3"),
    "SendText": ("File", "txt"),
    "SendFile": ("File", "zip"),
    "SendDocument": ("File", "doc"),
    "SendPhotoMass": ("Photo", "jpg"),
    "SendVideoMass": ("Video", "mp4"),
    "SendFileMass": ("File", "zip"),
}
OTHER_FUNCS: Final = frozenset({"SendLocation", "SendContact"})
#: The credit bucket each send action draws from (docs/service.md E13).
BUCKETS: Final[dict[str, str]] = {
    **dict.fromkeys(TEXT_FUNCS, "Message"),
    **{func: bucket for func, (bucket, _) in MEDIA_FUNCS.items()},
    **dict.fromkeys(OTHER_FUNCS, "Other"),
}


def compose_message(call: Call) -> str:
    """The message with the account's ad appended (newline + ad, docs/service.md E30)."""
    ads = call.account.config.ads
    text = call.element("Message")
    return f"{text}\n{ads}" if ads else text


def front_send_checks(call: Call) -> Reply | None:
    """Length (304), file size (303) and credit (305/306) checks of the front script, in order."""
    func = call.func
    if func in TEXT_FUNCS:
        call.message = compose_message(call)
        if len(call.message.encode("utf-8")) > call.account.config.limits.message:
            return front_error(304)
    if func in MEDIA_FUNCS:
        bucket = MEDIA_FUNCS[func][0]
        limit = media_limit_bytes(call.account.config.limits)[bucket]
        if lenient_b64_size(call.element("Data")) > limit:
            return front_error(303)
    bucket = BUCKETS[func]
    credit = call.account.credits[bucket]
    if func.endswith("Mass"):
        count = len(call.element("Phone").split(","))
        if credit < count:
            # The server code answers the front's 305 whatever the shortfall (E42).
            if call.server or credit <= 0:
                return front_error(305)
            return call.gateway_error(306)
    elif credit < 0:
        return front_error(305)
    return None


#: The kind named in the gateway's size error of each media action (E40).
SIZE_KINDS: Final[dict[str, str]] = {
    "SendPhoto": "Photo",
    "SendPhotoMass": "Photo",
    "SendVideo": "Video",
    "SendVideoMass": "Video",
    "SendAudio": "Audio",
    "SendText": "Text",
    "SendFile": "File",
    "SendFileMass": "File",
    "SendDocument": "Document",
}


def _gateway_checks(call: Call) -> tuple[Reply | None, str, bytes | None]:
    """Element checks of the gateway; returns (error, report data, decoded media)."""
    if not call.element("Phone"):
        return call.gateway_error(302), "", None
    func = call.func
    if func in TEXT_FUNCS:
        if not call.message:
            return call.gateway_error(302), "", None
        if func in WHATSAPP_FUNCS and not call.account.config.whatsapp:
            return call.gateway_error(101), "", None
        return None, call.message, None
    if func in MEDIA_FUNCS:
        data = call.element("Data")
        if not data:
            return call.gateway_error(302), "", None
        decoded = decode_file(data, server=call.server)
        if decoded is None:
            return call.gateway_error(400), "", None
        limit = call.behaviour.gateway_max_file_bytes
        if limit is not None and len(decoded) > limit:
            return gateway_size_error(SIZE_KINDS[func], server=call.server), "", None
        return None, data, decoded
    parts = call.misc_parts()
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return call.gateway_error(302), "", None
    return None, call.element("Misc"), None


def _contact(call: Call, number: str) -> ContactCard | None:
    if call.func != "SendContact":
        return None
    name, phone = call.misc_parts()[:2]
    if call.server:
        # The card carries the recipient's own number; the intended phone becomes the last
        # name (E18, E35).
        return ContactCard(phone=number, first_name=name, last_name=phone)
    return ContactCard(phone=phone, first_name=name, last_name="")


#: telegram-cli's media type of what each media action sends (photos; everything else is a file).
_MEDIA_TYPES: Final = {"SendPhoto": "photo", "SendPhotoMass": "photo"}


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _history_media(call: Call, card: ContactCard | None) -> Mapping[str, object] | None:
    """The ``media`` object telegram-cli shows for what *call* sends (no caption is ever sent)."""
    func = call.func
    if func in MEDIA_FUNCS:
        return {"type": _MEDIA_TYPES.get(func, "document")}
    if card is not None:
        return {
            "type": "contact",
            "phone": digits_of(card.phone),
            "first_name": card.first_name,
            "last_name": card.last_name,
            "user_id": peer_id_of(digits_of(card.phone)),
        }
    if func == "SendLocation":
        latitude, longitude = call.misc_parts()[:2]
        return {"type": "geo", "longitude": _float(longitude), "latitude": _float(latitude)}
    return None


def plan_send(call: Call) -> Reply | Plan:
    """
    The gateway's plan for a ``Send*`` action, or its refusal before any delivery.

    The gateway works through the numbers one after another: each is resolved (re-added as a
    contact of the agent, named after the number and the account) and its message handed to the
    messenger at that number's moment on the timeline, so a Mass the front gave up on (E32) has
    its first numbers delivered before the rest. A delivered Telegram message joins the agent's
    history with that number, shared by every account on the agent (E50); WhatsApp sends go
    through another messenger and leave no Telegram history.
    """
    error, report_data, media = _gateway_checks(call)
    if error is not None:
        return error
    func = call.func
    mass = func.endswith("Mass")
    numbers = call.numbers() if mass else [call.element("Phone")]
    whatsapp = func in WHATSAPP_FUNCS
    # SendLocation reaches telegram-cli as a broken send_document and always fails (E36).
    broken = call.server and func == "SendLocation"
    existing = {number: call.exists(number) for number in numbers}
    # WhatsApp is beta: the service cannot tell, so every send counts as delivered (G4).
    outcome = {number: whatsapp or (existing[number] and not broken) for number in numbers}
    digest = None if media is None else hashlib.sha256(media).hexdigest()
    username = call.account.config.username
    agent = call.agent
    text = call.message if func in TEXT_FUNCS else None
    misc = call.element("Misc") or None

    def step(unit: int, at: float) -> None:
        number = numbers[unit]
        handoff = Handoff(
            request_index=call.index,
            number=number,
            agent=agent.name,
            username=username,
            at=at,
            date=call.service.service_time(at),
            delivered=outcome[number],
        )
        card = _contact(call, number)
        record = Delivery(
            request_index=call.index,
            number=number,
            func=func,
            agent=agent.name,
            text=text,
            data_sha256=digest,
            misc=misc,
            contact=card,
        )
        if whatsapp:
            call.service.hand_off(handoff, record, agent=None)
            return
        if existing[number]:
            agent.add_contact(number, username)
        media_object = _history_media(call, card) if handoff.delivered else None
        call.service.hand_off(handoff, record, agent=agent, text=text or "", media=media_object)

    def finish() -> Reply:
        if whatsapp:
            return gateway_result(True, "sent")
        if mass:
            return gateway_result(outcome, "checking")
        if outcome[numbers[0]]:
            return gateway_result(True, "success")
        if broken and call.exists(numbers[0]):
            return gateway_result(False, "fail")
        return call.not_found()

    def front(reply: Reply) -> Reply:
        quoted = "'" in report_data or "'" in call.element("Phone")
        if quoted and call.server and call.behaviour.php_strict_mysqli:
            # The report insert throws under PHP 8.1's mysqli defaults: the front dies after
            # the delivery, before it charges (E45).
            return Reply(body=b"", content_type=HTML_TYPE, status=500)
        call.add_report(report_data, [number for number, ok in outcome.items() if ok])
        call.account.credits[BUCKETS[func]] -= sum(outcome.values())
        return reply

    return Plan(
        units=len(numbers),
        delivers=any(outcome.values()),
        finish=finish,
        front=front,
        numbers=numbers,
        step=step,
        delivered=[outcome[number] for number in numbers],
    )


SEND_PLANNERS: Final = dict.fromkeys(BUCKETS, plan_send)
