"""
Agent, chat and profile actions (1, 2, 7-20), answered by the gateway.

Object results are shaped like telegram-cli JSON (docs/service.md E19); the service passes them
through unchanged and documents no field, so these shapes follow telegram-cli's JSON output and are
only plausible in their details.

Everything here is the agent's, shared by every account on it (docs/service.md E50): history and
dialogs hold what any account sent through the agent. Before it uses a number the gateway re-adds
it as a contact of the agent, first name the number as given, last name the asking account's
username, with its 1 s pause (E49), so ``GetHistory`` and ``GetUserInfo`` take the time of one
number on the agent, one after its other work.
"""

from __future__ import annotations

import hashlib
from typing import Final

from ._call import Call, GatewayHandler, decode_file
from ._config import digits_of
from ._gateway import Plan
from ._replies import Reply, gateway_result
from ._state import AgentState, ChatState, HistoryItem, peer_id_of

__all__ = ["CHAT_HANDLERS", "CHAT_PLANNERS", "plan_chat"]


def _chat_name(name: str) -> str:
    # Peer names have spaces replaced by underscores (docs/service.md E16).
    return name.replace(" ", "_")


def _user(number: str, agent: AgentState) -> dict[str, object]:
    digits = digits_of(number)
    user: dict[str, object] = {"peer_type": "user", "peer_id": peer_id_of(digits)}
    contact = agent.contacts.get(digits)
    if contact is None:
        user["print_name"] = f"user_{digits}"
    else:
        # telegram-cli names a contact "first_last", spaces as underscores (E16).
        first, last = contact
        user["print_name"] = f"{first}_{last}".replace(" ", "_")
        user["first_name"], user["last_name"] = first, last
    user["phone"] = digits
    user["blocked"] = digits in agent.blocked
    return user


def _agent_user(agent: AgentState) -> dict[str, object]:
    """The agent's own Telegram user, the sender of its outgoing messages."""
    name = f"{agent.first_name}_{agent.last_name}" if agent.last_name else agent.first_name
    return {
        "peer_type": "user",
        "peer_id": peer_id_of(agent.name),
        "print_name": name.replace(" ", "_") or agent.name,
    }


def _resolve(call: Call, phone: str) -> bool:
    """The gateway's number lookup: whether *phone* exists; if so it is (re-)added as a contact."""
    if not call.exists(phone):
        return False
    call.agent.add_contact(phone, call.account.config.username)
    return True


def _chat(chat: ChatState) -> dict[str, object]:
    return {
        "peer_type": "chat",
        "peer_id": chat.peer_id,
        "print_name": chat.name,
        "title": chat.name,
        "members_num": len(chat.members),
        "members": [{"peer_id": peer_id_of(m), "phone": m} for m in chat.members],
    }


def _message(item: HistoryItem, agent: AgentState) -> dict[str, object]:
    """A history item as telegram-cli prints it: ``text`` only when there is text (E50)."""
    to = _user(item.number, agent)
    del to["blocked"]
    message: dict[str, object] = {
        "id": item.id,
        "from": _agent_user(agent),
        "to": to,
        "out": item.out,
        "unread": item.unread,
        "service": False,
        "date": item.date,
    }
    if item.text:
        message["text"] = item.text
    if item.media is not None:
        message["media"] = dict(item.media)
    return message


def set_status_online(call: Call) -> Reply:
    """``SetStatusOnline``: ``Misc`` must be exactly ``Online`` or ``Offline``."""
    misc = call.element("Misc")
    if misc not in ("Online", "Offline"):
        return call.gateway_error(302)
    call.agent.online = misc == "Online"
    return call.boolean(True)


def send_typing(call: Call) -> Reply:
    """``SendTyping`` to an existing number."""
    phone = call.element("Phone")
    if not phone:
        return call.gateway_error(302)
    if not _resolve(call, phone):
        return call.not_found()
    return call.boolean(True)


def create_group_chat(call: Call) -> Reply:
    """``CreateGroupChat`` with the existing numbers of ``Phone`` as members."""
    name = _chat_name(call.element("Misc"))
    if not call.element("Phone") or not name:
        return call.gateway_error(302)
    numbers = call.numbers()
    members = [digits_of(n) for n in numbers if _resolve(call, n)]
    if name in call.agent.chats or not members:
        return call.boolean(False)
    call.agent.chats[name] = ChatState(name=name, peer_id=peer_id_of(name), members=members)
    return call.boolean(True)


