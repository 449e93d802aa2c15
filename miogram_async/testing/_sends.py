"""
The ``Send*`` actions: front checks (length, size, credit) and the gateway's delivery.

Credits (API.md E12, E13): a delivered number costs one credit of the action's bucket; an
undelivered one costs nothing. A single send is refused with front error 305 only when the bucket
is below 0, so one send still goes out at 0 (the counter then reads -1). A Mass send of *n*
numbers is refused when the bucket holds less than *n*: with front error 305 when it is empty
(``<= 0``), otherwise with the gateway's 306 ``Low Credit``.
"""

from __future__ import annotations

import hashlib
from typing import Final

from ._call import Call, lenient_b64_size, strict_b64decode
from ._config import UndeliveredReply, media_limit_bytes
from ._replies import Reply, front_error, gateway_error, gateway_result, number_not_found
from ._state import Delivery

__all__ = ["BUCKETS", "SEND_HANDLERS", "front_send_checks"]

TEXT_FUNCS: Final = frozenset(
    {"SendMessage", "SendMessageMass", "SendMessageWhatsApp", "SendMessageWhatsAppMass"}
)
WHATSAPP_FUNCS: Final = frozenset({"SendMessageWhatsApp", "SendMessageWhatsAppMass"})
#: Media actions: (credit and size bucket, default extension, API.md E28).
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
#: The credit bucket each send action draws from (API.md E13).
BUCKETS: Final[dict[str, str]] = {
    **dict.fromkeys(TEXT_FUNCS, "Message"),
    **{func: bucket for func, (bucket, _) in MEDIA_FUNCS.items()},
    **dict.fromkeys(OTHER_FUNCS, "Other"),
}


def compose_message(call: Call) -> str:
    """The message with the account's ad appended (newline + ad, API.md E30)."""
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
            return front_error(305) if credit <= 0 else gateway_error(306)
    elif credit < 0:
        return front_error(305)
    return None


def _gateway_checks(call: Call) -> tuple[Reply | None, str, bytes | None]:
    """Element checks of the gateway; returns (error, report data, decoded media)."""
    if not call.element("Phone"):
        return gateway_error(302), "", None
    func = call.func
    if func in TEXT_FUNCS:
        if not call.message:
            return gateway_error(302), "", None
        if func in WHATSAPP_FUNCS and not call.account.config.whatsapp:
            return gateway_error(101), "", None
        return None, call.message, None
    if func in MEDIA_FUNCS:
        data = call.element("Data")
        if not data:
            return gateway_error(302), "", None
        decoded = strict_b64decode(data)
        if decoded is None:
            return gateway_error(400), "", None
        return None, data, decoded
    parts = call.misc_parts()
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return gateway_error(302), "", None
    return None, call.element("Misc"), None


async def send(call: Call) -> Reply:
    """Deliver a ``Send*`` action to its number(s) and charge the delivered ones."""
    error, report_data, media = _gateway_checks(call)
    if error is not None:
        return error
    func = call.func
    mass = func.endswith("Mass")
    numbers = call.numbers() if mass else [call.element("Phone")]
    await call.time.work(len(numbers))
    whatsapp = func in WHATSAPP_FUNCS
    bucket = BUCKETS[func]
    digest = None if media is None else hashlib.sha256(media).hexdigest()
    media_label = None
    if func in MEDIA_FUNCS:
        media_label = call.element("Misc") or MEDIA_FUNCS[func][1]
    outcome: dict[str, bool] = {}
    for number in numbers:
        # WhatsApp is beta: the service cannot tell, so every send counts as delivered (G4).
        delivered = whatsapp or call.exists(number)
        outcome[number] = delivered
        record = Delivery(
            request_index=call.index,
            number=number,
            func=func,
            agent=call.agent.name,
            text=call.message if func in TEXT_FUNCS else None,
            data_sha256=digest,
            misc=call.element("Misc") or None,
        )
        call.service.deliver(record, delivered=delivered)
        if delivered:
            call.account.credits[bucket] -= 1
            text = call.message if func in TEXT_FUNCS else call.element("Misc")
            call.service.add_history(call.agent, number, text, media_label)
    call.add_report(report_data, [number for number, ok in outcome.items() if ok])
    if whatsapp:
        return gateway_result(True, "sent")
    if mass:
        return gateway_result(outcome, "checking")
    if outcome[numbers[0]]:
        return gateway_result(True, "success")
    if call.account.config.undelivered_reply is UndeliveredReply.ERROR_307:
        return number_not_found()
    return gateway_result(False, "fail")


SEND_HANDLERS: Final = dict.fromkeys(BUCKETS, send)
