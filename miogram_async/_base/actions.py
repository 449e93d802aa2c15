"""
The action table: one `Action` row per ``Func`` of the service's document, in its order.

Everything the package knows about an action as such lives in its row: the wire name, how its
result is decoded, whether it may be retried, whether it changes state, whether its reply carries
a secret, which file limit and default format its media has, whether "number not found" means
``False``, and whether it is a Mass action. `_http.retry`, the request path (`_http.session`),
`call()`, the client's methods, the campaign and the CLI read the rows; none of them names an
action's rules.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Callable, Mapping
from typing import Final, Generic, Literal, TypeVar

import attrs

from .errors import APIResponseError
from .models import Credits, Limits, ReportRecord, as_credits, as_limits, as_reports
from .peers import as_chat, as_dialogs, as_history, as_user
from .wire import Reply, as_bool, as_flag, as_json, as_str, as_str_list

__all__ = [
    "ACTIONS",
    "BY_FUNC",
    "FILE_SENDS",
    "Action",
    "MediaKind",
    "Retry",
    "file_limit",
    "row_for",
]

_T_co = TypeVar("_T_co", covariant=True)

MediaKind = Literal["photo", "video", "file"]
"""The `Limits` field that bounds an action's file: ``photo``, ``video`` or ``file``."""


class Retry(enum.Enum):
    """When an action may be sent again after a failed attempt (the README's "Retries", A26)."""

    READ_ONLY = "read_only"
    """Changes nothing: retried after any transport failure and after 999."""
    UNSENT_ONLY = "unsent_only"
    """Retried only when the request provably never left the client (``sent is False``)."""
    NEVER = "never"
    """Never repeated, not even after a failure to connect."""


@attrs.frozen(kw_only=True)
class Action(Generic[_T_co]):
    """
    One action of the service and every per-action rule the SDK applies to it.

    Attributes:
        func: the wire name (``Func``).
        method: the `MioGram` method that sends it.
        decode: turns the decoded envelope into the method's result; ``None`` for Mass actions,
            whose chunks are each decoded against the numbers they carried (`as_mass_map`).
        retry: when a failed attempt may be repeated.
        changes_state: the action changes something on the service or sends something (every
            action that is not `Retry.READ_ONLY`). After such an action, an error counts as a
            failure (``sent=False``, Mass ``FAILED``) only when `proves_refusal` says the request
            was refused before anything was sent; any other error leaves it "may have been sent"
            (``sent=None``, Mass ``UNKNOWN``), never retried or re-sent automatically.
        secret_bearing: its reply carries the account's secret: the request is shielded from
            cancellation once sent, and the reply is never quoted in an error or a repr.
        media: the `Limits` field bounding its file, ``None`` for an action without one.
        default_format: the file format sent when neither the caller nor the file name gives one.
        not_found_is_false: a 307 ``Number Not Exist or Wrong`` reply means ``False`` ("not
            delivered", "not done"; docs/service.md E6, E39 and G2) instead of raising
            `NumberNotFoundError`: set on every action that takes one number and returns a
            bool. Actions with a typed result (`GetUserInfo`, `GetHistory`) raise instead.
        mass: the action takes many numbers and goes through the fan-out.
        history: what a delivery of this send leaves in the agent's Telegram history (E50):
            ``"text"``, or the kind of file (``"photo"``, ``"video"``, ``"file"``), which the
            settle step looks for; ``None`` when it leaves nothing there to read (WhatsApp goes
            through another messenger) or is no send the step settles.
    """

    func: str
    method: str
    decode: Callable[[Reply], _T_co] | None
    retry: Retry = Retry.UNSENT_ONLY
    changes_state: bool = True
    secret_bearing: bool = False
    media: MediaKind | None = None
    default_format: str | None = None
    not_found_is_false: bool = False
    mass: bool = False
    history: Literal["text", "photo", "video", "file"] | None = None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _as_bool_or_object(reply: Reply) -> bool:
    """
    ``SetProfileName``: the gateway answers the updated user object on success (docs/service.md
    E19).
    """
    if reply.status == "success" and isinstance(reply.result, dict | list):
        return True
    return as_bool(reply)


def _as_new_secret(reply: Reply) -> str:
    """The new secret of ``APIChangeSecret``; a blank one would lock the client out."""
    secret = as_str(reply).strip()
    if not secret or not _encodable(secret):
        raise APIResponseError(
            "APIChangeSecret returned an empty secret or one that cannot be sent (not valid "
            "Unicode); the old one may no longer work",
            reply.http_status,
        )
    return secret