def chat_info(call: Call) -> Reply:
    """``ChatInfo``: the chat as an object, or ``false``."""
    name = _chat_name(call.element("Misc"))
    if not name:
        return call.gateway_error(302)
    chat = call.agent.chats.get(name)
    if chat is None:
        return call.boolean(False)
    return gateway_result(_chat(chat), "success")


def rename_chat(call: Call) -> Reply:
    """``RenameChat``: ``Misc`` is ``old,new``."""
    parts = call.misc_parts()
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return call.gateway_error(302)
    old, new = _chat_name(parts[0]), _chat_name(parts[1])
    chat = call.agent.chats.get(old)
    if chat is None or new in call.agent.chats:
        return call.boolean(False)
    del call.agent.chats[old]
    chat.name = new
    call.agent.chats[new] = chat
    return call.boolean(True)


def chat_add_user(call: Call) -> Reply:
    """``ChatAddUser``: ``Misc`` is ``chat,forward count``."""
    phone = call.element("Phone")
    name = _chat_name(call.misc_parts()[0])
    if not phone or not name:
        return call.gateway_error(302)
    if not _resolve(call, phone):
        return call.not_found()
    chat = call.agent.chats.get(name)
    digits = digits_of(phone)
    if chat is None or digits in chat.members:
        return call.boolean(False)
    chat.members.append(digits)
    return call.boolean(True)


def chat_delete_user(call: Call) -> Reply:
    """``ChatDeleteUser`` of a current member."""
    phone = call.element("Phone")
    name = _chat_name(call.element("Misc"))
    if not phone or not name:
        return call.gateway_error(302)
    if not _resolve(call, phone):
        return call.not_found()
    chat = call.agent.chats.get(name)
    digits = digits_of(phone)
    if chat is None or digits not in chat.members:
        return call.boolean(False)
    chat.members.remove(digits)
    return call.boolean(True)


def set_profile_name(call: Call) -> Reply:
    """
    ``SetProfileName``: on success the gateway relays the agent's user object (docs/service.md E19).
    """
    parts = call.misc_parts()
    if len(parts) < 2 or not parts[0]:
        return call.gateway_error(302)
    call.agent.first_name, call.agent.last_name = parts[0], parts[1]
    user = {
        "peer_type": "user",
        "peer_id": peer_id_of(call.agent.name),
        "first_name": parts[0],
        "last_name": parts[1],
        "print_name": f"{parts[0]}_{parts[1]}" if parts[1] else parts[0],
        "username": call.agent.username,
    }
    return gateway_result(user, "success")


def _block(call: Call, *, block: bool) -> Reply:
    phone = call.element("Phone")
    if not phone:
        return call.gateway_error(302)
    if not _resolve(call, phone):
        return call.not_found()
    if block:
        call.agent.blocked.add(digits_of(phone))
    else:
        call.agent.blocked.discard(digits_of(phone))
    return call.boolean(True)


def block_user(call: Call) -> Reply:
    """``BlockUser`` an existing number."""
    return _block(call, block=True)


def unblock_user(call: Call) -> Reply:
    """``UnBlockUser`` an existing number."""
    return _block(call, block=False)


def mark_read(call: Call) -> Reply:
    """``MarkRead``: every message of the conversation becomes read."""
    phone = call.element("Phone")
    if not phone:
        return call.gateway_error(302)
    if not _resolve(call, phone):
        return call.not_found()
    for item in call.agent.history.get(digits_of(phone), []):
        item.unread = False
    return call.boolean(True)


def get_user_info(call: Call) -> Reply:
    """
    ``GetUserInfo``: the user object, or ``false`` for a missing number.

    The server code looks the number up without the check behind E39: a number it cannot
    resolve answers ``{"Result": false, "Status": "fail"}``, with no ``Message`` (E51).
    """
    phone = call.element("Phone")
    if not phone:
        return call.gateway_error(302)
    if not _resolve(call, phone):
        return call.boolean(False) if call.server else call.not_found()
    return gateway_result(_user(phone, call.agent), "success")


