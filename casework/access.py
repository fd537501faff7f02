"""Who may see what, and who is who to a record (docs/domain.md §1, §7). Object-level: a member sees
their own cases, staff their committees', leadership their organisation's; nobody another
organisation's. Reads only: what each role may *do* is declared with each transition in
`workflows/`, from the predicates here."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from casework.choices import CaseStatus, OutputStatus, OutputType, Role
from casework.errors import NotFound
from casework.models import Adoption, Assignment, Case, Committee, Contact, Output, OutputSigner, User


def roles_of(user: User) -> frozenset[str]:
    cached = getattr(user, "_minqing_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True)) if user.is_authenticated else frozenset()
        user._minqing_roles = cached  # type: ignore[attr-defined]
    return cached


def committee_ids_of(user: User) -> frozenset[int]:
    """The committees whose queues the user works: staff of them, or their head."""
    cached = getattr(user, "_minqing_committees", None)
    if cached is None:
        if not user.is_authenticated or user.organisation_id is None:
            cached = frozenset()
        else:
            rows = set(
                Committee.objects.filter(organisation_id=user.organisation_id)
                .filter(Q(staff=user) | Q(head=user))
                .values_list("id", "head_id")
            )
            cached = frozenset(pk for pk, _head in rows)
            # Which of them the user heads comes with them, for free.
            user._minqing_headed = frozenset(pk for pk, head in rows if head == user.pk)  # type: ignore[attr-defined]
        user._minqing_committees = cached  # type: ignore[attr-defined]
    return cached


def headed_committee_ids_of(user: User) -> frozenset[int]:
    """The committees the user heads (a subset of `committee_ids_of`): their team pages, and the
    tasks of their queues they may give to a member of the team."""
    cached = getattr(user, "_minqing_headed", None)
    if cached is None:
        if not committee_ids_of(user):  # reads both, unless a caller remembered the committees
            cached = frozenset()
        else:
            cached = getattr(user, "_minqing_headed", None)
            if cached is None:
                cached = frozenset(
                    Committee.objects.filter(organisation_id=organisation_id_of(user), head=user).values_list(
                        "id", flat=True
                    )
                )
        user._minqing_headed = cached  # type: ignore[attr-defined]
    return cached


def remember(user: User, *, roles: frozenset[str], committee_ids: frozenset[int]) -> None:
    """Keep what a caller read with the user in one query (the API's token sign-in), so
    `roles_of` and `committee_ids_of` do not read it again during the request."""
    user._minqing_roles = roles  # type: ignore[attr-defined]
    user._minqing_committees = committee_ids if user.organisation_id is not None else frozenset()  # type: ignore[attr-defined]


def organisation_id_of(user: User) -> int:
    """The organisation every query of the user is scoped to. An account without one (a bare
    superuser) sees no record."""
    if user.organisation_id is None:
        raise NotFound(_("您的账号未归属任何政协组织。"), code="no_organisation")
    return user.organisation_id


def member_id_of(user: User) -> int | None:
    member = getattr(user, "member", None) if user.is_authenticated else None
    return member.id if member is not None else None


def visible_cases(user: User) -> QuerySet[Case]:
    """Every case query of a user starts here."""
    if not user.is_authenticated or user.organisation_id is None:
        return Case.objects.none()
    scope = Q()
    member_id = member_id_of(user)
    if member_id is not None:
        scope |= Q(member_id=member_id)
    not_draft = ~Q(status=CaseStatus.DRAFT)
    committees = committee_ids_of(user)
    if committees:
        scope |= Q(committee_id__in=committees) & not_draft
    if Role.LEADERSHIP in roles_of(user):
        scope |= not_draft
    if not scope:
        return Case.objects.none()
    return Case.objects.filter(scope, organisation_id=user.organisation_id)


def visible_outputs(user: User) -> QuerySet[Output]:
    """Outputs of the user's committees, the outputs that gathered the user's own cases or that
    they sign, for the proposal office every submitted proposal and plenary speech, for a
    department's liaison the proposals assigned to their department, for staff of an organisation
    an info report was sent up to that report, and for leadership every output of the
    organisation."""
    if not user.is_authenticated or user.organisation_id is None:
        return Output.objects.none()
    own = Q(organisation_id=user.organisation_id)
    if Role.LEADERSHIP in roles_of(user):
        return Output.objects.filter(own | _sent_up_to(user))
    scope = Q()
    committees = committee_ids_of(user)
    if committees:
        scope |= own & Q(committee_id__in=committees)
    member_id = member_id_of(user)
    if member_id is not None:
        scope |= own & Q(pk__in=Case.objects.filter(member_id=member_id, output__isnull=False).values("output_id"))
        scope |= own & Q(pk__in=OutputSigner.objects.filter(user=user).values("output_id"))
    if Role.PROPOSAL_OFFICE in roles_of(user):
        # Submitted proposals to review, and submitted plenary speeches to select from.
        scope |= own & Q(output_type__in=(OutputType.PROPOSAL, OutputType.SPEECH)) & ~Q(status=OutputStatus.DRAFT)
    if is_liaison(user):
        scope |= own & Q(pk__in=Assignment.objects.filter(department_id=user.department_id).values("output_id"))
    if committees or Role.PROPOSAL_OFFICE in roles_of(user):
        scope |= _sent_up_to(user)
    if not scope:
        return Output.objects.none()
    return Output.objects.filter(scope)


def _sent_up_to(user: User) -> Q:
    """Info reports sent up to the user's organisation: waiting for its decision, or decided."""
    return Q(with_organisation_id=user.organisation_id) | Q(
        pk__in=Adoption.objects.filter(organisation_id=user.organisation_id).values("output_id")
    )


def is_liaison(user: User) -> bool:
    """A handling department's liaison (承办单位联络员)."""
    return user.department_id is not None and Role.DEPARTMENT_LIAISON in roles_of(user)


def is_proposal_office(user: User, output: Output) -> bool:
    return output.organisation_id == user.organisation_id and Role.PROPOSAL_OFFICE in roles_of(user)


def is_department_of(user: User, assignment: Assignment) -> bool:
    """The liaison of the department the assignment is for."""
    return (
        assignment.organisation_id == user.organisation_id
        and is_liaison(user)
        and user.department_id == assignment.department_id
    )


def is_signer_self(user: User, signer: OutputSigner) -> bool:
    return signer.user_id == user.pk


def is_first_proposer(user: User, output: Output) -> bool:
    return any(s.user_id == user.pk and s.role == "first" for s in output.signers.all())


def is_receiving_staff(user: User, output: Output) -> bool:
    """Staff of the organisation an info report was sent up to, who decide on it there."""
    return (
        output.with_organisation_id is not None
        and output.with_organisation_id == user.organisation_id
        and output.with_organisation_id != output.organisation_id
        and may_decide_referrals(user)
    )


def is_output_leader(user: User, output: Output) -> bool:
    """Leadership (主席会议成员) of the output's organisation."""
    return output.organisation_id == user.organisation_id and Role.LEADERSHIP in roles_of(user)


def may_decide_referrals(user: User) -> bool:
    """Staff who decide on the info reports sent up to their organisation (`is_receiving_staff`)."""
    return bool(committee_ids_of(user)) or Role.PROPOSAL_OFFICE in roles_of(user)


def is_case_member(user: User, case: Case) -> bool:
    return member_id_of(user) == case.member_id and case.organisation_id == user.organisation_id


def may_see_contact_names(user: User, case: Case) -> bool:
    """A constituent's name goes beyond their member only with their consent (PIPL)."""
    return is_case_member(user, case) or case.consent_to_share


def may_reveal_contact(user: User, contact: Contact) -> bool:
    """Who may read a constituent's phone, ID number and address in clear: the member who keeps in
    touch with them (their roster entry) and the conveners of that entry's sector, who manage the
    roster. Nobody else yet: a case's consent covers sharing the constituent's name, and a consent
    whose scope covers contact details is not recorded yet."""
    if not user.is_authenticated or user.organisation_id != contact.organisation_id:
        return False
    member_id = member_id_of(user)
    if member_id is None:
        return False
    return contact.roster.filter(Q(member_id=member_id) | Q(sector__conveners__id=member_id)).exists()


def may_see_source_ip(user: User, actor_id: int | None) -> bool:
    """Whether the user may read the network address an audited action came from. An address
    is personal information (PIPL: only as much as the purpose needs): a member, a department's
    liaison or committee staff reading a timeline learn who did what and when, never where
    another person sat. Auditors read every address (tracing an incident is their work), and
    anyone reads the address of their own actions."""
    return Role.AUDITOR in roles_of(user) or (actor_id is not None and actor_id == user.pk)


def is_committee_staff(user: User, committee_id: int) -> bool:
    return committee_id in committee_ids_of(user)


def is_case_staff(user: User, case: Case) -> bool:
    """Staff (or the head) of the committee the case is with."""
    return case.organisation_id == user.organisation_id and is_committee_staff(user, case.committee_id)


def is_case_head(user: User, case: Case) -> bool:
    """The head of the committee the case is with (whose queue it is in)."""
    return case.organisation_id == user.organisation_id and case.committee_id in headed_committee_ids_of(user)


def is_output_staff(user: User, output: Output) -> bool:
    return output.organisation_id == user.organisation_id and is_committee_staff(user, output.committee_id)