def _read(func: str, method: str, decode: Callable[[Reply], _T_co]) -> Action[_T_co]:
    """A row for an action that changes nothing."""
    return Action(
        func=func, method=method, decode=decode, retry=Retry.READ_ONLY, changes_state=False
    )


def _send(func: str, method: str) -> Action[bool]:
    """A row for a single-number action whose 307 means "not delivered" / "not done" (E39)."""
    return Action(func=func, method=method, decode=as_bool, not_found_is_false=True)


def _media_send(func: str, method: str, media: MediaKind, default_format: str) -> Action[bool]:
    return Action(
        func=func,
        method=method,
        decode=as_bool,
        media=media,
        default_format=default_format,
        not_found_is_false=True,
    )


def _mass(
    func: str,
    method: str,
    media: MediaKind | None = None,
    default_format: str | None = None,
    *,
    history: Literal["text", "photo", "video", "file"] | None,
) -> Action[dict[str, bool]]:
    return Action(
        func=func,
        method=method,
        decode=None,
        media=media,
        default_format=default_format,
        mass=True,
        history=history,
    )


# The 43 actions in the order of the service's document.
SET_STATUS_ONLINE: Final = Action(
    func="SetStatusOnline", method="set_status_online", decode=as_bool
)
SEND_TYPING: Final = _send("SendTyping", "send_typing")
SEND_MESSAGE_MASS: Final = _mass("SendMessageMass", "send_message_mass", history="text")
SEND_MESSAGE: Final = _send("SendMessage", "send_message")
SEND_MESSAGE_WHATSAPP: Final = _send("SendMessageWhatsApp", "send_message_whatsapp")
SEND_MESSAGE_WHATSAPP_MASS: Final = _mass(
    "SendMessageWhatsAppMass", "send_message_whatsapp_mass", history=None
)
CREATE_GROUP_CHAT: Final = Action(
    func="CreateGroupChat", method="create_group_chat", decode=as_bool
)
CHAT_INFO: Final = _read("ChatInfo", "chat_info", as_chat)
RENAME_CHAT: Final = Action(func="RenameChat", method="rename_chat", decode=as_bool)
CHAT_ADD_USER: Final = _send("ChatAddUser", "chat_add_user")
CHAT_DELETE_USER: Final = _send("ChatDeleteUser", "chat_delete_user")
SET_PROFILE_NAME: Final = Action(
    func="SetProfileName", method="set_profile_name", decode=_as_bool_or_object
)
BLOCK_USER: Final = _send("BlockUser", "block_user")
UNBLOCK_USER: Final = _send("UnBlockUser", "unblock_user")
MARK_READ: Final = _send("MarkRead", "mark_read")
GET_USER_INFO: Final = _read("GetUserInfo", "get_user_info", as_user)
GET_DIALOG_LIST: Final = _read("GetDialogList", "get_dialog_list", as_dialogs)
GET_HISTORY: Final = _read("GetHistory", "get_history", as_history)
SET_USERNAME: Final = Action(func="SetUsername", method="set_username", decode=as_bool)
SET_PROFILE_PHOTO: Final = Action(
    func="SetProfilePhoto",
    method="set_profile_photo",
    decode=as_bool,
    media="photo",
    default_format="jpg",
)
SEND_PHOTO: Final = _media_send("SendPhoto", "send_photo", "photo", "jpg")
SEND_VIDEO: Final = _media_send("SendVideo", "send_video", "video", "mp4")
SEND_AUDIO: Final = _media_send("SendAudio", "send_audio", "file", "mp3")
SEND_TEXT: Final = _media_send("SendText", "send_text", "file", "txt")
SEND_FILE: Final = _media_send("SendFile", "send_file", "file", "zip")
SEND_DOCUMENT: Final = _media_send("SendDocument", "send_document", "file", "doc")
SEND_PHOTO_MASS: Final = _mass("SendPhotoMass", "send_photo_mass", "photo", "jpg", history="photo")
SEND_VIDEO_MASS: Final = _mass("SendVideoMass", "send_video_mass", "video", "mp4", history="video")
SEND_FILE_MASS: Final = _mass("SendFileMass", "send_file_mass", "file", "zip", history="file")
SEND_LOCATION: Final = _send("SendLocation", "send_location")
SEND_CONTACT: Final = _send("SendContact", "send_contact")
API_GET_LIMITS: Final[Action[Limits]] = _read("APIGetLimits", "api_get_limits", as_limits)
API_GET_CREDITS: Final[Action[Credits]] = _read("APIGetCredits", "api_get_credits", as_credits)
API_GET_IP: Final = _read("APIGetIP", "api_get_ip", as_str_list)
API_SET_IP: Final = Action(func="APISetIP", method="api_set_ip", decode=as_str_list)
# Its reply carries the account's only working secret: never retried (a lost reply would leave a
# secret nobody knows, and a second request with the old one would fail anyway), never cut off.
API_CHANGE_SECRET: Final = Action(
    func="APIChangeSecret",
    method="api_change_secret",
    decode=_as_new_secret,
    retry=Retry.NEVER,
    secret_bearing=True,
)
API_GET_ROBOT: Final = _read("APIGetRobot", "api_get_robot", as_str_list)
API_GET_ACTIVE: Final = _read("APIGetActive", "api_get_active", as_flag)
API_GET_USERNAME: Final = _read("APIGetUsername", "api_get_username", as_str)
API_IS_SUPER: Final = _read("APIisSuper", "api_is_super", as_flag)
API_CAN_GET: Final = _read("APIcanGet", "api_can_get", as_flag)
API_GET_ADS: Final = _read("APIGetAds", "api_get_ads", as_flag)
API_GET_REPORT: Final[Action[list[ReportRecord]]] = _read(
    "APIGetReport", "api_get_report", as_reports
)

