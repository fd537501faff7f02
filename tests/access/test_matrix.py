"""Access as one proved mechanism: every role × every route × every transition.

The expected answers are written out here, as a table, from what each role is for (member: their
own cases, the outputs that gathered them and the proposals they sign; committee staff and
head: their committee's; the proposal office: the organisation's submitted proposals and every
assignment of them; a department's liaison: the proposals assigned to its department and its own
assignments; leadership: read-only over the organisation's; auditor: the audit trail (its events,
its page and export) and its alerts; sysadmin and the rest: no case content; anyone of another
organisation: nothing). They are never read from the code under test: a table derived from the
code would agree with any defect.

Each route of the resolver (the API's, the pages', the sign-in and the documentation's) must
have a row in `ROUTES`, and each declared transition a row in `CASE_TRANSITIONS`,
`OUTPUT_TRANSITIONS`, `PROPOSAL_TRANSITIONS`, `ASSIGNMENT_TRANSITIONS` or
`SIGNATURE_TRANSITIONS`: a new one fails `test_every_route_is_in_the_matrix` (or its transition
twin) until its expected answers are written down. The admin is one row (its pages are Django's,
gated by `is_staff`, and tested on their own).

Probes change nothing: each runs in a savepoint that is rolled back, so one world serves every
cell. Writes are probed with an `If-Match` that cannot match (the API answers 412 for a
record the caller may see, before deciding anything) or with a body that fails validation (the
pages answer the form again), so a cell says "can reach the record" without acting on it; what
each role may actually *do* is the transition matrix below, checked against the one guard."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from casework.choices import AssignmentStatus, NotificationKind, OutputStatus, Role
from casework.models import Assignment, Case, Department, Notification, Output, OutputSigner, User
from tests.factories import World, make_member, make_user, make_world, token_key
from tests.helpers import do, file, today
from workflows import actions, output_actions
from workflows.case_lifecycle import CASE
from workflows.declare import Lifecycle
from workflows.output_lifecycle import ASSIGNMENT, OUTPUT, PROPOSAL, SIGNATURE, every_output_transition

MISSING = 987654321

# The personas: every role of `Role` as someone of the world's organisation, plus a member who
# does not own the cases, staff of another committee, staff of another organisation and nobody.
PERSONAS = (
    "member",  # owns every case of the world
    "other_member",  # a member of the same organisation and sector, owning none of them
    Role.CONVENER.value,
    Role.COMMITTEE_STAFF.value,  # staff of the committee the cases are with
    "other_committee_staff",
    Role.COMMITTEE_HEAD.value,  # head of the cases' committee
    Role.PROPOSAL_OFFICE.value,
    Role.DEPARTMENT_LIAISON.value,
    Role.LEADERSHIP.value,
    Role.AUDITOR.value,
    Role.SECURITY_ADMIN.value,
    Role.SYSADMIN.value,
    "outsider",  # staff of another organisation's committee
    "anonymous",
)
SIGNED_IN = tuple(p for p in PERSONAS if p != "anonymous")

# Known gaps: what the roles are for that the site does not do yet. None of them lets anyone see
# more than they should (each fails closed, and the table says so), but each is missing:
# - convener: "their sector's roster". Rosters have no page or endpoint; the service is the one
#   door (`test_roster_matrix`).
# The three administrators' place is the admin (and the auditor's the audit page too): each enters
# it and sees only their part of it, over their own organisation's rows, with no case content
# (tests/web/test_admin_areas.py walks each part; here the admin is one row).


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    """The files the world attaches, and those the probes do (rolled back, but written), go to a
    directory of the test's own."""
    settings.MEDIA_ROOT = tmp_path


def row(default: int, **cells: int) -> dict[str, int]:
    """Expected answers for every persona: `default`, except those named."""
    unknown = set(cells) - set(PERSONAS)
    assert not unknown, f"not personas: {unknown}"
    return {p: cells.get(p, default) for p in PERSONAS}


# Who reaches a record (answers 2xx, or 412 for a stale If-Match) rather than 404.
SEES_CASE = ("member", Role.COMMITTEE_STAFF.value, Role.COMMITTEE_HEAD.value, Role.LEADERSHIP.value)
SEES_DRAFT = ("member",)
SEES_OUTPUT = SEES_CASE
# The proposal: the member's case became it and the member is its first proposer; the other
# member co-signs it; it is submitted (the office) and assigned to the liaison's department.
LIAISON = Role.DEPARTMENT_LIAISON.value
STAFF_ROLE, HEAD_ROLE = Role.COMMITTEE_STAFF.value, Role.COMMITTEE_HEAD.value
OFFICE = Role.PROPOSAL_OFFICE.value
SEES_PROPOSAL = (*SEES_CASE, "other_member", OFFICE, LIAISON)
WORKS_QUEUE = (Role.COMMITTEE_STAFF.value, Role.COMMITTEE_HEAD.value)
QUEUE_WORKERS = (*WORKS_QUEUE, "other_committee_staff", "outsider")


def seen_by(personas: tuple[str, ...], code: int, *, otherwise: int = 404, anonymous: int = 401) -> dict[str, int]:
    return row(otherwise, anonymous=anonymous, **dict.fromkeys(personas, code))


def everyone(code: int, *, anonymous: int = 401) -> dict[str, int]:
    return row(code, anonymous=anonymous)


PAGE_LOGIN = 302  # a page asks an anonymous visitor to sign in


def on_case(method: str, code: int, *, anonymous: int) -> dict[tuple[str, str], dict[str, int]]:
    """A route of one case: reached by those who see it, 404 for anyone else, a missing case and
    another organisation's case alike."""
    return {
        (method, "case"): seen_by(SEES_CASE, code, anonymous=anonymous),
        (method, "draft"): seen_by(SEES_DRAFT, code, anonymous=anonymous),
        (method, "foreign_case"): row(404, anonymous=anonymous),
        (method, "missing"): row(404, anonymous=anonymous),
    }


def on_output(method: str, code: int, *, anonymous: int) -> dict[tuple[str, str], dict[str, int]]:
    return {
        (method, "output"): seen_by(SEES_OUTPUT, code, anonymous=anonymous),
        (method, "foreign_output"): row(404, anonymous=anonymous),
        (method, "missing"): row(404, anonymous=anonymous),
    }


def on_proposal(method: str, code: int, *, anonymous: int) -> dict[tuple[str, str], dict[str, int]]:
    """A route of the proposal itself (its transitions): reached by those who see it."""
    return {
        (method, "proposal"): seen_by(SEES_PROPOSAL, code, anonymous=anonymous),
        (method, "foreign_output"): row(404, anonymous=anonymous),
        (method, "missing"): row(404, anonymous=anonymous),
    }


def on_typed_output(method: str, target: str, code: int, *, anonymous: int) -> dict[tuple[str, str], dict[str, int]]:
    """A route of an info report, speech or research report of the committee: reached by those
    who see the member's outputs."""
    return {
        (method, target): seen_by(SEES_OUTPUT, code, anonymous=anonymous),
        (method, "foreign_output"): row(404, anonymous=anonymous),
        (method, "missing"): row(404, anonymous=anonymous),
    }


def on_any_output(
    method: str, code: int, *, anonymous: int, proposal: dict[str, int] | None = None
) -> dict[tuple[str, str], dict[str, int]]:
    """A route of any output: the speech and the proposal (`proposal`: its row when it differs
    from being reached by those who see it)."""
    return {
        **on_output(method, code, anonymous=anonymous),
        (method, "proposal"): proposal or seen_by(SEES_PROPOSAL, code, anonymous=anonymous),
    }


def on_assignment(method: str, code: int, *, anonymous: int) -> dict[tuple[str, str], dict[str, int]]:
    """A record of the proposal (its assignment to the liaison's department, a signature, a file):
    reached by those who see the proposal."""
    return {
        (method, "assignment"): seen_by(SEES_PROPOSAL, code, anonymous=anonymous),
        (method, "foreign_assignment"): row(404, anonymous=anonymous),
        (method, "missing"): row(404, anonymous=anonymous),
    }