def get_dialog_list(call: Call) -> Reply:
    """``GetDialogList``: one entry per conversation and per group chat of the agent (E50)."""
    dialogs: list[dict[str, object]] = []
    for digits, items in call.agent.history.items():
        entry = _user(digits, call.agent)
        entry["unread_count"] = sum(1 for item in items if item.unread)
        dialogs.append(entry)
    dialogs.extend(_chat(chat) for chat in call.agent.chats.values())
    if not dialogs and call.server:
        # telegram-cli's empty list reads as no result (E46).
        return call.boolean(False)
    return gateway_result(dialogs, "success")


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        return 0


def get_history(call: Call) -> Reply:
    """
    ``GetHistory``: the gateway reads ``Misc`` as ``limit,offset`` (docs/service.md E17), not as
    documented.

    A limit below 1 becomes 1. Messages come oldest first, the newest *offset* ones skipped. As the
    server code answers, an empty window (a short history, or the document's ``0,100`` read as
    limit 1, offset 100) is ``{"Result": false, "Status": "fail"}`` (E34, E46). The history is the
    agent's: it holds what every account sent that number through the agent (E50).

    A number it cannot resolve gets the same ``fail`` in the server profile: the server code
    looks it up with ``NumberToPeer``, not the ``NumberToPeerX`` behind E39's 307, and then asks
    telegram-cli for the history of no peer, which fails (E39, E51).
    """
    phone = call.element("Phone")
    if not phone:
        return call.gateway_error(302)
    if not _resolve(call, phone):
        return call.boolean(False) if call.server else call.not_found()
    parts = call.misc_parts()
    limit = max(_int(parts[0]), 1)
    offset = max(_int(parts[1]), 0) if len(parts) > 1 else 0
    items = call.agent.history.get(digits_of(phone), [])
    end = len(items) - offset
    window = items[max(end - limit, 0) : max(end, 0)]
    if not window and call.server:
        return call.boolean(False)
    return gateway_result([_message(item, call.agent) for item in window], "success")


def set_username(call: Call) -> Reply:
    """``SetUsername``: a name without spaces."""
    name = call.element("Misc")
    if not name:
        return call.gateway_error(302)
    if " " in name:
        return call.boolean(False)
    call.agent.username = name
    return call.boolean(True)


def set_profile_photo(call: Call) -> Reply:
    """``SetProfilePhoto`` from strict base64 ``Data``."""
    data = call.element("Data")
    if not data:
        return call.gateway_error(302)
    decoded = decode_file(data, server=call.server)
    if decoded is None:
        return call.gateway_error(400)
    call.agent.photo_sha256 = hashlib.sha256(decoded).hexdigest()
    return call.boolean(True)


CHAT_HANDLERS: Final[dict[str, GatewayHandler]] = {
    "SetStatusOnline": set_status_online,
    "SendTyping": send_typing,
    "CreateGroupChat": create_group_chat,
    "ChatInfo": chat_info,
    "RenameChat": rename_chat,
    "ChatAddUser": chat_add_user,
    "ChatDeleteUser": chat_delete_user,
    "SetProfileName": set_profile_name,
    "BlockUser": block_user,
    "UnBlockUser": unblock_user,
    "MarkRead": mark_read,
    "GetUserInfo": get_user_info,
    "GetDialogList": get_dialog_list,
    "GetHistory": get_history,
    "SetUsername": set_username,
    "SetProfilePhoto": set_profile_photo,
}


#: Actions that look one number up (the 1 s pause, E24, E49, E50).
_ONE_NUMBER: Final = frozenset(
    {
        "SendTyping",
        "ChatAddUser",
        "ChatDeleteUser",
        "BlockUser",
        "UnBlockUser",
        "MarkRead",
        "GetUserInfo",
        "GetHistory",
    }
)


def _numbers(call: Call) -> list[str]:
    """The numbers the gateway looks up for *call*, one after another."""
    if not call.element("Phone"):
        return []
    if call.func == "CreateGroupChat":
        return call.numbers()
    if call.func in _ONE_NUMBER:
        return [call.element("Phone")]
    return []


def plan_chat(call: Call) -> Plan:
    """The gateway's plan for an agent, chat or profile action: it delivers nothing."""
    handler = CHAT_HANDLERS[call.func]
    numbers = _numbers(call)
    return Plan(units=len(numbers), delivers=False, finish=lambda: handler(call), numbers=numbers)


CHAT_PLANNERS: Final = dict.fromkeys(CHAT_HANDLERS, plan_chat)