ACTIONS: Final[tuple[Action[object], ...]] = (
    SET_STATUS_ONLINE,
    SEND_TYPING,
    SEND_MESSAGE_MASS,
    SEND_MESSAGE,
    SEND_MESSAGE_WHATSAPP,
    SEND_MESSAGE_WHATSAPP_MASS,
    CREATE_GROUP_CHAT,
    CHAT_INFO,
    RENAME_CHAT,
    CHAT_ADD_USER,
    CHAT_DELETE_USER,
    SET_PROFILE_NAME,
    BLOCK_USER,
    UNBLOCK_USER,
    MARK_READ,
    GET_USER_INFO,
    GET_DIALOG_LIST,
    GET_HISTORY,
    SET_USERNAME,
    SET_PROFILE_PHOTO,
    SEND_PHOTO,
    SEND_VIDEO,
    SEND_AUDIO,
    SEND_TEXT,
    SEND_FILE,
    SEND_DOCUMENT,
    SEND_PHOTO_MASS,
    SEND_VIDEO_MASS,
    SEND_FILE_MASS,
    SEND_LOCATION,
    SEND_CONTACT,
    API_GET_LIMITS,
    API_GET_CREDITS,
    API_GET_IP,
    API_SET_IP,
    API_CHANGE_SECRET,
    API_GET_ROBOT,
    API_GET_ACTIVE,
    API_GET_USERNAME,
    API_IS_SUPER,
    API_CAN_GET,
    API_GET_ADS,
    API_GET_REPORT,
)
"""Every action of the service's document, in its order."""

BY_FUNC: Final[Mapping[str, Action[object]]] = types.MappingProxyType(
    {action.func: action for action in ACTIONS}
)
"""The rows by wire name."""


FILE_SENDS: Final[Mapping[str, Action[bool]]] = types.MappingProxyType(
    {
        action.method.removeprefix("send_"): action  # type: ignore[misc]  # decode is as_bool
        for action in ACTIONS
        if action.media is not None and action.not_found_is_false and not action.mass
    }
)
"""The single-number file sends by kind (``photo``, ``video``, ``audio``, ``text``, ``file``,
``document``: their method without ``send_``), in document order: every row with a file limit
that takes one number and answers whether it was delivered."""


def file_limit(action: Action[object], limits: Limits) -> int | None:
    """
    The largest file *action* may carry under the account's *limits*, in bytes; ``None`` when it
    carries no file or the account names no limit (0).
    """
    if action.media is None:
        return None
    limit: int = getattr(limits, action.media)
    return limit if limit > 0 else None


def row_for(func: str) -> Action[object]:
    """
    The row of *func*; an action the document does not list (sent through ``call()``) gets a row
    that treats it as changing state: retried only when provably unsent, its result raw JSON.
    """
    row = BY_FUNC.get(func)
    if row is not None:
        return row
    return Action(func=func, method="call", decode=as_json)