def on_signature(method: str, code: int, *, anonymous: int) -> dict[tuple[str, str], dict[str, int]]:
    return {
        (method, "signature"): seen_by(SEES_PROPOSAL, code, anonymous=anonymous),
        (method, "foreign_signature"): row(404, anonymous=anonymous),
        (method, "missing"): row(404, anonymous=anonymous),
    }


def on_file(method: str, code: int, *, anonymous: int) -> dict[tuple[str, str], dict[str, int]]:
    return {
        (method, "file"): seen_by(SEES_PROPOSAL, code, anonymous=anonymous),
        (method, "foreign_file"): row(404, anonymous=anonymous),
        (method, "missing"): row(404, anonymous=anonymous),
    }


def on_queue(method: str, own: int, other: int, *, anonymous: int) -> dict[tuple[str, str], dict[str, int]]:
    """A committee's queue: its staff and head only (`own`: the cases' committee, which has an
    unclaimed task; `other`: the other committee's, whose queue is empty)."""
    return {
        (method, "queue"): seen_by(WORKS_QUEUE, own, anonymous=anonymous),
        (method, "other_queue"): seen_by(("other_committee_staff",), other, anonymous=anonymous),
        (method, "foreign_queue"): row(404, anonymous=anonymous),
        (method, "missing"): row(404, anonymous=anonymous),
    }


def on_notification(method: str, code: int, *, anonymous: int) -> dict[tuple[str, str], dict[str, int]]:
    """A notification: its recipient's only (the committee staff's, in the world)."""
    return {
        (method, "notification"): seen_by((Role.COMMITTEE_STAFF.value,), code, anonymous=anonymous),
        (method, "missing"): row(404, anonymous=anonymous),
    }


def on_contact(method: str, code: int, *, anonymous: int) -> dict[tuple[str, str], dict[str, int]]:
    """Revealing a constituent's contact details: their own member and their sector's convener
    only; 404 for anyone else, another organisation's contact and a missing one alike."""
    return {
        (method, "contact"): seen_by(REVEALS_CONTACT, code, anonymous=anonymous),
        (method, "foreign_contact"): row(404, anonymous=anonymous),
        (method, "missing"): row(404, anonymous=anonymous),
    }


def plain(method: str, cells: dict[str, int]) -> dict[tuple[str, str], dict[str, int]]:
    return {(method, ""): cells}


# Who may reveal a contact of the member's roster: that member, and their sector's convener.
REVEALS_CONTACT = ("member", Role.CONVENER.value)
# Who reads the leadership dashboard and its exports; anyone else gets 404.
DASHBOARD_READERS = (Role.LEADERSHIP.value,)

# Who files a concern: members (the convener of the world is a member too). Filing names no
# record, so the others are refused by role: 403, as the API documents.
FILERS = ("member", "other_member", Role.CONVENER.value)
# Who reads the SLA report: committee staff and heads (their committees), the proposal office and
# leadership (the organisation), each of their own organisation; the others 403, documented.
REPORT_READERS = (
    Role.COMMITTEE_STAFF.value,
    "other_committee_staff",
    Role.COMMITTEE_HEAD.value,
    Role.PROPOSAL_OFFICE.value,
    Role.LEADERSHIP.value,
    "outsider",
)
# The staff roles sign in with a code: the enrolment page sends them on to the code step, and
# the code step sends a member (who needs none) home.
USES_OTP = tuple(p for p in SIGNED_IN if p not in FILERS)

# The API endpoint of every case transition anyone may do, written out (not read from the
# declarations: a new transition must be added here by hand, with the answers it should give).
# Probed with a stale If-Match: those who see the case get 412 before anything is decided.
CASE_TRANSITION_ROUTES = (
    "submit",
    "claim",
    "release",
    "accept",
    "request_info",
    "resolve",
    "redirect",
    "reject",
    "merge",
    "transfer",
    "answer_info",
    "convert",
    "feedback",
    "send_back",
    "edit",
    "reassign",
)
OUTPUT_TRANSITION_ROUTES = (
    "edit",
    "remove_case",
    "set_signers",
    "submit",
    "file",
    "not_file",
    "merge",
    "withdraw",
    "assign",
    "reassign",
)
# The transitions of the other output types, each probed on an output of a type that has it.
TYPED_TRANSITION_ROUTES = {
    "use": "info_report",
    "not_use": "info_report",
    "send_up": "info_report",
    "adopt": "info_report",
    "not_adopt": "info_report",
    "instruct": "info_report",
    "select": "output",  # the speech
    "approve": "research_report",
    "return": "research_report",
    "transmit": "research_report",
}
ASSIGNMENT_TRANSITION_ROUTES = (
    "accept",
    "object",
    "send_view",
    "request_extension",
    "decide_extension",
    "reply",
    "report_solved",
)
SIGNATURE_TRANSITION_ROUTES = ("confirm", "rate")

