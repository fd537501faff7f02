"""A small world for the API contract run (`.ci/contract`): one organisation from
`tests.factories`, cases in every stage of the flow with small ids (schemathesis tries the
smallest ids first, so it meets real records, not only 404s) and an output. Prints the tokens of
the two personas the run uses, as JSON: {"member": "...", "staff": "..."}, and, with `--config
PATH`, writes a schemathesis configuration whose dictionaries offer the seeded ids: a path id or a
body reference is drawn from them half the time, so requests reach the workflow behind the 404s.

Run on a fresh database only: `python -m tests.contract.seed [--config PATH]`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

# Where each kind of seeded id goes: path parameters and request body fields.
BINDINGS = {
    "cases": ["path.case_id", "body.into"],
    "outputs": ["path.output_id", "body.output"],
    "committees": ["path.committee_id", "body.committee"],
    "categories": ["body.category"],
    "townships": ["body.township"],
    "reasons": ["body.reason"],
    "contacts": ["body.contacts[*]"],
    "notifications": ["path.notification_id"],
    # A transition's record is an output, an assignment or a signature: all of them offered.
    "records": ["path.record_id"],
    "assignments": ["path.assignment_id"],
    "files": ["path.file_id"],
    "departments": ["body.lead", "body.department"],
}


def schemathesis_config(ids: dict[str, list[int]], probability: float = 0.5) -> str:
    lines = ["# Written by tests/contract/seed.py for one contract run.", "[dictionaries]"]
    lines += [f"{name} = {{ values = {json.dumps(values)} }}" for name, values in ids.items()]
    lines.append("[parameters]")
    for name, keys in BINDINGS.items():
        lines += [f'"{key}" = {{ dictionary = "{name}", probability = {probability} }}' for key in keys]
    return "\n".join(lines) + "\n"


def seed() -> dict[str, Any]:
    from tests.factories import make_world, token_key
    from tests.helpers import do, file, today

    world = make_world()
    member, staff = world.member.user, world.staff
    body = {"category": world.category.pk, "township": world.township.pk, "contacts": world.contact_ids()}

    def case(title: str, *, submit: bool = True) -> int:
        return file(member, submit=submit, title=title, description=f"{title}：群众反映的具体情况。", **body).pk

    for n in range(3):
        case(f"草稿{n + 1}", submit=False)
    for n in range(4):
        case(f"待审核{n + 1}")
    claimed = case("已认领")
    do("claim", claimed, staff)
    asked = case("待补充材料")
    do("request_info", asked, staff, question="请补充现场照片")
    accepted = case("成果转化中")
    do("accept", accepted, staff, note="转社情民意")
    converted = case("已转化")
    do("accept", converted, staff)
    do("convert", converted, staff, output_type="info_report", title="关于村道修复的社情民意")
    resolved = case("已直接解决")
    do("resolve", resolved, staff, note="已当场答复")
    closed = case("已办结")
    do("redirect", closed, staff, channel="hotline_12345")
    do("feedback", closed, member, told_on=today(), method="phone", satisfaction="satisfied")
    # Cases of the other member, which the member may not see and the staff may.
    for n in range(3):
        file(
            world.other_member.user,
            title=f"他人案件{n + 1}",
            description="其他委员反映的情况。",
            **{
                **body,
                "contacts": world.contact_ids(world.other_member),
            },
        )
    from casework.choices import NotificationKind
    from casework.models import Case, Notification, Output
    from casework.services.notifications import notify

    # Notifications of both personas (each sees only their own: the other's ids answer 404).
    for user in (member, staff):
        for n in range(3):
            notify(
                recipients=[user],
                organisation_id=world.org.pk,
                kind=NotificationKind.CLOCK_WARNING,
                title=f"通知{n + 1}",
                body="审核还剩 1 个工作日。",
                dedupe_key=f"contract-{n}",
            )

    proposal_ids = _proposals(world)
    from casework.models import Assignment, Department, OutputFile, OutputSigner

    assignments = list(Assignment.objects.order_by("id").values_list("id", flat=True))
    signatures = list(OutputSigner.objects.order_by("id").values_list("id", flat=True))
    ids = {
        "records": sorted({*proposal_ids, *assignments, *signatures}),
        "assignments": assignments,
        "files": list(OutputFile.objects.order_by("id").values_list("id", flat=True)),
        "departments": list(Department.objects.order_by("id").values_list("id", flat=True)),
        "cases": list(Case.objects.order_by("id").values_list("id", flat=True)),
        "outputs": list(Output.objects.order_by("id").values_list("id", flat=True)),
        "committees": [world.committee.pk, world.other_committee.pk],
        "categories": [world.category.pk],
        "townships": [world.township.pk],
        "reasons": [world.reason.pk],
        "contacts": world.contact_ids(),
        "notifications": list(Notification.objects.order_by("id").values_list("id", flat=True)),
    }
    return {"tokens": {"member": token_key(member), "staff": token_key(staff)}, "ids": ids}


def _proposals(world: Any) -> list[int]:
    """Two proposals of the member's cases: a draft signed by the member, and one submitted,
    filed and assigned to a department whose liaison attached a reply file."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from casework.choices import Role
    from casework.models import Assignment, Department
    from tests.factories import make_user
    from tests.helpers import do, file
    from workflows import output_actions

    member, staff = world.member.user, world.staff
    office = make_user(world.org, Role.PROPOSAL_OFFICE, "提案委员会干事")
    department = Department.objects.create(organisation=world.org, name="区交通运输局")
    liaison = make_user(world.org, Role.DEPARTMENT_LIAISON, "交通局联络员")
    liaison.department = department
    liaison.save()
    made = []
    for n, title in enumerate(("关于村道拓宽的提案", "关于公交延伸的提案")):
        case = file(member, title=f"提案来源{n + 1}", description="群众反映的情况。", category=world.category.pk)
        do("accept", case.pk, staff)
        output_id = do("convert", case.pk, staff, output_type="proposal", title=title).output_id
        made.append(output_id)

        def act(kind: str, name: str, record: int, actor: Any, **data: Any) -> None:
            output_actions.perform(kind, name, record_id=record, actor=actor, data=data)

        act("output", "edit", output_id, staff, suggestion="拓宽并加装护栏。")
        if n == 0:
            continue
        for signer in world.member.user.signatures.filter(output_id=output_id):
            act("signature", "confirm", signer.pk, member)
        act("output", "submit", output_id, staff)
        act("output", "file", output_id, office)
        act("output", "assign", output_id, office, handling="joint", lead=department.pk)
        assignment = Assignment.objects.get(output_id=output_id)
        output_actions.attach_file(
            assignment_id=assignment.pk, actor=liaison, upload=SimpleUploadedFile("答复函.pdf", b"%PDF-1.4 reply")
        )
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", help="write a schemathesis configuration offering the seeded ids here")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from casework.models import Case

    if Case.objects.exists():
        sys.exit("tests.contract.seed: the database already has cases; the contract run seeds a fresh one")
    world = seed()
    if args.config:
        with open(args.config, "w", encoding="utf-8") as config:
            config.write(schemathesis_config(world["ids"]))
    json.dump(world["tokens"], sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
