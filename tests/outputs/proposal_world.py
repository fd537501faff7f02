"""A proposal's world: three cases of three members from two sectors, gathered into one draft
proposal, a proposal office, a lead and a co-handling department with their liaisons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from casework.choices import Role
from casework.models import Case, Department, Output, OutputReason, Sector, User
from tests.factories import World, make_member, make_user
from tests.helpers import do, file


@dataclass
class ProposalWorld:
    world: World
    office: User
    lead: Department
    co: Department
    lead_liaison: User
    co_liaison: User
    third_member_user: User
    cases: list[Case]
    output: Output
    reason: OutputReason


def convert(world: World, case: Case, output: int | None = None, output_type: str = "proposal") -> Case:
    do("accept", case.pk, world.staff)
    data: dict[str, Any] = {"output_type": output_type, "title": "关于加强校园周边交通安全的提案"}
    if output is not None:
        data["output"] = output
    return do("convert", case.pk, world.staff, **data)


def make_proposal_world(world: World, output_type: str = "proposal") -> ProposalWorld:
    org = world.org
    second_sector = Sector.objects.create(organisation=org, name="医药卫生界")
    third = make_member(org, second_sector, "孙委员")
    office = make_user(org, Role.PROPOSAL_OFFICE, "提案委员会干事")
    lead = Department.objects.create(organisation=org, name="区教育局")
    co = Department.objects.create(organisation=org, name="区公安分局")
    lead_liaison = make_user(org, Role.DEPARTMENT_LIAISON, "教育局联络员")
    lead_liaison.department = lead
    lead_liaison.save()
    co_liaison = make_user(org, Role.DEPARTMENT_LIAISON, "公安分局联络员")
    co_liaison.department = co
    co_liaison.save()
    cases = []
    output_id = None
    for member in (world.member, world.other_member, third):
        case = file(
            member.user,
            title=f"{member.name}反映：学校门口上下学拥堵",
            description="上下学时段校门口车辆乱停，学生过街危险。",
            category=world.category.pk,
            contacts=list(member.roster.values_list("contact_id", flat=True)[:1]),
        )
        case = convert(world, case, output_id, output_type)
        output_id = case.output_id
        cases.append(case)
    reason = OutputReason.objects.create(organisation=org, text="属于个人诉求")
    return ProposalWorld(
        world,
        office,
        lead,
        co,
        lead_liaison,
        co_liaison,
        third.user,
        cases,
        Output.objects.get(pk=output_id),
        reason,
    )