# ROUTES[route][(method, target)] = expected answer by persona. `target` names the record the
# route's id is filled with (see `Targets`), or "" for a route without one.
ROUTES: dict[str, dict[tuple[str, str], dict[str, int]]] = {
    # The API --------------------------------------------------------------------------------
    "api:token": plain("POST", everyone(400, anonymous=400)),  # the sign-in door: an empty body
    "api:cases": {
        **plain("GET", everyone(200)),  # the list is scoped, see test_lists_hold_only_what_each_role_sees
        **plain("POST", row(403, anonymous=401, **dict.fromkeys(FILERS, 201))),
    },
    "api:case": {**on_case("GET", 200, anonymous=401), **on_case("PATCH", 412, anonymous=401)},
    "api:case-events": on_case("GET", 200, anonymous=401),
    "api:case-joinable-outputs": on_case("GET", 200, anonymous=401),
    "api:case-merge-targets": on_case("GET", 200, anonymous=401),
    **{f"api:case-{name}": on_case("POST", 412, anonymous=401) for name in CASE_TRANSITION_ROUTES},
    # Each output transition is probed on the proposal (whose lifecycle has them all).
    **{f"api:output-{name}": on_proposal("POST", 412, anonymous=401) for name in OUTPUT_TRANSITION_ROUTES},
    **{
        f"api:output-{name}": on_typed_output("POST", target, 412, anonymous=401)
        for name, target in TYPED_TRANSITION_ROUTES.items()
    },
    **{f"api:assignment-{name}": on_assignment("POST", 412, anonymous=401) for name in ASSIGNMENT_TRANSITION_ROUTES},
    **{f"api:signature-{name}": on_signature("POST", 412, anonymous=401) for name in SIGNATURE_TRANSITION_ROUTES},
    "api:outputs": plain("GET", everyone(200)),  # scoped, see test_lists_hold_only_what_each_role_sees
    "api:output": on_any_output("GET", 200, anonymous=401),
    "api:output-events": on_any_output("GET", 200, anonymous=401),
    "api:output-merge-targets": on_any_output("GET", 200, anonymous=401),
    "api:assignments": plain("GET", everyone(200)),  # the liaison's and the office's; empty for the others
    # Posted with a valid file: the liaison of the assignment's department attaches it; those who
    # see the proposal are refused (not their department), anyone else does not find it.
    "api:assignment-files": {
        ("POST", "assignment"): seen_by(SEES_PROPOSAL, 403, anonymous=401) | {LIAISON: 200},
        ("POST", "foreign_assignment"): row(404, anonymous=401),
        ("POST", "missing"): row(404, anonymous=401),
    },
    "api:signatures-mine": plain("GET", everyone(200)),  # one's own; empty for the others
    "api:file": on_file("GET", 200, anonymous=401),
    "api:departments": plain("GET", everyone(200)),
    "api:output-reasons": plain("GET", everyone(200)),
    "api:sectors": plain("GET", everyone(200)),
    "api:members": plain("GET", everyone(200)),
    "api:leaders": plain("GET", everyone(200)),
    # Info reports sent up to the user's organisation: scoped (empty but for their deciders).
    "api:referrals": plain("GET", everyone(200)),
    "api:output-docx": on_any_output("GET", 200, anonymous=401),  # the output as a Word document
    "api:queues": plain("GET", everyone(200)),
    "api:queue-tasks": on_queue("GET", 200, 200, anonymous=401),
    "api:queue-claim-next": on_queue("POST", 200, 204, anonymous=401),
    "api:my-tasks": plain("GET", everyone(200)),
    "api:categories": plain("GET", everyone(200)),
    "api:townships": plain("GET", everyone(200)),
    "api:committees": plain("GET", everyone(200)),
    "api:reject-reasons": plain("GET", everyone(200)),
    "api:redirect-channels": plain("GET", everyone(200)),
    "api:output-types": plain("GET", everyone(200)),
    "api:contacts": plain("GET", everyone(200)),  # a member's own roster; empty for the others
    "api:report-sla": plain("GET", row(403, anonymous=401, **dict.fromkeys(REPORT_READERS, 200))),
    "api:audit-alerts": plain("GET", row(403, anonymous=401, **{Role.AUDITOR.value: 200})),
    "api:audit-events": plain("GET", row(403, anonymous=401, **{Role.AUDITOR.value: 200})),
    "api:notifications": plain("GET", everyone(200)),
    "api:notifications-unread-count": plain("GET", everyone(200)),
    "api:notifications-read-all": plain("POST", everyone(200)),
    "api:notification-read": on_notification("POST", 200, anonymous=401),
    "api:me-notification-settings": plain("GET", everyone(200)),
    "api:contact-reveal": on_contact("POST", 200, anonymous=401),
    # The pages: an anonymous visitor is sent to sign in -------------------------------------
    "home": plain("GET", everyone(200, anonymous=PAGE_LOGIN)),
    "case-new": plain("GET", row(403, anonymous=PAGE_LOGIN, **dict.fromkeys(FILERS, 200))),
    # The home list as a spreadsheet: everyone's own list (scoped as the page; tested on its own).
    "cases-export": plain("GET", everyone(200, anonymous=PAGE_LOGIN)),
    "case-page": on_case("GET", 200, anonymous=PAGE_LOGIN),
    # Posted with an empty form: those who see the case get the form back with its errors.
    "case-transition": on_case("POST", 200, anonymous=PAGE_LOGIN),
    "output-page": on_any_output("GET", 200, anonymous=PAGE_LOGIN),
    "output-transition": on_any_output("POST", 200, anonymous=PAGE_LOGIN),
    "output-docx": on_any_output("GET", 200, anonymous=PAGE_LOGIN),
    # An output's records, on its page: posted with an empty form by whoever sees the proposal (the
    # form comes back with its errors, or the refusal), the file downloaded by them; nobody else
    # learns the record exists.
    "assignment-transition": on_assignment("POST", 200, anonymous=PAGE_LOGIN),
    "assignment-file-upload": on_assignment("POST", 200, anonymous=PAGE_LOGIN),
    "signature-transition": on_signature("POST", 200, anonymous=PAGE_LOGIN),
    "output-file": on_file("GET", 200, anonymous=PAGE_LOGIN),
    # The desks: the proposal office's, and a liaison's of their department.
    "office-desk": plain("GET", row(404, anonymous=PAGE_LOGIN, **{OFFICE: 200})),
    "office-desk-export": plain("GET", row(404, anonymous=PAGE_LOGIN, **{OFFICE: 200})),
    "department-desk": plain("GET", row(404, anonymous=PAGE_LOGIN, **{LIAISON: 200})),
    "department-desk-export": plain("GET", row(404, anonymous=PAGE_LOGIN, **{LIAISON: 200})),
    # The info reports lower organisations sent up: a queue of every committee's staff and the
    # proposal office (the outsider is staff of the parent organisation); nobody else has it.
    "referrals": plain(
        "GET",
        row(
            404,
            anonymous=PAGE_LOGIN,
            **dict.fromkeys((STAFF_ROLE, HEAD_ROLE, "other_committee_staff", "outsider", OFFICE), 200),
        ),
    ),
    "referrals-export": plain(
        "GET",
        row(
            404,
            anonymous=PAGE_LOGIN,
            **dict.fromkeys((STAFF_ROLE, HEAD_ROLE, "other_committee_staff", "outsider", OFFICE), 200),
        ),
    ),
    "queue-page": on_queue("GET", 200, 200, anonymous=PAGE_LOGIN),
    "queue-claim-next": on_queue("POST", 302, 302, anonymous=PAGE_LOGIN),
    # A bulk claim with nothing ticked is refused on the page (back to the queue, saying why).
    "queue-claim": on_queue("POST", 302, 302, anonymous=PAGE_LOGIN),
    "queue-export": on_queue("GET", 200, 200, anonymous=PAGE_LOGIN),
    # The user's own claimed tasks: for whoever works a queue (the outsider works one of theirs).
    "my-tasks": plain("GET", seen_by(QUEUE_WORKERS, 200, anonymous=PAGE_LOGIN)),
    "my-tasks-export": plain("GET", seen_by(QUEUE_WORKERS, 200, anonymous=PAGE_LOGIN)),
    # Releasing a task: staff of the case's committee reach it (a release they may not do is
    # said on the page they come back to); the draft is no staff's to see.
    "task-release": {
        ("POST", "case"): seen_by(WORKS_QUEUE, 302, anonymous=PAGE_LOGIN),
        ("POST", "draft"): row(404, anonymous=PAGE_LOGIN),
        ("POST", "foreign_case"): row(404, anonymous=PAGE_LOGIN),
        ("POST", "missing"): row(404, anonymous=PAGE_LOGIN),
    },
    # A committee's team page: its head only; its staff, the other committee's and everyone
    # else do not find it.
    "team-page": {
        ("GET", "queue"): seen_by((HEAD_ROLE,), 200, anonymous=PAGE_LOGIN),
        ("GET", "other_queue"): row(404, anonymous=PAGE_LOGIN),
        ("GET", "foreign_queue"): row(404, anonymous=PAGE_LOGIN),
        ("GET", "missing"): row(404, anonymous=PAGE_LOGIN),
    },
    "notifications": plain("GET", everyone(200, anonymous=PAGE_LOGIN)),
    "notifications-read-all": plain("POST", everyone(302, anonymous=PAGE_LOGIN)),
    "notification-read": on_notification("POST", 302, anonymous=PAGE_LOGIN),
    "profile": plain("GET", everyone(200, anonymous=PAGE_LOGIN)),
    "contact-reveal": on_contact("POST", 200, anonymous=PAGE_LOGIN),
    # The auditor's trail and its export; anyone else gets 404, as for the dashboard.
    "audit": plain("GET", row(404, anonymous=PAGE_LOGIN, **{Role.AUDITOR.value: 200})),
    "audit-export": plain("GET", row(404, anonymous=PAGE_LOGIN, **{Role.AUDITOR.value: 200})),
    "dashboard": plain("GET", row(404, anonymous=PAGE_LOGIN, **dict.fromkeys(DASHBOARD_READERS, 200))),
    "dashboard-export": plain("GET", row(404, anonymous=PAGE_LOGIN, **dict.fromkeys(DASHBOARD_READERS, 200))),
    # Signing in and out, and the documentation ----------------------------------------------
    "login": plain("GET", everyone(200, anonymous=200)),
    "logout": plain("POST", everyone(302, anonymous=302)),
    "password-change": plain("GET", everyone(200, anonymous=PAGE_LOGIN)),
    "otp-setup": plain("GET", row(200, anonymous=PAGE_LOGIN, **dict.fromkeys(USES_OTP, 302))),
    "otp-verify": plain("GET", row(302, anonymous=PAGE_LOGIN, **dict.fromkeys(USES_OTP, 200))),
    "set_language": plain("POST", everyone(302, anonymous=302)),
    "schema": plain("GET", everyone(200, anonymous=200)),  # the OpenAPI document is public
    "api-docs": plain("GET", everyone(200, anonymous=200)),
    # The admin: the three administrators' (each part tested on its own); anyone else is sent to
    # sign in as one.
    "admin:*": plain(
        "GET", row(302, **dict.fromkeys((Role.AUDITOR.value, Role.SECURITY_ADMIN.value, Role.SYSADMIN.value), 200))
    ),
}


