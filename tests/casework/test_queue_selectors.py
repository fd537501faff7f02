"""The queue as its staff filter and page it (selectors.queue_filters / queue_page) and the
tasks a user holds (my_task_page): every filter narrows, the keyset walks the whole queue in
due order, and nothing ever reaches past the queue the user works."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from casework import selectors
from casework.choices import Stage, Urgency
from casework.errors import InvalidInput, NotFound
from casework.models import CaseCategory, CaseClock, Township
from casework.selectors import QueueFilters
from tests.factories import make_world
from tests.helpers import do, file


def filed(world, title, *, category=None, township=None, urgency="normal", description="放学时段车辆排队"):
    return file(
        world.member.user,
        title=title,
        description=description,
        category=(category or world.category).pk,
        township=(township or world.township).pk,
        urgency=urgency,
    )


def titles(rows):
    return [row["case"]["title"] for row in rows]


@pytest.fixture
def queue(world):
    """Six cases in the committee's queue and one in the other committee's."""
    roads = CaseCategory.objects.create(organisation=world.org, name="市政设施", committee=world.committee)
    east = Township.objects.create(organisation=world.org, name="东城街道")
    cases = {
        "plain": filed(world, "校门口接送拥堵"),
        "roads": filed(world, "路灯不亮", category=roads),
        "east": filed(world, "菜场噪声", township=east),
        "urgent": filed(world, "积水严重", urgency=Urgency.URGENT),
        "hidden": filed(world, "公交站台", description="站台顶棚破损漏雨"),
        "converting": filed(world, "垃圾分类"),
    }
    do("accept", cases["converting"].pk, world.staff)  # now in conversion, unclaimed
    elsewhere = CaseCategory.objects.create(organisation=world.org, name="产业发展", committee=world.other_committee)
    cases["other"] = filed(world, "其他委办的案件", category=elsewhere)
    now = timezone.now()
    # Due times spread so the order is by due time, not by filing order.
    for i, key in enumerate(("hidden", "east", "plain", "roads", "urgent", "converting")):
        CaseClock.objects.filter(case=cases[key], state="running").update(
            due_at=now + timedelta(days=3 + i), warn_at=now + timedelta(days=1 + i)
        )
    return world, cases, {"roads": roads, "east": east}


def page(world, user=None, **filters):
    return titles(selectors.queue_page(user or world.staff, world.committee.pk, filters=QueueFilters(**filters)))


def test_each_filter_narrows_the_queue(queue):
    world, cases, refs = queue
    assert page(world) == ["公交站台", "菜场噪声", "校门口接送拥堵", "路灯不亮", "积水严重", "垃圾分类"]
    assert page(world, stage=Stage.CONVERSION) == ["垃圾分类"]
    assert "垃圾分类" not in page(world, stage=Stage.REVIEW)
    assert page(world, category_id=refs["roads"].pk) == ["路灯不亮"]
    assert page(world, township_id=refs["east"].pk) == ["菜场噪声"]
    assert page(world, urgency=Urgency.URGENT) == ["积水严重"]
    # The search reads the description as well as the title, whatever the case of the letters.
    assert page(world, q="顶棚") == ["公交站台"]
    assert page(world, q="路灯") == ["路灯不亮"]
    CaseClock.objects.filter(case=cases["east"]).update(due_at=timezone.now() - timedelta(hours=1))
    assert page(world, sla="breached") == ["菜场噪声"]
    # Filters combine.
    assert page(world, q="路灯", stage=Stage.CONVERSION) == []


def test_claimed_by_scopes_to_the_queue_and_the_person(queue):
    world, cases, _refs = queue
    do("claim", cases["plain"].pk, world.staff)
    do("claim", cases["roads"].pk, world.staff2)
    assert "校门口接送拥堵" not in page(world) and "路灯不亮" not in page(world)
    assert page(world, claimed="mine") == ["校门口接送拥堵"]
    assert page(world, claimed=str(world.staff2.pk)) == ["路灯不亮"]
    assert page(world, user=world.staff2, claimed="mine") == ["路灯不亮"]
    everyone = page(world, claimed="anyone")
    assert len(everyone) == 6 and "其他委办的案件" not in everyone
    rows = selectors.queue_page(world.staff, world.committee.pk, filters=QueueFilters(claimed="anyone"))
    assert {r["case"]["title"]: r["owner"] for r in rows}["路灯不亮"] == world.staff2.pk

    # Naming someone who does not work the queue (the other committee's staff) is ignored on a
    # page and refused by the API; it never shows their tasks.
    do("claim", cases["other"].pk, world.other_staff)
    params = {"claimed": str(world.other_staff.pk)}
    assert selectors.queue_filters(world.staff, world.committee.pk, params).claimed == "none"
    with pytest.raises(InvalidInput) as refused:
        selectors.queue_filters(world.staff, world.committee.pk, params, strict=True)
    assert refused.value.code == "invalid_claimed"


def test_unknown_values_are_ignored_or_refused(queue):
    world, _cases, refs = queue
    far = make_world("政协温岭市委员会")
    foreign = far.category
    params = {"stage": "feedback", "category": str(foreign.pk), "urgency": "whenever", "sla": "x", "claimed": "boss"}
    assert selectors.queue_filters(world.staff, world.committee.pk, params) == QueueFilters()
    for name in params:
        with pytest.raises(InvalidInput) as refused:
            selectors.queue_filters(world.staff, world.committee.pk, {name: params[name]}, strict=True)
        assert refused.value.details == {"field": name}
    good = {"stage": "review", "category": str(refs["roads"].pk), "township": str(refs["east"].pk), "urgency": "urgent"}
    asked = {**good, "sla": "warning", "claimed": "mine"}
    read = selectors.queue_filters(world.staff, world.committee.pk, asked, q="灯")
    assert read == QueueFilters("review", refs["roads"].pk, refs["east"].pk, "urgent", "warning", "mine", "灯")
    assert read.as_params() == {**good, "sla": "warning", "claimed": "mine", "q": "灯"}


@pytest.mark.parametrize("who", ["other_staff", "outsider", "member", "leader"])
def test_a_queue_not_worked_is_not_found_whatever_the_filter(queue, who):
    world, _cases, _refs = queue
    user = world.member.user if who == "member" else getattr(world, who)
    for filters in (QueueFilters(), QueueFilters(claimed="anyone"), QueueFilters(claimed=str(world.staff.pk))):
        with pytest.raises(NotFound):
            selectors.queue_page(user, world.committee.pk, filters=filters)
    with pytest.raises(NotFound):
        selectors.queue_filters(user, world.committee.pk, {"claimed": "anyone"})
    with pytest.raises(NotFound):
        selectors.queue_staff(user, world.committee.pk)
    # A committee that does not exist answers the same.
    with pytest.raises(NotFound):
        selectors.queue_page(world.staff, 987654321)


def test_the_cursor_walks_the_whole_queue_in_due_order_undated_last(world):
    cases = [filed(world, f"案件{i}") for i in range(9)]
    now = timezone.now()
    for i, case in enumerate(cases):
        # Three share a due time; two have none (a year with no published calendar).
        due = None if i in (2, 5) else now + timedelta(days=1 + (i % 3))
        CaseClock.objects.filter(case=case).update(due_at=due)
    expected = [
        c.case.title
        for c in sorted(
            CaseClock.objects.filter(case__in=cases).select_related("case"),
            key=lambda c: (c.due_at is None, c.due_at or now, c.pk),
        )
    ]
    seen, after = [], None
    while True:
        rows = selectors.queue_page(world.staff, world.committee.pk, after=after, limit=2)
        seen += titles(rows)
        if len(rows) < 2:
            break
        last = rows[-1]
        due = CaseClock.objects.get(pk=last["clock"]).due_at
        after = (due, last["clock"])
    assert seen == expected and expected[-2:] == ["案件2", "案件5"]


def test_my_task_page_orders_pages_and_keeps_to_the_users_queues(queue):
    world, cases, _refs = queue
    for key in ("urgent", "plain", "hidden"):
        do("claim", cases[key].pk, world.staff)
    do("claim", cases["roads"].pk, world.staff2)
    by_due = selectors.my_task_page(world.staff)
    assert titles(by_due) == ["公交站台", "校门口接送拥堵", "积水严重"]
    assert by_due[0]["words"] and by_due[0]["queue"] == world.committee.pk
    # By submission: the order they were filed in.
    assert titles(selectors.my_task_page(world.staff, order="submitted")) == ["校门口接送拥堵", "积水严重", "公交站台"]
    first = selectors.my_task_page(world.staff, order="submitted", limit=2)
    last = CaseClock.objects.select_related("case").get(pk=first[-1]["clock"])
    rest = selectors.my_task_page(world.staff, order="submitted", after=(last.case.submitted_at, last.pk))
    assert titles(first + rest) == ["校门口接送拥堵", "积水严重", "公交站台"]
    # Someone who has left the committee no longer sees what they held there.
    world.committee.staff.remove(world.staff)
    world.staff._minqing_committees = None
    assert selectors.my_task_page(world.staff) == []
