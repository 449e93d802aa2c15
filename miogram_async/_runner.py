"""
The machinery under `MioGram`'s action methods: one action through the session (the secret
change and the 307-means-false rule included), a single media send, and a Mass send.

`MioGram` inherits it, so each of its methods stays a docstring, its argument checks and one
``return await self._run...(ROW, ...)``. ``_run_mass`` is also the campaign's typed Mass entry
point, and ``_run_media`` the CLI's.
"""

# ASYNC109: ``timeout`` is the actions' per-call reply timeout (the contract, SURFACE.md), handed
# to the request path; it bounds the HTTP read, not the coroutine.

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable
from typing import TypeVar, cast

from . import _actions as actions
from ._actions import Action
from ._errors import NumberNotFoundError
from ._mass import send_mass
from ._options import FanoutOptions, MassOptions, mass_options
from ._payload import MediaData, Payloads
from ._result import MassResult
from ._secret_change import change_secret
from ._session import Session

__all__ = ["ActionRunner"]

_T = TypeVar("_T")


class ActionRunner:
    """
    What every action method of `MioGram` ends in; `MioGram.__init__` sets the attributes.

    Attributes:
        _session: the request path.
        _normalize: the phone normaliser of the client's default region.
        _payloads: message and file checks against the account's limits once loaded.
        _agents: the account's agents once asked (``APIGetRobot``), for Mass rotation.
    """

    _session: Session
    _normalize: Callable[[str], str]
    _payloads: Payloads
    _agents: tuple[str, ...] | None

    async def _run(
        self,
        action: Action[_T],
        *,
        robot: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
        **elements: str | None,
    ) -> _T:
        """Send one *action* with *elements* (as `call`) and return its row's decoded result."""
        assert action.decode is not None, "a Mass action goes through _run_mass"
        if action.secret_bearing:
            return await change_secret(
                self._session, action, elements, robot=robot, read_timeout=timeout
            )
        try:
            result = await self._session.request(
                action, action.decode, elements, robot=robot, read_timeout=timeout
            )
        except NumberNotFoundError:
            if not action.not_found_is_false:
                raise
            # The gateway answers a number it cannot resolve with 307 (API.md E6) where the
            # document promises false (G2): both mean "not delivered", and neither was charged.
            return cast("_T", False)
        return result

    # Positional parameters (PLR0917): each action method ends in one short call of these.
    async def _run_media(  # noqa: PLR0917
        self,
        action: Action[bool],
        phone: str,
        data: MediaData,
        file_format: str | None,
        robot: str | None,
        timeout: float | None,  # noqa: ASYNC109
    ) -> bool:
        """A single media send: the number, then the file checked against its row's limit."""
        number = self._phone(phone)
        media = await self._payloads.media_elements(action, data, file_format)
        return await self._run(action, phone=number, robot=robot, timeout=timeout, **media)

    async def _run_mass(  # noqa: PLR0917
        self,
        action: Action[dict[str, bool]],
        phones: Iterable[str] | AsyncIterable[str],
        payload: str | MediaData,
        file_format: str | None = None,
        robot: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
        options: MassOptions | FanoutOptions | None = None,
    ) -> MassResult:
        """Mass *action* to *phones* with *payload* (message or file); the campaign's entry."""
        if not isinstance(options, MassOptions):
            options = mass_options(options or {})
        elements: dict[str, str | None]
        if action.media is None:
            # check_message refuses anything but a str with a ValidationError.
            elements = {"message": await self._payloads.message(cast("str", payload))}
        else:
            elements = await self._payloads.media_elements(action, payload, file_format)
        return await send_mass(
            self._session,
            action,
            phones,
            elements,
            normalize=self._normalize,
            robot=robot,
            read_timeout=timeout,
            options=options,
            all_robots=self._account_agents,
        )

    async def _account_agents(self) -> tuple[str, ...]:
        """The account's agents, asked once per client (``APIGetRobot``) and kept."""
        if self._agents is None:
            self._agents = tuple(await self._run(actions.API_GET_ROBOT))
        return self._agents

    def _phone(self, phone: str) -> str:
        """*phone* normalised under the client's default region."""
        return self._normalize(phone)