@dataclass
class Targets:
    case: int  # the member's case, in review, with the committee
    draft: int  # the member's draft
    foreign_case: int  # a case of another organisation
    output: int  # an output of the committee (a speech), gathering the member's case
    info_report: int  # an info report of the committee, gathering another of the member's cases
    research_report: int  # a research report of the committee, gathering another
    foreign_output: int
    proposal: int  # the member's proposal, co-signed by the other member, assigned (split) to two departments
    assignment: int  # the proposal's assignment to the liaison's department
    foreign_assignment: int  # an assignment of another organisation's proposal
    signature: int  # the other member's signature of the proposal
    foreign_signature: int
    file: int  # a file the liaison attached to the assignment
    foreign_file: int
    queue: int  # the committee
    other_queue: int  # another committee of the organisation
    foreign_queue: int  # a committee of another organisation
    notification: int  # a notification of the committee staff's
    contact: int  # a constituent on the member's roster
    foreign_contact: int  # a constituent of another organisation

    def ids(self, target: str) -> int:
        return MISSING if target == "missing" else getattr(self, target)


def walk(resolver: URLResolver | None = None, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    """Every route of the site as (name, pattern), names qualified by their namespace."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, pattern, inner)
        else:
            assert isinstance(entry, URLPattern)
            yield (f"{namespace}{entry.name}" if entry.name else pattern), pattern


def route_keys() -> set[str]:
    """The routes the matrix must cover: the admin's many pages are the one row `admin:*`."""
    return {
        "admin:*" if name.startswith("admin:") or pattern.startswith("admin/") else name for name, pattern in walk()
    }


# The world ---------------------------------------------------------------------------------------


@dataclass
class Matrix:
    world: World
    users: dict[str, User | None]
    targets: Targets
    cases: dict[str, Case]  # one case of the member's in each status (and one claimed)
    refs: dict[str, int]  # records a transition's input names (a department, the first proposer)
    clients: dict[tuple[str, bool], Any] = field(default_factory=dict)

    def client(self, persona: str, api: bool) -> Any:
        """One signed-in client a persona and kind (a client loads the middleware once; a new one
        per request made the matrix four times slower)."""
        key = (persona, api)
        if key not in self.clients:
            user = self.users[persona]
            client: Any = APIClient() if api else Client()
            if user is not None and api:
                client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user)}")
            elif user is not None:
                client.force_login(user)
            self.clients[key] = client
        return self.clients[key]


def build() -> Matrix:
    w = make_world()
    head = make_user(w.org, Role.COMMITTEE_HEAD)
    w.committee.head = head
    w.committee.save()
    convener = make_member(w.org, w.sector, "召集人").user
    convener.groups.add(Group.objects.get_or_create(name=Role.CONVENER)[0])
    w.sector.conveners.add(convener.member)
    users: dict[str, User | None] = {
        "member": w.member.user,
        "other_member": w.other_member.user,
        Role.CONVENER.value: convener,
        Role.COMMITTEE_STAFF.value: w.staff,
        "other_committee_staff": w.other_staff,
        Role.COMMITTEE_HEAD.value: head,
        Role.LEADERSHIP.value: w.leader,
        "outsider": w.outsider,
        "anonymous": None,
    }
    for role in (Role.PROPOSAL_OFFICE, Role.DEPARTMENT_LIAISON, Role.AUDITOR, Role.SECURITY_ADMIN, Role.SYSADMIN):
        users[role.value] = make_user(w.org, role)
    assert set(users) == set(PERSONAS)

    def new(submit: bool = True, title: str = "学校门口接送拥堵") -> Case:
        return file(
            w.member.user,
            submit=submit,
            title=title,
            description="每天放学时段南城实小门口拥堵半小时。",
            category=w.category.pk,
            contacts=w.contact_ids(),
        )

    staff = w.staff
    cases: dict[str, Case] = {"draft": new(submit=False), "review": new()}
    cases["review_claimed"] = new()
    do("claim", cases["review_claimed"].pk, staff)
    cases["needs_info"] = new()
    do("request_info", cases["needs_info"].pk, staff, question="请补充照片")
    cases["conversion"] = new()
    do("accept", cases["conversion"].pk, staff)
    cases["outcome"] = new()
    do("accept", cases["outcome"].pk, staff)
    do("convert", cases["outcome"].pk, staff, output_type="speech")
    typed: dict[str, int] = {}
    for output_type in ("info_report", "research_report"):
        made = new(title=f"学校门口接送拥堵（{output_type}）")
        do("accept", made.pk, staff)
        typed[output_type] = do("convert", made.pk, staff, output_type=output_type).output_id or 0
        cases[f"in_{output_type}"] = made
    cases["feedback"] = new()
    do("resolve", cases["feedback"].pk, staff, note="已协调交警")
    cases["closed"] = new()
    do("resolve", cases["closed"].pk, staff, note="已协调")
    do("feedback", cases["closed"].pk, w.member.user, told_on=today(), method="visit", satisfaction="satisfied")
    cases["merged"] = new()
    do("merge", cases["merged"].pk, staff, into=cases["review"].pk)
    desk = Department.objects.create(organisation=w.org, name="区教育局")
    other_desk = Department.objects.create(organisation=w.org, name="区公安分局")
    liaison = users[LIAISON]
    assert liaison is not None
    liaison.department = desk
    liaison.save()
    other_liaison = make_user(w.org, Role.DEPARTMENT_LIAISON)
    other_liaison.department = other_desk
    other_liaison.save()
    cases["proposal"] = new(title="校园周边交通安全")
    proposal, assignment, upload = _assigned_proposal(
        w, cases["proposal"], users[OFFICE], desk, other_desk, co_signer=w.other_member.user
    )
    # The other department objects: the office may reassign.
    other = Assignment.objects.get(output=proposal, department=other_desk)
    output_actions.perform(
        "assignment", "object", record_id=other.pk, actor=other_liaison, data={"reason": "非本单位职责"}
    )
    for case in cases.values():
        case.refresh_from_db()
    output = cases["outcome"].output_id
    assert output is not None

    far = make_world("政协台州市路桥区委员会")
    foreign_case = file(
        far.member.user, title="外区案件", description="外区的反映。", category=far.category.pk, contacts=[]
    )
    do("accept", foreign_case.pk, far.staff)
    do("convert", foreign_case.pk, far.staff, output_type="speech")
    foreign_case.refresh_from_db()
    far_case = file(
        far.member.user, title="外区提案", description="外区的反映。", category=far.category.pk, contacts=[]
    )
    far_desk = Department.objects.create(organisation=far.org, name="路桥区教育局")
    far_proposal, far_assignment, far_upload = _assigned_proposal(
        far, far_case, make_user(far.org, Role.PROPOSAL_OFFICE), far_desk, None
    )
    notification = Notification.objects.create(
        organisation=w.org,
        recipient=w.staff,
        kind=NotificationKind.CLOCK_WARNING,
        title="即将超期",
        dedupe_key="matrix",
        case=cases["review"],
    )
    targets = Targets(
        case=cases["review"].pk,
        draft=cases["draft"].pk,
        foreign_case=foreign_case.pk,
        output=output,
        info_report=typed["info_report"],
        research_report=typed["research_report"],
        foreign_output=foreign_case.output_id or 0,
        queue=w.committee.pk,
        other_queue=w.other_committee.pk,
        foreign_queue=far.committee.pk,
        notification=notification.pk,
        contact=w.contact_ids()[0],
        foreign_contact=far.contact_ids()[0],
        proposal=proposal.pk,
        assignment=assignment.pk,
        foreign_assignment=far_assignment.pk,
        signature=OutputSigner.objects.get(output=proposal, user=w.other_member.user).pk,
        foreign_signature=OutputSigner.objects.get(output=far_proposal).pk,
        file=upload.pk,
        foreign_file=far_upload.pk,
    )
    spare = Department.objects.create(organisation=w.org, name="区民政局")  # where a reassignment may go
    refs = {"desk": desk.pk, "spare": spare.pk, "objected": other.pk, "first": w.member.user.pk}
    m = Matrix(w, users, targets, cases, refs)
    for persona in PERSONAS:  # signed in now: a session made inside a probe would roll back with it
        m.client(persona, api=True)
        m.client(persona, api=False)
    return m


