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
    CASE_HEAD = "case_head"  # the head of the committee the case is with, and none of its staff
    OUTPUT_STAFF = "output_staff"  # staff of the committee the output is with
    FIRST_PROPOSER = "first_proposer"  # the output's first proposer (a member)
    PROPOSAL_OFFICE = "proposal_office"  # the proposal office of the output's organisation
    DEPARTMENT = "department"  # the liaison of the department an assignment is for
    SIGNER = "signer"  # the member a signature is of, and nobody else
    RECEIVING_STAFF = "receiving_staff"  # staff of the organisation an info report was sent up to
    LEADERSHIP = "leadership"  # leadership (主席会议成员) of the output's organisation
    SYSTEM = "system"  # nobody: the system, as the consequence of another transition

    def includes(self, user: User, record: Any) -> bool:
        check = _PARTY_CHECKS.get(self)
        return check(user, record) if check is not None else False

    @property
    def refusal(self) -> str:
        """The error code when a user visible to the record is not this party."""
        return {
            Party.CASE_MEMBER: "not_case_member",
            Party.CASE_STAFF: "not_committee_staff",
            Party.CASE_HEAD: "not_committee_head",
            Party.OUTPUT_STAFF: "not_committee_staff",
            Party.FIRST_PROPOSER: "not_first_proposer",
            Party.PROPOSAL_OFFICE: "not_proposal_office",
            Party.DEPARTMENT: "not_your_department",
            Party.SIGNER: "not_your_signature",
            Party.RECEIVING_STAFF: "not_receiving_staff",
            Party.LEADERSHIP: "not_leadership",
            Party.SYSTEM: "system_only",
        }[self]


def _output_of(record: Any) -> Any:
    """The output a record of an output lifecycle belongs to (itself, for an output)."""
    return getattr(record, "output", None) or record


_PARTY_CHECKS: dict[Party, Callable[[User, Any], bool]] = {
    Party.CASE_MEMBER: access.is_case_member,
    Party.CASE_STAFF: access.is_case_staff,
    Party.CASE_HEAD: access.is_case_head,
    Party.OUTPUT_STAFF: lambda user, record: access.is_output_staff(user, _output_of(record)),
    Party.FIRST_PROPOSER: lambda user, record: access.is_first_proposer(user, _output_of(record)),
    Party.PROPOSAL_OFFICE: lambda user, record: access.is_proposal_office(user, _output_of(record)),
    Party.DEPARTMENT: access.is_department_of,
    Party.SIGNER: access.is_signer_self,
    Party.RECEIVING_STAFF: lambda user, record: access.is_receiving_staff(user, _output_of(record)),
    Party.LEADERSHIP: lambda user, record: access.is_output_leader(user, _output_of(record)),
}


@dataclass(frozen=True)
class Grant:
    party: Party
    statuses: tuple[str, ...]


def member(*statuses: str) -> Grant:
    return Grant(Party.CASE_MEMBER, statuses)


def staff(*statuses: str) -> Grant:
    return Grant(Party.CASE_STAFF, statuses)


def head(*statuses: str) -> Grant:
    return Grant(Party.CASE_HEAD, statuses)


class Move(Enum):
    """What the transition does to the flow."""

    STAY = "stay"  # nothing (an edit)
    START = "start"  # start the case's flow (a draft is submitted)
    CLAIM = "claim"  # the actor takes the open task
    RELEASE = "release"  # the actor puts it back in the queue
    REASSIGN = "reassign"  # the open task goes to the member of the team the effect names
    COMPLETE = "complete"  # the open task is done; the flow routes by the new status
    SEND_BACK = "send_back"  # undo the last review decision and reopen review
    REOPEN = "reopen"  # (an output's) the case it names leaves it and goes back to conversion


class Hold(Enum):
    """What the transition needs of whoever holds the open task."""

    ANY = "any"
    FREE = "free"  # nobody holds it (claim)
    MINE = "mine"  # the actor holds it (release)
    TAKE = "take"  # nobody or the actor: decided by whoever holds it, claimed on the way


@dataclass(frozen=True)
class Rule:
    """A further condition on the record, with what to say when it does not hold: fixed words, or
    words made from the record (a window's dates)."""

    holds: Callable[[Any], bool]
    message: Promise | str | Callable[[Any], str]
    # Said on the record's page while it keeps the step from being offered: for a condition the
    # user can put right (a signer to chase, a name to take out of the text), not for one that
    # is simply not the case yet (no department has objected).
    explained: bool = False

    def says(self, record: Any) -> Promise | str:
        if isinstance(self.message, Promise | str):
            return self.message
        return self.message(record)


@dataclass(frozen=True)
class Tell:
    """An output transition the cases it gathered hear of: the event goes onto each case's
    timeline with `summary` (what happened, in words the member can pass on), and when `moves`
    says so (of the output after the change) the cases waiting for an outcome move to feedback
    with that summary as their outcome."""

    summary: Callable[[Any], str]
    moves: Callable[[Any], bool] = lambda output: False
    # The output whose cases hear of it: the record's own, or where they went (a proposal merged
    # into another, or one that became an info report).
    to: Callable[[Any], Any] = lambda output: output


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
    when: Rule | tuple[Rule, ...] | None = None
    help: Promise | str = ""
    button: Promise | str = ""
    tone: str = ""  # how a page draws the button: "primary", "danger" or plain
    tells: Tell | None = None
    _takes_ip: bool = field(init=False, repr=False, default=False)

    @property
    def statuses(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for grant in self.grants:
            seen.update(dict.fromkeys(grant.statuses))
        return tuple(seen)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The further conditions, in the order they are checked."""
        if self.when is None:
            return ()
        return self.when if isinstance(self.when, tuple) else (self.when,)

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


def _own_status(record: Any) -> str:
    return str(record.status)


def _own_status_display(record: Any) -> str:
    return str(record.get_status_display())


class Lifecycle:
    """The transitions of one kind of record, by name, in the order they were declared.
    `status_of` reads the status the grants speak of (the record's own, or for a signature its
    output's); `display_of` says it in words."""

    def __init__(
        self,
        name: str,
        transitions: list[Transition],
        *,
        status_of: Callable[[Any], str] = _own_status,
        display_of: Callable[[Any], str] = _own_status_display,
    ) -> None:
        self.name = name
        self.status_of = status_of
        self.display_of = display_of
        self._by_name: dict[str, Transition] = {}
        for transition in transitions:
            assert transition.name not in self._by_name, f"{name}: {transition.name} declared twice"
            self._by_name[transition.name] = transition

    def __add__(self, other: Lifecycle) -> Lifecycle:
        """The transitions of both (an output type's own, after those every output has)."""
        return Lifecycle(
            f"{self.name}+{other.name}", [*self, *other], status_of=self.status_of, display_of=self.display_of
        )

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

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
