"""Access as one proved mechanism: every role × every route × every transition.

The expected answers are written out here, as a table, from what each role is for (member: their
own cases and the outputs that gathered them; committee staff and head: their committee's;
leadership: read-only over the organisation's; auditor: the audit trail (its events, its page and
export) and its alerts; sysadmin and the rest: no case content; anyone of another organisation:
nothing). They are never read from the code under test: a table derived from the code would agree with any defect.

Each route of the resolver (the API's, the pages', the sign-in and the documentation's) must
have a row in `ROUTES`, and each declared transition a row in `CASE_TRANSITIONS` or
`OUTPUT_TRANSITIONS`: a new one fails `test_every_route_is_in_the_matrix` (or its transition
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
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from casework.choices import NotificationKind, OutputStatus, Role
from casework.models import Case, Notification, Output, User
from tests.factories import World, make_member, make_user, make_world, token_key
from tests.helpers import do, file, today
from workflows import actions
from workflows.case_lifecycle import CASE
from workflows.output_lifecycle import OUTPUT

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
# - department_liaison: "their assignments". No record assigns a case or an output to a
#   department yet, so a liaison sees nothing (404 on every record).
# - convener: "their sector's roster". Rosters have no page or endpoint; the service is the one
#   door (`test_roster_matrix`).
# - sysadmin and auditor: "users and reference data", "the audit trail". Their place is the admin,
#   which only is_staff accounts enter (no persona is one: a row of 302s) and which scopes nothing
#   by role or organisation: whoever is let in with a model's view permission reads every
#   organisation's rows of it, cases included. Today only the superuser is let in.


def row(default: int, **cells: int) -> dict[str, int]:
    """Expected answers for every persona: `default`, except those named."""
    unknown = set(cells) - set(PERSONAS)
    assert not unknown, f"not personas: {unknown}"
    return {p: cells.get(p, default) for p in PERSONAS}


# Who reaches a record (answers 2xx, or 412 for a stale If-Match) rather than 404.
SEES_CASE = ("member", Role.COMMITTEE_STAFF.value, Role.COMMITTEE_HEAD.value, Role.LEADERSHIP.value)
SEES_DRAFT = ("member",)
SEES_OUTPUT = SEES_CASE
WORKS_QUEUE = (Role.COMMITTEE_STAFF.value, Role.COMMITTEE_HEAD.value)


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


def on_record(method: str, target: str, code: int) -> dict[tuple[str, str], dict[str, int]]:
    """A page of a record of an output (an assignment, a signature, a file): as its output."""
    return {
        (method, target): seen_by(SEES_OUTPUT, code, anonymous=PAGE_LOGIN),
        (method, "missing"): row(404, anonymous=PAGE_LOGIN),
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
)
OUTPUT_TRANSITION_ROUTES = (
    "record_outcome",
    # Info reports, plenary speeches and research reports.
    "use",
    "not_use",
    "send_up",
    "adopt",
    "not_adopt",
    "instruct",
    "select",
    "approve",
    "return",
    "transmit",
)

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
    **{f"api:output-{name}": on_output("POST", 412, anonymous=401) for name in OUTPUT_TRANSITION_ROUTES},
    "api:output": on_output("GET", 200, anonymous=401),
    # Info reports sent up to the user's organisation: scoped (empty but for their deciders).
    "api:referrals": plain("GET", everyone(200)),
    "api:output-docx": on_output("GET", 200, anonymous=401),  # the output as a Word document
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
    "case-page": on_case("GET", 200, anonymous=PAGE_LOGIN),
    # Posted with an empty form: those who see the case get the form back with its errors.
    "case-transition": on_case("POST", 200, anonymous=PAGE_LOGIN),
    "output-page": on_output("GET", 200, anonymous=PAGE_LOGIN),
    "output-docx": on_output("GET", 200, anonymous=PAGE_LOGIN),
    "output-transition": on_output("POST", 200, anonymous=PAGE_LOGIN),
    # An output's records, on its page: reached by whoever sees the output (an empty form: its
    # errors back), the file downloaded by them; nobody else learns the record exists.
    "assignment-transition": on_record("POST", "assignment", 200),
    "assignment-file-upload": on_record("POST", "assignment", 200),
    "signature-transition": on_record("POST", "signature", 200),
    "output-file": on_record("GET", "output_file", 200),
    # The desks: the proposal office's, and a liaison's of their department (the world's liaison
    # has no department yet, so no desk).
    "office-desk": plain("GET", row(404, anonymous=PAGE_LOGIN, **{Role.PROPOSAL_OFFICE.value: 200})),
    "department-desk": plain("GET", row(404, anonymous=PAGE_LOGIN)),
    "queue-page": on_queue("GET", 200, 200, anonymous=PAGE_LOGIN),
    "queue-claim-next": on_queue("POST", 302, 302, anonymous=PAGE_LOGIN),
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
    # The admin: only for is_staff accounts, which none of the personas is (tested on its own).
    "admin:*": plain("GET", everyone(302, anonymous=302)),
}


@dataclass
class Targets:
    case: int  # the member's case, in review, with the committee
    draft: int  # the member's draft
    foreign_case: int  # a case of another organisation
    output: int  # an output of the committee, gathering the member's case
    foreign_output: int
    queue: int  # the committee
    other_queue: int  # another committee of the organisation
    foreign_queue: int  # a committee of another organisation
    notification: int  # a notification of the committee staff's
    contact: int  # a constituent on the member's roster
    foreign_contact: int  # a constituent of another organisation
    assignment: int  # an assignment of the output to a department
    signature: int  # the member's signature of the output
    output_file: int  # a file of that assignment

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
    cases["feedback"] = new()
    do("resolve", cases["feedback"].pk, staff, note="已协调交警")
    cases["closed"] = new()
    do("resolve", cases["closed"].pk, staff, note="已协调")
    do("feedback", cases["closed"].pk, w.member.user, told_on=today(), method="visit", satisfaction="satisfied")
    cases["merged"] = new()
    do("merge", cases["merged"].pk, staff, into=cases["review"].pk)
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
    notification = Notification.objects.create(
        organisation=w.org,
        recipient=w.staff,
        kind=NotificationKind.CLOCK_WARNING,
        title="即将超期",
        dedupe_key="matrix",
        case=cases["review"],
    )
    record = _output_records(w, output)
    targets = Targets(
        case=cases["review"].pk,
        draft=cases["draft"].pk,
        foreign_case=foreign_case.pk,
        output=output,
        foreign_output=foreign_case.output_id or 0,
        queue=w.committee.pk,
        other_queue=w.other_committee.pk,
        foreign_queue=far.committee.pk,
        notification=notification.pk,
        contact=w.contact_ids()[0],
        foreign_contact=far.contact_ids()[0],
        **record,
    )
    m = Matrix(w, users, targets, cases)
    for persona in PERSONAS:  # signed in now: a session made inside a probe would roll back with it
        m.client(persona, api=True)
        m.client(persona, api=False)
    return m


def _output_records(w: World, output_id: int) -> dict[str, int]:
    """An assignment of the output to a department, with a file, and the member's signature: the
    rows the output's page acts on (made directly: the matrix probes who reaches them)."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from casework.models import Assignment, Department, OutputFile, OutputSigner

    department = Department.objects.create(organisation=w.org, name="区教育局")
    assignment = Assignment.objects.create(
        output_id=output_id, organisation=w.org, department=department, role="lead", assigned_at=timezone.now()
    )
    row = OutputFile(output_id=output_id, assignment=assignment, name="答复函.pdf", size=4, sha256="0" * 64)
    row.uploaded_by = w.staff
    row.file.save("答复函.pdf", ContentFile(b"%PDF"), save=True)
    signer = OutputSigner.objects.filter(output_id=output_id, user=w.member.user).first()
    if signer is None:
        signer = OutputSigner.objects.create(output_id=output_id, user=w.member.user, role="first")
    return {"assignment": assignment.pk, "signature": signer.pk, "output_file": row.pk}


