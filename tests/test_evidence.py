"""What one agent's history proves about one unknown number (the settle step's judge, E50)."""

from __future__ import annotations

import pytest

from miogram_async import Expected, Message
from miogram_async._base.evidence import Finding, Window, judge
from miogram_async._base.peers import message_from_wire

#: The send's window on the service's clock: it arrived at 1000.3, the gateway was done by 1040.
WINDOW = Window(start=1000.3, end=1040.0)
TEXT = Expected.text_of("Spring sale")


def message(
    text: str = "Spring sale",
    date: int = 1010,
    *,
    out: bool = True,
    ident: int = 7,
    media: str | None = None,
) -> Message:
    """A telegram-cli history message."""
    wire: dict[str, object] = {"id": ident, "text": text, "date": date, "out": out}
    if media is not None:
        wire = {"id": ident, "date": date, "out": out, "media": {"type": media}}
    return message_from_wire(wire)


def finding(
    messages: list[Message],
    expected: Expected = TEXT,
    *,
    ads: bool | None = False,
    limit: int = 100,
) -> Finding:
    """The judge's finding for *messages*."""
    return judge(messages, expected=expected, window=WINDOW, ads=ads, limit=limit).finding


def test_one_outgoing_message_with_the_text_in_the_window_proves_the_delivery() -> None:
    """Exactly one: FOUND, with the message as evidence; older messages do not matter."""
    history = [message("hi", 100, out=False), message("Old news", 200), message(ident=9)]
    judged = judge(history, expected=TEXT, window=WINDOW, ads=False, limit=100)
    assert judged.finding is Finding.FOUND
    assert judged.message is not None
    assert judged.message.id == "9"


def test_the_windows_ends_count_in_whole_seconds() -> None:
    """A date rounded down to the start's second is in; a second past the end is not."""
    assert finding([message(date=1000)]) is Finding.FOUND
    assert finding([message(date=1040)]) is Finding.FOUND
    assert finding([message(date=999)]) is Finding.UNSURE  # just before: it may be ours
    assert finding([message(date=1041)]) is Finding.UNSURE  # just after: it may be ours


def test_two_matching_messages_in_the_window_are_ambiguous() -> None:
    """Another account may send the same text through the agent: two in the window prove nothing."""
    assert finding([message(date=1005), message(date=1020, ident=8)]) is Finding.UNSURE


def test_an_incoming_message_with_the_text_is_no_evidence() -> None:
    """Only the agent's own (out) messages count: the number writing the text back is not it."""
    assert finding([message(out=False)]) is Finding.ABSENT


def test_the_text_must_be_exactly_the_one_sent() -> None:
    """A longer or shorter text is not it; surrounding whitespace and line ends are the same."""
    assert finding([message("Spring sale ends tonight!")]) is Finding.UNSURE
    assert finding([message("Spring")]) is Finding.UNSURE
    assert finding([message("  Spring sale\r\n")]) is Finding.FOUND
    assert (
        judge(
            [message("Spring\nsale")],
            expected=Expected.text_of("Spring\r\nsale "),
            window=WINDOW,
            ads=False,
            limit=100,
        ).finding
        is Finding.FOUND
    )


@pytest.mark.parametrize("ads", [True, None])
def test_with_ads_the_text_a_newline_and_anything_is_the_message(ads: bool | None) -> None:
    """The service appends its ad after a newline (E30); without ads that is another text."""
    assert finding([message("Spring sale\nVisit miogram.net")], ads=ads) is Finding.FOUND
    assert finding([message("Spring sale\nVisit miogram.net")], ads=False) is Finding.UNSURE
    assert finding([message("Spring sale!\nVisit miogram.net")], ads=ads) is Finding.UNSURE


def test_a_file_is_matched_by_the_type_telegram_cli_shows() -> None:
    """A photo is a photo; a video a video or a document; a file a document."""
    photo = Expected.media_of("photo")
    assert finding([message(media="photo")], photo) is Finding.FOUND
    assert finding([message(media="document")], photo) is Finding.UNSURE
    assert finding([message(media="document")], Expected.media_of("video")) is Finding.FOUND
    assert finding([message(media="document")], Expected.media_of("file")) is Finding.FOUND
    assert finding([message("Spring sale")], photo) is Finding.UNSURE


def test_absent_needs_no_outgoing_message_at_all_since_the_lookback() -> None:
    """A history read with nothing outgoing since 10 minutes before the send: ABSENT."""
    assert finding([message("hi", 1005, out=False), message("Old", 300)]) is Finding.ABSENT
    # Any outgoing message near the send keeps it unknown: the text may have been changed.
    assert finding([message("Spring sale (edited)", 1010)]) is Finding.UNSURE
    assert finding([message("Other", 600)]) is Finding.UNSURE  # within the 600 s look-back
    assert finding([message("Spring sale", 5000)]) is Finding.UNSURE  # long after: maybe ours


def test_an_empty_answer_is_its_own_finding() -> None:
    """false reads as []: no evidence either way by itself (the caller needs a vouching read)."""
    assert finding([]) is Finding.EMPTY


def test_a_read_cut_at_its_limit_proves_no_absence() -> None:
    """As many messages as asked, all since the send: older ones may hold another match."""
    recent = [message("hi", 1001 + index, out=False, ident=index) for index in range(3)]
    assert finding(recent, limit=3) is Finding.UNSURE
    assert finding([*recent, message(ident=99)], limit=4) is Finding.UNSURE
    older = [message("hi", 10 + index, out=False, ident=index) for index in range(3)]
    assert finding(older, limit=3) is Finding.ABSENT  # reaches back before the look-back
    assert finding([*older[1:], message(ident=99)], limit=3) is Finding.FOUND


def test_expected_is_a_text_or_a_known_kind_of_file() -> None:
    """Expected takes exactly one of a text and a file kind it knows."""
    with pytest.raises(ValueError, match="either a text or a media kind"):
        Expected()
    with pytest.raises(ValueError, match="either a text or a media kind"):
        Expected(text="x", media="photo")
    with pytest.raises(ValueError, match="media kind among"):
        Expected.media_of("sticker")