def _assigned_proposal(
    w: World,
    case: Case,
    office: User | None,
    desk: Department,
    other_desk: Department | None,
    co_signer: User | None = None,
) -> tuple[Output, Assignment, Any]:
    """`case` made a proposal, signed (by its member, and `co_signer`), submitted, filed and
    assigned to `desk` (as lead, or split with `other_desk`); the desk's liaison attaches a file."""
    assert office is not None
    do("accept", case.pk, w.staff)
    case = do("convert", case.pk, w.staff, output_type="proposal", title=f"关于{case.title}的提案")
    pk = case.output_id
    assert pk is not None

    def act(kind: str, name: str, record: int, actor: User, **data: Any) -> None:
        output_actions.perform(kind, name, record_id=record, actor=actor, data=data)

    act("output", "edit", pk, w.staff, suggestion="增设护学岗。")
    if co_signer is not None:
        act("output", "set_signers", pk, w.staff, first=case.member.user_id, co_signers=[co_signer.pk])
    for signer in OutputSigner.objects.filter(output_id=pk):
        act("signature", "confirm", signer.pk, signer.user)
    act("output", "submit", pk, w.staff)
    act("output", "file", pk, office)
    if other_desk is None:
        act("output", "assign", pk, office, handling="joint", lead=desk.pk)
    else:
        act("output", "assign", pk, office, handling="split", split=[desk.pk, other_desk.pk])
    assignment = Assignment.objects.get(output_id=pk, department=desk)
    liaison = make_user(w.org, Role.DEPARTMENT_LIAISON) if other_desk is None else None
    if liaison is not None:
        liaison.department = desk
        liaison.save()
    attacher = liaison or User.objects.get(department=desk, groups__name=Role.DEPARTMENT_LIAISON)
    upload = output_actions.attach_file(
        assignment_id=assignment.pk, actor=attacher, upload=SimpleUploadedFile("答复函.pdf", b"%PDF-1.4 reply")
    )
    return Output.objects.get(pk=pk), assignment, upload


# Probing -----------------------------------------------------------------------------------------

STALE = {"HTTP_IF_MATCH": '"stale-tag-of-the-matrix"'}
KWARG = (
    "case_id",
    "output_id",
    "record_id",
    "assignment_id",
    "file_id",
    "committee_id",
    "notification_id",
    "contact_id",
    "signature_id",
)


def _sample(field: Any, m: Matrix) -> Any:
    """A valid value for a transition's input field, so the probe reaches the record."""
    kind = field.kind
    if kind == "text":
        return "核对"
    if kind == "choice":
        return next(iter(field.choices.values))
    if kind == "flag":
        return False
    if kind == "refs":
        return []
    if kind == "date" and field.name == "until":  # an extension: past the reply's due day, before the latest one
        from datetime import timedelta

        from django.utils import timezone

        return (timezone.localdate() + timedelta(days=120)).isoformat()
    if kind == "date":  # the day something happened (a constituent told, an instruction given)
        return today()
    refs = {
        "reason": m.world.reason.pk,
        "into": m.cases["conversion"].pk,
        "committee": m.world.other_committee.pk,
        "category": m.world.category.pk,
        "case": m.cases["proposal"].pk,
        "first": m.refs["first"],
        "assignment": m.refs["objected"],
        "department": m.refs["spare"],
        "to": getattr(m.users[Role.COMMITTEE_HEAD.value], "pk", None),  # a reassignment: the head takes it
    }
    return refs.get(field.name)


def _transition_body(lifecycle: Any, name: str, m: Matrix) -> dict[str, Any]:
    t = lifecycle[name]
    if t.input.partial:  # an edit: one field anyone who may edit may set
        return {"title": "核对"}
    body = {f.name: _sample(f, m) for f in t.input.fields}
    return {k: v for k, v in body.items() if v is not None}


def _pattern(name: str) -> str:
    return next(p for n, p in walk() if n == name)


def _path(route: str, target: str, m: Matrix) -> str:
    from django.urls import reverse

    name = {"admin:*": "admin:index"}.get(route, route)
    kwargs: dict[str, Any] = {key: m.targets.ids(target) for key in KWARG if f"<id:{key}>" in _pattern(name)}
    if name == "case-transition":
        kwargs["name"] = "reject"
    if name == "output-transition":
        kwargs["name"] = "remove_case"
    if name in ("assignment-transition", "signature-transition"):
        kwargs["name"] = "reply" if name == "assignment-transition" else "rate"
    if name == "dashboard-export":
        kwargs["chart"] = "status"
    if name == "office-desk-export":
        kwargs["name"] = "submitted"
    return reverse(name, kwargs=kwargs or None)


def _request(route: str, method: str, target: str, m: Matrix, persona: str) -> int:
    user = m.users[persona]
    api = route.startswith("api:")
    client: Any
    path = _path(route, target, m)
    extra: dict[str, Any] = {}
    body: dict[str, Any] = {}
    if api:
        client = m.client(persona, api=True)
        lifecycle, name = _transition_of(route)
        if lifecycle is not None:
            body, extra = _transition_body(lifecycle, name, m), STALE
        elif route == "api:assignment-files":
            body = {"file": SimpleUploadedFile("答复函.pdf", b"%PDF-1.4 probe")}
        elif route == "api:case" and method == "PATCH":
            body, extra = {"title": "核对"}, STALE
        elif route == "api:cases" and method == "POST":
            body = {"title": "核对", "description": "核对", "category": m.world.category.pk}
        kw: dict[str, Any] = {"format": "multipart" if "file" in body else "json"} if method != "GET" else {}
        call = getattr(client, method.lower())
        response = call(path, body, **kw, **extra) if method != "GET" else call(path, **extra)
    else:
        client = m.client(persona, api=False)
        if route in SESSION_ENDING:
            client = Client()  # signing out or switching language changes the client's session
            if user is not None:
                client.force_login(user)
        call = getattr(client, method.lower())
        response = call(path, {"language": "en"} if route == "set_language" else {})
    return response.status_code


TRANSITION_ROUTES = {
    "api:case-": CASE,
    "api:output-": Lifecycle("every output", every_output_transition()),
    "api:assignment-": ASSIGNMENT,
    "api:signature-": SIGNATURE,
}


def _transition_of(route: str) -> tuple[Any, str]:
    """The lifecycle and name of a transition's endpoint, or (None, "") for another route."""
    for prefix, lifecycle in TRANSITION_ROUTES.items():
        name = route.removeprefix(prefix)
        if route.startswith(prefix) and name in lifecycle.names():
            return lifecycle, name
    return None, ""


def probe(route: str, method: str, target: str, m: Matrix, persona: str) -> int:
    """The answer `persona` gets, with whatever the request changed rolled back."""
    with transaction.atomic():
        code = _request(route, method, target, m, persona)
        transaction.set_rollback(True)
    return code


TARGETS = {
    "case_id": ("case", "draft", "foreign_case", "missing"),
    "output_id": ("output", "proposal", "foreign_output", "missing"),
    "assignment_id": ("assignment", "foreign_assignment", "missing"),
    "file_id": ("file", "foreign_file", "missing"),
    "signature_id": ("signature", "foreign_signature", "missing"),
    "committee_id": ("queue", "other_queue", "foreign_queue", "missing"),
    "notification_id": ("notification", "missing"),
    "contact_id": ("contact", "foreign_contact", "missing"),
}
POST_ONLY = {
    "api:contact-reveal",
    "api:assignment-files",
    "contact-reveal",
    "api:queue-claim-next",
    "api:notifications-read-all",
    "api:notification-read",
    "api:token",
    "case-transition",
    "output-transition",
    "assignment-transition",
    "assignment-file-upload",
    "signature-transition",
    "queue-claim-next",
    "queue-claim",
    "task-release",
    "notifications-read-all",
    "notification-read",
    "logout",
    "set_language",
}
SESSION_ENDING = {"logout", "set_language"}
ALSO = {"api:cases": "POST", "api:case": "PATCH"}


