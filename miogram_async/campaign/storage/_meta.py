"""
A campaign's settings (`CampaignMeta`) and how its storage keeps them: one text row per setting.

Both storages keep a campaign's settings as ``meta`` rows (key, value text), the layout every
journal since the first has. The code never reads those strings itself: `to_rows` and `from_rows`
go through one cattrs converter whose hooks say how each field is spelled. The media file is kept
flat (``media_path``, ``media_sha256``, ``media_size``, ``file_format``), the agents and the kept
columns' names as JSON, the numbers as decimal text; a setting that is ``None`` has no row. Rows of
other keys (the SQLite journal's ``format`` and ``schema_version``, the runs' report anchors) are
not settings and are left alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .._model import CampaignError, CampaignKind, MediaRef

__all__ = ["CampaignMeta", "from_rows", "to_rows"]


@attrs.frozen(kw_only=True)
class CampaignMeta:
    """
    What a campaign sends and how, fixed when it is created.

    Attributes:
        kind: what the campaign sends.
        chunk_size: numbers per Mass request.
        robots: the agents to spread chunks over (names, ``"all"``), or ``None``.
        created_at: when it was created (epoch seconds).
        message: the text of a message or WhatsApp campaign.
        media: the file of a photo, video or file campaign (by reference).
        default_region: the region national numbers were read in, or ``None``.
        template: a message per row: the template its texts were made from (``{column}``
            placeholders filled from each row), or ``None``.
        message_column: a message per row: the column its texts were taken from, or ``None``.
        columns: the names of the numbers file's other columns, whose cells the campaign keeps
            beside each number (for templates and exports), or ``None``.

    A campaign with a message per row keeps each number's text where it differs from *message*
    (the text most of its numbers get; ``None`` when no two numbers share one).
    """

    kind: CampaignKind
    chunk_size: int
    robots: tuple[str, ...] | str | None = None
    created_at: float | None = None
    message: str | None = None
    media: MediaRef | None = None
    default_region: str | None = None
    template: str | None = None
    message_column: str | None = None
    columns: tuple[str, ...] | None = None

    @property
    def per_row(self) -> bool:
        """Whether its numbers may have texts of their own (a message per row)."""
        return self.template is not None or self.message_column is not None


def _robots_to_text(robots: tuple[str, ...] | str | None) -> str:
    return json.dumps(list(robots) if isinstance(robots, tuple) else robots)


def _robots_from_text(text: str, _: object) -> tuple[str, ...] | str | None:
    robots = json.loads(text)
    if robots is None or isinstance(robots, str):
        return robots
    if isinstance(robots, list):
        return tuple(robots)
    raise ValueError(f"expected agent names, 'all' or null, got {text!r}")


def _columns_to_text(columns: tuple[str, ...] | None) -> str | None:
    return None if columns is None else json.dumps(list(columns), ensure_ascii=False)


def _columns_from_text(text: str, _: object) -> tuple[str, ...]:
    columns = json.loads(text)
    if not isinstance(columns, list) or not all(isinstance(name, str) for name in columns):
        raise ValueError(f"expected a JSON list of column names, got {text!r}")
    return tuple(columns)


def _converter() -> cattrs.Converter:
    """The converter between `CampaignMeta` and its rows; numbers travel as decimal text."""
    converter = cattrs.Converter()
    converter.register_unstructure_hook(int, str)
    converter.register_unstructure_hook(float, str)
    converter.register_structure_hook(int, lambda value, _: int(value))
    converter.register_structure_hook(float, lambda value, _: float(value))
    converter.register_unstructure_hook(CampaignKind, lambda kind: kind.value)
    # A media file's fields are rows of their own, named after it.
    path, sha256, size = (override(rename=f"media_{name}") for name in ("path", "sha256", "size"))
    converter.register_unstructure_hook(
        MediaRef,
        make_dict_unstructure_fn(MediaRef, converter, path=path, sha256=sha256, size=size),
    )
    converter.register_structure_hook(
        MediaRef, make_dict_structure_fn(MediaRef, converter, path=path, sha256=sha256, size=size)
    )
    robots = override(unstruct_hook=_robots_to_text, struct_hook=_robots_from_text)
    columns = override(unstruct_hook=_columns_to_text, struct_hook=_columns_from_text)
    media = override(omit=True)
    converter.register_unstructure_hook(
        CampaignMeta,
        make_dict_unstructure_fn(
            CampaignMeta, converter, media=media, robots=robots, columns=columns
        ),
    )
    converter.register_structure_hook(
        CampaignMeta,
        make_dict_structure_fn(
            CampaignMeta, converter, media=media, robots=robots, columns=columns
        ),
    )
    return converter


_CONVERTER: Final = _converter()


def to_rows(meta: CampaignMeta) -> dict[str, str]:
    """The ``meta`` rows (key -> text) that keep *meta*; a setting that is ``None`` has none."""
    rows: dict[str, Any] = _CONVERTER.unstructure(meta)
    if meta.media is not None:
        rows |= _CONVERTER.unstructure(meta.media)
    return {key: value for key, value in rows.items() if value is not None}


def from_rows(rows: Mapping[str, str], where: str) -> CampaignMeta:
    """
    The settings the ``meta`` *rows* of the campaign at *where* keep.

    Raises:
        CampaignError: a setting is missing or unreadable (the campaign is incomplete).
    """
    path = "$"
    try:
        meta = _CONVERTER.structure(rows, CampaignMeta)
        if meta.kind.is_media:
            path = "$.media"
            # A media file sent with the format its name gives has no ``file_format`` row.
            media = _CONVERTER.structure({"file_format": None, **rows}, MediaRef)
            meta = attrs.evolve(meta, media=media)
    except cattrs.BaseValidationError as exc:
        detail = "; ".join(cattrs.transform_error(exc, path=path))
        raise CampaignError(f"campaign journal {where!r} is incomplete: {detail}") from None
    return meta