@pytest.fixture(autouse=True)
def _media_of_the_test(settings, tmp_path):
    """The matrix's file is kept in the test's own folder, not the site's."""
    settings.MEDIA_ROOT = tmp_path


# Probing -----------------------------------------------------------------------------------------

STALE = {"HTTP_IF_MATCH": '"stale-tag-of-the-matrix"'}
KWARG = {
    "case_id": "case",
    "output_id": "output",
    "committee_id": "queue",
    "notification_id": "notification",
    "contact_id": "contact",
    "assignment_id": "assignment",
    "signature_id": "signature",
    "file_id": "output_file",
}


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
    if kind == "date":
        return today()
    refs = {
        "reason": m.world.reason.pk,
        "into": m.cases["conversion"].pk,
        "committee": m.world.other_committee.pk,
        "category": m.world.category.pk,
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
        kwargs["name"] = "record_outcome"
    if name in ("assignment-transition", "signature-transition"):
        kwargs["name"] = "reply" if name == "assignment-transition" else "rate"
    if name == "dashboard-export":
        kwargs["chart"] = "status"
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
        if route.startswith("api:case-") and route.removeprefix("api:case-") in CASE.names():
            body, extra = _transition_body(CASE, route.removeprefix("api:case-"), m), STALE
        elif route.startswith("api:output-") and route.removeprefix("api:output-") in OUTPUT.names():
            body, extra = _transition_body(OUTPUT, route.removeprefix("api:output-"), m), STALE
        elif route == "api:case" and method == "PATCH":
            body, extra = {"title": "核对"}, STALE
        elif route == "api:cases" and method == "POST":
            body = {"title": "核对", "description": "核对", "category": m.world.category.pk}
        kw: dict[str, Any] = {"format": "json"} if method != "GET" else {}
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


def probe(route: str, method: str, target: str, m: Matrix, persona: str) -> int:
    """The answer `persona` gets, with whatever the request changed rolled back."""
    with transaction.atomic():
        code = _request(route, method, target, m, persona)
        transaction.set_rollback(True)
    return code


TARGETS = {
    "case_id": ("case", "draft", "foreign_case", "missing"),
    "output_id": ("output", "foreign_output", "missing"),
    "committee_id": ("queue", "other_queue", "foreign_queue", "missing"),
    "notification_id": ("notification", "missing"),
    "contact_id": ("contact", "foreign_contact", "missing"),
    "assignment_id": ("assignment", "missing"),
    "signature_id": ("signature", "missing"),
    "file_id": ("output_file", "missing"),
}
POST_ONLY = {
    "api:contact-reveal",
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
    transition = route.startswith(("api:case-", "api:output-")) and pattern.rstrip("/").split("/")[-2] == "transitions"
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
}
# OUTPUT_TRANSITIONS[transition][persona] = the output statuses in which the persona may do it.
OUTPUT_TRANSITIONS: dict[str, dict[str, set[str]]] = {
    "record_outcome": {
        STAFF: {OutputStatus.DRAFT, OutputStatus.SUBMITTED},
        HEAD: {OutputStatus.DRAFT, OutputStatus.SUBMITTED},
    },
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
    for lifecycle, table in ((CASE, CASE_TRANSITIONS), (OUTPUT, OUTPUT_TRANSITIONS)):
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
        output = Output.objects.get(pk=m.targets.output)
        for status in OutputStatus.values:
            output.status = status  # the guard reads the status and the committee
            got = {t.name for t in actions.output_available(user, output)}
            expected = {name for name, cells in OUTPUT_TRANSITIONS.items() if status in cells.get(persona, set())}
            if got != expected:
                wrong.append(f"{persona} on a {status} output: expected {sorted(expected)}, may do {sorted(got)}")
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
        path = f"/api/v1/outputs/{m.targets.output}/transitions/record_outcome/"
        with transaction.atomic():
            got = m.client(persona, api=True).post(path, {"outcome": "已答复"}, format="json").status_code
            transaction.set_rollback(True)
        allowed = OutputStatus.DRAFT in OUTPUT_TRANSITIONS["record_outcome"].get(persona, set())
        if (got == 200) != allowed or (not allowed and got not in REFUSED):
            wrong.append(f"{persona} POST record_outcome on a draft output: got {got}")
    return wrong


def test_route_matrix(db):
    """Every persona × every route × the records its id is filled with, answered exactly."""
    m = build()
    _none_wrong(_route_mismatches(m))


def test_transition_matrix(db):
    """Every persona × every transition × every status: exactly the allowed set, from the one
    guard the API, the pages and `available` share."""
    m = build()
    _none_wrong(_transition_mismatches(m) + _http_transition_mismatches(m))


def test_lists_hold_only_what_each_role_sees(db):
    """The lists answer 200 to everyone signed in (the route matrix); what is in them is each
    persona's own: the cases they see, and their own notifications."""
    m = build()
    every = {c.pk for c in m.cases.values()}
    lists = {
        "member": every,
        **dict.fromkeys((STAFF, HEAD, Role.LEADERSHIP.value), every - {m.cases["draft"].pk}),
    }
    wrong = []
    for persona in SIGNED_IN:
        client = m.client(persona, api=True)
        cases = {row["id"] for row in client.get("/api/v1/cases/?limit=100").json()["results"]}
        if cases != lists.get(persona, set()):
            wrong.append(f"{persona} lists cases {sorted(cases)}, expected {sorted(lists.get(persona, set()))}")
        told = {row["id"] for row in client.get("/api/v1/notifications/").json()["results"]}
        if told != ({m.targets.notification} if persona == STAFF else set()):
            wrong.append(f"{persona} lists notifications {sorted(told)}")
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