def plan(route: str) -> list[tuple[str, str]]:
    """The probes of a route: its methods × the records its id is filled with."""
    pattern = "" if route == "admin:*" else _pattern(route)
    targets = next((t for key, t in TARGETS.items() if f"<id:{key}>" in pattern), ("",))
    if "<id:record_id>" in pattern:  # a transition of an output lifecycle's record, by its kind
        kind = route.removeprefix("api:").split("-")[0]
        typed = TYPED_TRANSITION_ROUTES.get(route.removeprefix("api:output-")) if kind == "output" else None
        targets = {
            "output": (typed or "proposal", "foreign_output", "missing"),
            "assignment": ("assignment", "foreign_assignment", "missing"),
            "signature": ("signature", "foreign_signature", "missing"),
        }[kind]
    transition = pattern.rstrip("/").split("/")[-2:-1] == ["transitions"]
    methods = ["POST"] if route in POST_ONLY or transition else ["GET", *([ALSO[route]] if route in ALSO else [])]
    return [(method, target) for method in methods for target in targets]


# The transitions ---------------------------------------------------------------------------------

STAFF = Role.COMMITTEE_STAFF.value  # holds the task of the `review_claimed` case
HEAD = Role.COMMITTEE_HEAD.value
DECISIONS = ("accept", "request_info", "resolve", "redirect", "reject", "merge", "transfer")

# CASE_TRANSITIONS[transition][persona] = the cases (by status; `review_claimed` is in review,
# claimed by the committee staff) on which the persona may do it. Anyone not named may do it on
# none. Leadership reads and supervises, and does no transition; nor does anyone of another
# committee or organisation, nor the auditor, the administrators, the liaison (no assignment
# names them) or a member who does not own the case.
CASE_TRANSITIONS: dict[str, dict[str, set[str]]] = {
    "submit": {"member": {"draft"}},
    "claim": {STAFF: {"review", "conversion"}, HEAD: {"review", "conversion"}},
    "release": {STAFF: {"review_claimed"}},
    **{name: {STAFF: {"review", "review_claimed"}, HEAD: {"review"}} for name in DECISIONS},
    "answer_info": {"member": {"needs_info"}},
    "convert": {STAFF: {"conversion"}, HEAD: {"conversion"}},
    "receive_outcome": {},  # the system's, as an output's outcome is recorded
    "feedback": {"member": {"feedback"}},
    "send_back": {STAFF: {"needs_info", "conversion", "feedback"}, HEAD: {"needs_info", "conversion", "feedback"}},
    "edit": {
        "member": {"draft", "needs_info"},
        STAFF: {"review", "review_claimed", "conversion"},
        HEAD: {"review", "review_claimed", "conversion"},
    },
    # The head hands the committee's open task to a member of the team, claimed or not; the
    # staff may not, even their own.
    "reassign": {HEAD: {"review", "review_claimed", "conversion"}},
}
# OUTPUT_TRANSITIONS[transition][persona] = the output statuses in which the persona may do it
# (every output's: checked on the speech, and on the proposal with the proposal's own).
OS = OutputStatus
OUTPUT_TRANSITIONS: dict[str, dict[str, set[str]]] = {
    "edit": {STAFF: {OS.DRAFT, OS.RETURNED}, HEAD: {OS.DRAFT, OS.RETURNED}},
    "remove_case": {STAFF: {OS.DRAFT}, HEAD: {OS.DRAFT}},
}
LEADER = Role.LEADERSHIP.value
# The other types' own transitions, on the world's output of that type (a draft gathering one of
# the member's cases), besides every output's. The speech's member has not confirmed their
# signature and no session solicits speeches, so nobody may submit it; the proposal office picks
# the speeches. The info report's organisation has a parent to send it up to; nobody of that
# parent may decide on it, as it was never sent up. Leadership approves or returns a research
# report.
TYPED_TRANSITIONS: dict[str, dict[str, dict[str, set[str]]]] = {
    "output": {
        "set_signers": {STAFF: {OS.DRAFT}, HEAD: {OS.DRAFT}},
        "select": {OFFICE: {OS.SUBMITTED}},
        "not_use": {OFFICE: {OS.SUBMITTED}},
    },
    "info_report": {
        "submit": {STAFF: {OS.DRAFT}, HEAD: {OS.DRAFT}},
        "use": {STAFF: {OS.SUBMITTED}, HEAD: {OS.SUBMITTED}},
        "not_use": {STAFF: {OS.SUBMITTED}, HEAD: {OS.SUBMITTED}},
        "send_up": {STAFF: {OS.USED}, HEAD: {OS.USED}},
        "instruct": {STAFF: {OS.USED}, HEAD: {OS.USED}},
    },
    "research_report": {
        "submit": {STAFF: {OS.DRAFT, OS.RETURNED}, HEAD: {OS.DRAFT, OS.RETURNED}},
        "approve": {LEADER: {OS.SUBMITTED}},
        "return": {LEADER: {OS.SUBMITTED}},
        "transmit": {STAFF: {OS.APPROVED}, HEAD: {OS.APPROVED}},
    },
}
# PROPOSAL_TRANSITIONS: the same, for a proposal's own, on the world's proposal: every signer has
# confirmed (so it may be submitted) and one of its two departments has objected (so the office
# may reassign). The member is its first proposer; the other member, a co-signer, does none.
# The staff prepare and submit it, the office reviews and assigns it; nobody else acts on it.
PROPOSAL_TRANSITIONS: dict[str, dict[str, set[str]]] = {
    "set_signers": {STAFF: {OS.DRAFT}, HEAD: {OS.DRAFT}},
    "submit": {STAFF: {OS.DRAFT}, HEAD: {OS.DRAFT}, "member": {OS.DRAFT}},
    "file": {OFFICE: {OS.SUBMITTED}},
    "not_file": {OFFICE: {OS.SUBMITTED}},
    "merge": {OFFICE: {OS.SUBMITTED}},
    "withdraw": {OFFICE: {OS.SUBMITTED, OS.FILED}, "member": {OS.SUBMITTED}},
    "assign": {OFFICE: {OS.FILED}},
    "reassign": {OFFICE: {OS.ASSIGNED}},
}
# ASSIGNMENT_TRANSITIONS[transition][persona] = {variant: the assignment statuses in which the
# persona may do it}, on the assignment to the liaison's department as it is (`split`: one of two
# that each reply, no extension asked, inside its objection window) and as each variant has it:
# `co` a co-handler (sends a view, neither replies nor asks for more time), `extension` with an
# extension asked for (the office decides it; no second request), `b_reply` replied B and not yet
# solved (the department reports it solved), `late` past its objection window.
A = AssignmentStatus
VARIANTS = ("split", "co", "extension", "b_reply", "late")
OPEN = {A.ASSIGNED, A.ACCEPTED}
ASSIGNMENT_TRANSITIONS: dict[str, dict[str, dict[str, set[str]]]] = {
    "accept": {LIAISON: dict.fromkeys(VARIANTS, {A.ASSIGNED})},
    "object": {LIAISON: {v: {A.ASSIGNED} for v in VARIANTS if v != "late"}},
    "send_view": {LIAISON: {"co": OPEN}},
    "request_extension": {LIAISON: {"split": OPEN, "b_reply": OPEN, "late": OPEN}},
    "decide_extension": {OFFICE: {"extension": OPEN}},
    "reply": {LIAISON: {v: OPEN for v in VARIANTS if v != "co"}},
    "report_solved": {LIAISON: {"b_reply": {A.REPLIED}}},
}
# SIGNATURE_TRANSITIONS[transition][persona] = {variant: the output statuses}: on the other
# member's signature, `confirmed` as it is and `unconfirmed`. Only the signer, nobody for them.
SIGNATURE_TRANSITIONS: dict[str, dict[str, dict[str, set[str]]]] = {
    "confirm": {"other_member": {"unconfirmed": {OS.DRAFT}}},
    "rate": {"other_member": {"confirmed": {OS.REPLIED}, "unconfirmed": {OS.REPLIED}}},
}
CASE_KEYS = ("draft", "review", "review_claimed", "needs_info", "conversion", "outcome", "feedback", "closed", "merged")


