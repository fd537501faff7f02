"""How a transition is declared. One `Transition` says everything about a state change: its name
and words, who may do it from which status, what it takes as input, its domain effect, how it
moves the flow, its audit action and what to tell the user when it is done. Everything else is
derived from it: the API endpoint and its request schema, the page's form and panel, the admin
action, the guard, and `available` ("what may this user do now"), which the API and the page
both show. Adding a transition is adding a declaration (and its domain effect)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _

from casework import access
from casework.choices import AuditAction
from casework.errors import NotFound
from casework.models import User

from .inputs import Input


class Party(Enum):
    """Who a transition's grant is for, relative to its record."""

    CASE_MEMBER = "case_member"  # the member who filed the case
    CASE_STAFF = "case_staff"  # staff (or the head) of the committee the case is with
    OUTPUT_STAFF = "output_staff"  # staff of the committee the output is with
    SYSTEM = "system"  # nobody: the system, as the consequence of another transition

    def includes(self, user: User, record: Any) -> bool:
        if self is Party.CASE_MEMBER:
            return access.is_case_member(user, record)
        if self is Party.CASE_STAFF:
            return access.is_case_staff(user, record)
        if self is Party.OUTPUT_STAFF:
            return access.is_output_staff(user, record)
        return False

    @property
    def refusal(self) -> str:
        """The error code when a user visible to the record is not this party."""
        return {
            Party.CASE_MEMBER: "not_case_member",
            Party.CASE_STAFF: "not_committee_staff",
            Party.OUTPUT_STAFF: "not_committee_staff",
            Party.SYSTEM: "system_only",
        }[self]


@dataclass(frozen=True)
class Grant:
    party: Party
    statuses: tuple[str, ...]


def member(*statuses: str) -> Grant:
    return Grant(Party.CASE_MEMBER, statuses)


def staff(*statuses: str) -> Grant:
    return Grant(Party.CASE_STAFF, statuses)


class Move(Enum):
    """What the transition does to the flow."""

    STAY = "stay"  # nothing (an edit)
    START = "start"  # start the case's flow (a draft is submitted)
    CLAIM = "claim"  # the actor takes the open task
    RELEASE = "release"  # the actor puts it back in the queue
    COMPLETE = "complete"  # the open task is done; the flow routes by the new status
    SEND_BACK = "send_back"  # undo the last review decision and reopen review


class Hold(Enum):
    """What the transition needs of whoever holds the open task."""

    ANY = "any"
    FREE = "free"  # nobody holds it (claim)
    MINE = "mine"  # the actor holds it (release)
    TAKE = "take"  # nobody or the actor: decided by whoever holds it, claimed on the way


@dataclass(frozen=True)
class Rule:
    """A further condition on the record, with what to say when it does not hold."""

    holds: Callable[[Any], bool]
    message: Promise | str


@dataclass(frozen=True)
class Cascade:
    """A transition of an output that carries on to the cases it gathered: each case in
    `status` goes through the case transition `transition`, with the values `values` gives."""

    status: str
    transition: str
    values: Callable[[Any], dict[str, Any]]


@dataclass(frozen=True, eq=False)
class Transition:
    name: str
    label: Promise | str
    done: Promise | str
    grants: tuple[Grant, ...]
    effect: Callable[..., dict[str, Any] | None]
    audit: AuditAction
    input: Input = field(default_factory=Input)
    move: Move = Move.COMPLETE
    hold: Hold = Hold.ANY
    when: Rule | None = None
    help: Promise | str = ""
    button: Promise | str = ""
    tone: str = ""  # how a page draws the button: "primary", "danger" or plain
    cascade: Cascade | None = None
    _takes_ip: bool = field(init=False, repr=False, default=False)

    @property
    def statuses(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for grant in self.grants:
            seen.update(dict.fromkeys(grant.statuses))
        return tuple(seen)

    @property
    def is_public(self) -> bool:
        """Someone may do it (a system-only transition has no endpoint, form or button)."""
        return any(g.party is not Party.SYSTEM for g in self.grants)

    def parties(self, status: str) -> list[Party]:
        return [g.party for g in self.grants if status in g.statuses]

    def describe(self) -> dict[str, Any]:
        """The transition as clients read it in a record's `available_transitions`."""
        return {"name": self.name, "label": str(self.label), "fields": self.input.describe()}

    def __post_init__(self) -> None:
        # Read once: inspecting the effect's signature on every call cost more than the call.
        object.__setattr__(self, "_takes_ip", "source_ip" in inspect.signature(self.effect).parameters)

    def apply_effect(
        self, record_kw: dict[str, Any], values: dict[str, Any], source_ip: str | None
    ) -> dict[str, Any] | None:
        extra = {"source_ip": source_ip} if self._takes_ip else {}
        return self.effect(**record_kw, **values, **extra)


class Lifecycle:
    """The transitions of one kind of record, by name, in the order they were declared."""

    def __init__(self, name: str, transitions: list[Transition]) -> None:
        self.name = name
        self._by_name: dict[str, Transition] = {}
        for transition in transitions:
            assert transition.name not in self._by_name, f"{name}: {transition.name} declared twice"
            self._by_name[transition.name] = transition

    def __getitem__(self, name: str) -> Transition:
        transition = self._by_name.get(name)
        if transition is None:
            raise NotFound(_("没有名为「%(n)s」的流转。") % {"n": name}, code="unknown_transition")
        return transition

    def __iter__(self) -> Iterator[Transition]:
        return iter(self._by_name.values())

    def public(self) -> list[Transition]:
        return [t for t in self if t.is_public]

    def names(self) -> list[str]:
        return [t.name for t in self.public()]