def uncovered_routes(keys: set[str]) -> list[str]:
    """What the route matrix lacks or has too many of, each said as what to do about it."""
    return [
        *(
            f"route {k!r} is not in the access matrix: add it to the matrix (ROUTES)"
            for k in sorted(keys - set(ROUTES))
        ),
        *(f"route {k!r} is in the matrix but no longer a route: remove it" for k in sorted(set(ROUTES) - keys)),
        *(
            f"route {k!r}: the matrix probes {sorted(ROUTES[k])}, the route takes {sorted(plan(k))}: "
            "add its methods and records to the matrix"
            for k in sorted(keys & set(ROUTES))
            if set(ROUTES[k]) != set(plan(k))
        ),
    ]


def uncovered_transitions() -> list[str]:
    problems = []
    tables: tuple[tuple[Any, dict[str, Any]], ...] = (
        (CASE, CASE_TRANSITIONS),
        (OUTPUT, OUTPUT_TRANSITIONS),
        (PROPOSAL, PROPOSAL_TRANSITIONS),
        (ASSIGNMENT, ASSIGNMENT_TRANSITIONS),
        (SIGNATURE, SIGNATURE_TRANSITIONS),
    )
    for lifecycle, table in tables:
        declared = {t.name for t in lifecycle}
        problems += [
            f"{lifecycle.name} transition {n!r} is not in the access matrix: add it to the matrix"
            for n in sorted(declared - set(table))
        ]
        problems += [
            f"{lifecycle.name} transition {n!r} is in the matrix but not declared"
            for n in sorted(set(table) - declared)
        ]
    return problems


def test_every_route_is_in_the_matrix():
    assert uncovered_routes(route_keys()) == []


def test_every_transition_is_in_the_matrix():
    assert uncovered_transitions() == []


def test_every_role_is_a_persona():
    assert set(Role.values) <= set(PERSONAS)


def test_a_new_route_fails_the_matrix(settings, monkeypatch):
    """The guard itself: a route added to the site and not to the table is named."""
    import sys
    import types

    from django.http import HttpResponse
    from django.urls import clear_url_caches, include, path

    extra = types.ModuleType("matrix_extra_urls")
    extra.urlpatterns = [  # type: ignore[attr-defined]
        path("", include("config.urls")),
        path("api/v1/backdoor/", lambda request: HttpResponse("x"), name="backdoor"),
    ]
    monkeypatch.setitem(sys.modules, "matrix_extra_urls", extra)
    settings.ROOT_URLCONF = "matrix_extra_urls"
    clear_url_caches()
    try:
        problems = uncovered_routes(route_keys())
    finally:
        clear_url_caches()
    assert problems == ["route 'backdoor' is not in the access matrix: add it to the matrix (ROUTES)"]


def test_a_row_taken_out_of_the_table_fails_the_matrix(monkeypatch):
    """The guard the other way: an existing route whose row is missing is named, as is a row
    that probes fewer records than the route takes."""
    gone = ("api:assignment-accept", "api:file", "api:signatures-mine")
    for route in gone:
        monkeypatch.delitem(ROUTES, route)
    short = {k: v for k, v in ROUTES["api:signature-rate"].items() if k[1] != "foreign_signature"}
    monkeypatch.setitem(ROUTES, "api:signature-rate", short)
    problems = uncovered_routes(route_keys())
    missing = [f"route {r!r} is not in the access matrix: add it to the matrix (ROUTES)" for r in sorted(gone)]
    assert problems[:3] == missing
    assert len(problems) == 4 and problems[3].startswith("route 'api:signature-rate': the matrix probes")


def test_a_new_transition_fails_the_matrix(monkeypatch):
    """The guard itself: a transition declared and not written into the table is named (its
    endpoint, a new route, is named by the route guard)."""
    import dataclasses

    reopen = dataclasses.replace(CASE["submit"], name="reopen")
    monkeypatch.setitem(CASE._by_name, "reopen", reopen)
    assert uncovered_transitions() == ["case transition 'reopen' is not in the access matrix: add it to the matrix"]


def _route_mismatches(m: Matrix) -> list[str]:
    wrong = []
    for route, cells in ROUTES.items():
        for (method, target), expected in cells.items():
            for persona, code in expected.items():
                got = probe(route, method, target, m, persona)
                if got != code:
                    wrong.append(f"{persona} {method} {route} [{target or '-'}]: expected {code}, got {got}")
    return wrong


def _transition_mismatches(m: Matrix) -> list[str]:
    wrong = []
    for persona in SIGNED_IN:
        user = m.users[persona]
        assert user is not None
        for key in CASE_KEYS:
            case = Case.objects.get(pk=m.cases[key].pk)
            got = {t.name for t in actions.available(user, case)}
            expected = {name for name, cells in CASE_TRANSITIONS.items() if key in cells.get(persona, set())}
            if got != expected:
                wrong.append(f"{persona} on a {key} case: expected {sorted(expected)}, may do {sorted(got)}")
        for target, own in TYPED_TRANSITIONS.items():
            output = Output.objects.get(pk=getattr(m.targets, target))
            table = {**OUTPUT_TRANSITIONS, **own}
            for status in OutputStatus.values:
                output.status = status  # the guard reads the status and the committee
                got = {t.name for t in actions.output_available(user, output)}
                expected = {name for name, cells in table.items() if status in cells.get(persona, set())}
                if got != expected:
                    wrong.append(
                        f"{persona} on a {status} {output.output_type}: "
                        f"expected {sorted(expected)}, may do {sorted(got)}"
                    )
        wrong += _proposal_mismatches(m, persona, user)
    return wrong


def _proposal_mismatches(m: Matrix, persona: str, user: User) -> list[str]:
    """The proposal, its assignment and its signature, in every status (and variant) each."""
    wrong = []
    both = {**OUTPUT_TRANSITIONS, **PROPOSAL_TRANSITIONS}
    proposal = Output.objects.get(pk=m.targets.proposal)
    for status in OutputStatus.values:
        proposal.status = status
        got = {t.name for t in output_actions.available(user, proposal)}
        expected = {name for name, cells in both.items() if status in cells.get(persona, set())}
        if got != expected:
            wrong.append(f"{persona} on a {status} proposal: expected {sorted(expected)}, may do {sorted(got)}")
    for variant in VARIANTS:
        assignment = Assignment.objects.select_related("output").get(pk=m.targets.assignment)
        if variant == "co":
            assignment.role = "co"
        elif variant == "extension":
            assignment.extension_state = "requested"
        elif variant == "b_reply":
            assignment.reply_class = "B"
        elif variant == "late":
            assignment.objection_until = assignment.assigned_at
        for status in AssignmentStatus.values:
            assignment.status = status
            got = {t.name for t in output_actions.available(user, assignment, "assignment")}
            expected = {
                name
                for name, cells in ASSIGNMENT_TRANSITIONS.items()
                if status in cells.get(persona, {}).get(variant, set())
            }
            if got != expected:
                wrong.append(
                    f"{persona} on a {status} assignment ({variant}): expected {sorted(expected)}, may do {sorted(got)}"
                )
    for variant in ("confirmed", "unconfirmed"):
        signature = OutputSigner.objects.select_related("output").get(pk=m.targets.signature)
        if variant == "unconfirmed":
            signature.confirmed_at = None
        for status in OutputStatus.values:
            signature.output.status = status
            got = {t.name for t in output_actions.available(user, signature, "signature")}
            expected = {
                name
                for name, cells in SIGNATURE_TRANSITIONS.items()
                if status in cells.get(persona, {}).get(variant, set())
            }
            if got != expected:
                wrong.append(
                    f"{persona} on a {variant} signature of a {status} proposal: "
                    f"expected {sorted(expected)}, may do {sorted(got)}"
                )
    return wrong


# Who sees the world's cases, and so gets past "not found" to the guard of each transition.
ACTORS = (*SEES_CASE, "other_committee_staff")
REFUSED = {403, 404, 409}  # not theirs to do, not found, or not now


def _http_transition_mismatches(m: Matrix) -> list[str]:
    """Each transition posted through the API, with a valid body and no precondition, by those
    who see the case (the others are refused by the route matrix), on a case in each status:
    2xx exactly where the table allows it, a refusal elsewhere. Rolled back after each."""
    wrong = []
    for persona in ACTORS:
        for name in CASE_TRANSITION_ROUTES:
            body = _transition_body(CASE, name, m)
            for key in CASE_KEYS:
                if name == "merge" and key == "conversion":
                    continue  # merging a case into itself is bad input, not a matter of access
                path = f"/api/v1/cases/{m.cases[key].pk}/transitions/{name}/"
                with transaction.atomic():
                    got = m.client(persona, api=True).post(path, body, format="json").status_code
                    transaction.set_rollback(True)
                allowed = key in CASE_TRANSITIONS[name].get(persona, set())
                if (got == 200) != allowed or (not allowed and got not in REFUSED):
                    wrong.append(
                        f"{persona} POST {name} on a {key} case: "
                        f"{'allowed' if allowed else 'refused'} expected, got {got}"
                    )
        path = f"/api/v1/outputs/{m.targets.output}/transitions/edit/"
        with transaction.atomic():
            got = m.client(persona, api=True).post(path, {"title": "新的标题"}, format="json").status_code
            transaction.set_rollback(True)
        allowed = OutputStatus.DRAFT in OUTPUT_TRANSITIONS["edit"].get(persona, set())
        if (got == 200) != allowed or (not allowed and got not in REFUSED):
            wrong.append(f"{persona} POST edit on a draft output: got {got}")
    return wrong


def _http_output_mismatches(m: Matrix) -> list[str]:
    """Each transition of the proposal, its assignment and its signature posted through the API
    with a valid body, by everyone, on the world's records as they are (the proposal assigned,
    the assignment waiting to be accepted, the signature confirmed): 2xx exactly where the tables
    allow it, a refusal elsewhere. Rolled back after each."""
    both = {**OUTPUT_TRANSITIONS, **PROPOSAL_TRANSITIONS}
    t = m.targets
    posts = [
        *(
            ("outputs", t.proposal, name, OUTPUT + PROPOSAL, both[name], None, OutputStatus.ASSIGNED)
            for name in OUTPUT_TRANSITION_ROUTES
        ),
        *(
            ("assignments", t.assignment, name, ASSIGNMENT, ASSIGNMENT_TRANSITIONS[name], "split", A.ASSIGNED)
            for name in ASSIGNMENT_TRANSITION_ROUTES
        ),
        *(
            ("signatures", t.signature, name, SIGNATURE, SIGNATURE_TRANSITIONS[name], "confirmed", OS.ASSIGNED)
            for name in SIGNATURE_TRANSITION_ROUTES
        ),
    ]
    wrong = []
    for persona in SIGNED_IN:
        client = m.client(persona, api=True)
        for prefix, record, name, lifecycle, cells, variant, status in posts:
            body = _transition_body(lifecycle, name, m)
            with transaction.atomic():
                got = client.post(f"/api/v1/{prefix}/{record}/transitions/{name}/", body, format="json").status_code
                transaction.set_rollback(True)
            granted: Any = cells.get(persona, {})
            allowed = status in (granted.get(variant, set()) if variant else granted)
            if (got == 200) != allowed or (not allowed and got not in REFUSED):
                wrong.append(
                    f"{persona} POST {prefix} {name}: {'allowed' if allowed else 'refused'} expected, got {got}"
                )
    return wrong


def test_route_matrix(db):
    """Every persona × every route × the records its id is filled with, answered exactly."""
    m = build()
    _none_wrong(_route_mismatches(m))


def test_transition_matrix(db):
    """Every persona × every transition × every status: exactly the allowed set, from the one
    guard the API, the pages and `available` share."""
    m = build()
    _none_wrong(_transition_mismatches(m) + _http_transition_mismatches(m) + _http_output_mismatches(m))


def test_lists_hold_only_what_each_role_sees(db):
    """The lists answer 200 to everyone signed in (the route matrix); what is in them is each
    persona's own: the cases and outputs they see, a department's assignments, their own
    signatures and their own notifications."""
    m = build()
    t = m.targets
    every = {c.pk for c in m.cases.values()}
    lists = {
        "member": every,
        **dict.fromkeys((STAFF, HEAD, Role.LEADERSHIP.value), every - {m.cases["draft"].pk}),
    }
    outputs = {
        **dict.fromkeys(
            ("member", STAFF, HEAD, Role.LEADERSHIP.value), {t.output, t.proposal, t.info_report, t.research_report}
        ),
        **dict.fromkeys(("other_member", OFFICE, LIAISON), {t.proposal}),
    }
    objected = m.refs["objected"]
    assignments = {LIAISON: {t.assignment}, OFFICE: {t.assignment, objected}}
    member_signatures = set(
        OutputSigner.objects.filter(user=m.users["member"], output_id__in=(t.output, t.proposal)).values_list(
            "id", flat=True
        )
    )
    assert len(member_signatures) == 2  # the speech's and the proposal's first proposer
    signatures = {"member": member_signatures, "other_member": {t.signature}}
    wrong = []
    for persona in SIGNED_IN:
        client = m.client(persona, api=True)

        def ids(path: str, client: Any = client) -> set[int]:
            return {item["id"] for item in client.get(path).json()["results"]}

        seen = {
            "cases": (ids("/api/v1/cases/?limit=100"), lists.get(persona, set())),
            "outputs": (ids("/api/v1/outputs/?limit=100"), outputs.get(persona, set())),
            "assignments": (ids("/api/v1/assignments/?limit=100"), assignments.get(persona, set())),
            "signatures": (ids("/api/v1/signatures/mine/?limit=100"), signatures.get(persona, set())),
        }
        for what, (got, expected) in seen.items():
            if got != expected:
                wrong.append(f"{persona} lists {what} {sorted(got)}, expected {sorted(expected)}")
        # Notifications: exactly the persona's own (the proposal's steps told the office, the
        # signers and the departments); the committee staff's include the world's.
        told = ids("/api/v1/notifications/")
        own = set(Notification.objects.filter(recipient=m.users[persona]).values_list("id", flat=True))
        if told != own or (persona == STAFF) != (t.notification in told):
            wrong.append(f"{persona} lists notifications {sorted(told)}, their own are {sorted(own)}")
    _none_wrong(wrong)


# Rosters have no route yet; the service is their one door. The sector's convener and the system
# administrators relink them, nobody else (another organisation's user: not found).
ROSTER_MANAGERS = (Role.CONVENER.value, Role.SYSADMIN.value)


def test_roster_matrix(db):
    from casework.errors import DomainError, NotFound, PermissionDenied
    from casework.models import Contact
    from casework.services.roster import roster_link

    m = build()
    w = m.world
    wrong = []
    for persona in SIGNED_IN:
        contact = Contact.objects.create(organisation=w.org, sector=w.sector, name=f"{persona}的群众")
        expected: type[DomainError] | None = (
            None if persona in ROSTER_MANAGERS else NotFound if persona == "outsider" else PermissionDenied
        )
        got: type[DomainError] | None = None
        with transaction.atomic():
            try:
                roster_link(actor=m.users[persona], member_id=w.other_member.pk, contact_id=contact.pk)
            except DomainError as error:
                got = type(error)
            transaction.set_rollback(True)
        if got is not expected:
            wrong.append(f"{persona} links a contact to a member's roster: expected {expected}, got {got}")
    _none_wrong(wrong)


def _none_wrong(wrong: list[str]) -> None:
    if wrong:
        pytest.fail(f"{len(wrong)} cells of the access matrix answered otherwise:\n" + "\n".join(wrong))


def test_dump_actual(db):
    """Prints what the site answers (MATRIX_DUMP=1): the first draft of a new row, to be judged
    against what each role is for before it goes into the table."""
    if not os.environ.get("MATRIX_DUMP"):
        pytest.skip("set MATRIX_DUMP=1 to print the answers")
    m = build()
    for route in sorted(route_keys()):
        for method, target in plan(route):
            answers = {p: probe(route, method, target, m, p) for p in PERSONAS}
            print(f"{route:40} {method:5} {target:15}", " ".join(f"{p[:6]}={c}" for p, c in answers.items()))
