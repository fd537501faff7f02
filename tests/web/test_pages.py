"""The server-rendered pages: Chinese by default, English on request, thin over the actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from casework import selectors
from casework.choices import CaseStatus, ClockState, Stage
from casework.errors import InvalidInput, PermissionDenied
from casework.models import AuditEvent, Case, CaseClock, User
from tests.factories import World
from tests.helpers import do, do_output, file, today
from workflows import actions


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def file_case(world: World, title: str = "校门口接送拥堵", *, submit: bool = True) -> Case:
    return file(
        world.member.user,
        submit=submit,
        title=title,
        description="放学时段车辆排队",
        category=world.category.pk,
        township=world.township.pk,
        contacts=world.contact_ids(),
    )


def page(response) -> str:
    return response.content.decode()


# Login ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_renders_in_chinese():
    response = Client().get("/login/")

    assert response.status_code == 200
    html = page(response)
    assert '<html lang="zh-hans">' in html
    assert "登录民情" in html
    assert "用户名" in html and "密码" in html
    assert "/static/css/minqing.css" in html


def test_login_with_a_wrong_password_says_so_in_chinese(world):
    response = Client().post("/login/", {"username": world.member.user.username, "password": "wrong"})

    assert response.status_code == 200
    assert "用户名或密码不正确" in page(response)


def test_anonymous_home_redirects_to_login(db):
    response = Client().get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# Home -------------------------------------------------------------------------------------------


def test_home_of_a_member_lists_their_cases(world):
    file_case(world, "校门口接送拥堵")
    file(world.other_member.user, title="别人的案件", description="x", category=world.category.pk)

    html = page(logged_in(world.member.user).get("/"))

    assert "我的民情" in html
    assert "校门口接送拥堵" in html
    assert "委办审核" in html  # status badge
    assert "交通出行" in html and "南城街道" in html
    assert timezone.localdate().strftime("%Y-%m-%d") in html
    assert "/api/docs/" in html
    assert "别人的案件" not in html
    assert "我的工作队列" not in html
    assert "王委员" in html and "黄岩区政协" in html  # header: display name and organisation


def test_home_of_a_member_without_cases_shows_the_empty_state(world):
    html = page(logged_in(world.member.user).get("/"))

    assert "您还没有反映过民情" in html


def test_home_of_staff_shows_queues_and_claimed_tasks_with_overdue_in_red(world):
    first = file_case(world, "第一件")
    file_case(world, "第二件")
    do("claim", first.pk, world.staff)
    CaseClock.objects.filter(case=first, stage=Stage.REVIEW).update(due_at=timezone.now() - timedelta(hours=1))

    html = page(logged_in(world.staff).get("/"))

    assert "我的工作队列" in html
    assert "社会和法制委员会" in html
    assert '<td class="num">1</td>\n            <td class="num">1</td>' in html  # unclaimed 1, mine 1
    assert "我已认领" in html
    assert 'class="case-row clock-overdue"' in html and "已超期" in html
    assert "第一件" in html and "第二件" in html  # the committee's cases


def test_home_of_staff_without_claimed_tasks_shows_the_empty_state(world):
    html = page(logged_in(world.staff).get("/"))

    assert "您目前没有已认领的任务" in html
    assert "暂无民情案件" in html


def test_home_of_leadership_lists_the_cases_they_may_see(world):
    file_case(world, "已提交的案件")
    file_case(world, "委员的草稿", submit=False)

    html = page(logged_in(world.leader).get("/"))

    assert "本会民情案件" in html
    assert "已提交的案件" in html
    assert "委员的草稿" not in html
    assert "我的民情" not in html and "我的工作队列" not in html


# Case page --------------------------------------------------------------------------------------


def test_case_page_shows_details_clocks_and_the_audit_timeline(world):
    case = file_case(world)
    do("claim", case.pk, world.staff)
    events = list(AuditEvent.objects.filter(stream=f"case:{case.pk}").order_by("seq"))

    html = page(logged_in(world.member.user).get(f"/cases/{case.pk}/"))

    assert case.title in html and "放学时段车辆排队" in html
    assert "王委员-群众1" in html  # the member sees their own contacts' names
    clock = selectors.case_clocks(case)[0]
    assert "办理时限" in html and "审核" in html and clock.words in html
    if clock.last_day:  # deadlines end at 24:00 of their last day, and say so
        assert f"{clock.last_day:%Y-%m-%d} 24:00" in html
    assert "提交反映" in html and "认领" in html and "张干事" in html
    for event in events:
        assert event.hash[:12] in html
        assert timezone.localtime(event.occurred_at).strftime("%Y-%m-%d %H:%M:%S") in html
    assert "委办审核</h2>" not in html  # no review panel for the member


def test_case_page_hides_contact_names_from_staff_without_consent(world):
    case = file_case(world)

    html = page(logged_in(world.staff).get(f"/cases/{case.pk}/"))

    assert "王委员-群众1" not in html
    assert "未同意提供姓名" in html


@pytest.mark.parametrize("who", ["outsider", "other_member", "other_staff"])
def test_case_page_is_404_for_those_who_may_not_see_it(world, who):
    case = file_case(world)
    user = world.other_member.user if who == "other_member" else getattr(world, who)

    response = logged_in(user).get(f"/cases/{case.pk}/")

    assert response.status_code == 404
    assert case.title not in page(response)


# Filing a case ----------------------------------------------------------------------------------


def intake(world: World, **overrides) -> dict:
    data = {
        "title": "小区路灯不亮",
        "description": "东区三幢前路灯坏了一个月",
        "category": world.category.pk,
        "township": world.township.pk,
        "urgency": "urgent",
        "contacts": world.contact_ids()[:2],
        "consent_to_share": "on",
    }
    data.update(overrides)
    return data


def test_the_form_offers_only_the_members_own_choices(world):
    html = page(logged_in(world.member.user).get("/cases/new/"))

    assert "反映民情" in html and "交通出行" in html and "南城街道" in html
    assert "王委员-群众1" in html
    assert "李委员-群众1" not in html


def test_filing_a_case_through_the_page_puts_it_in_review(world):
    response = logged_in(world.member.user).post("/cases/new/", intake(world))

    case = Case.objects.get(title="小区路灯不亮")
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/"
    assert case.status == CaseStatus.REVIEW
    assert case.member == world.member
    assert case.urgency == "urgent" and case.consent_to_share is True
    assert sorted(case.contacts.values_list("id", flat=True)) == sorted(world.contact_ids()[:2])
    assert CaseClock.objects.filter(case=case, stage=Stage.REVIEW, queue=world.committee).exists()
    assert AuditEvent.objects.get(stream=f"case:{case.pk}").source_ip == "127.0.0.1"


def test_a_bad_post_shows_the_error_and_creates_nothing(world):
    response = logged_in(world.member.user).post("/cases/new/", intake(world, title=""))

    assert response.status_code == 200
    html = page(response)
    assert "「标题」不能为空。" in html
    assert "东区三幢前路灯坏了一个月" in html  # what the member typed is kept
    assert Case.objects.count() == 0


def test_a_domain_error_lands_on_its_field(world, monkeypatch):
    def refuse(**kwargs):
        raise InvalidInput("乡镇街道不存在。", code="invalid_township", details={"field": "township"})

    monkeypatch.setattr(actions, "file_case", refuse)

    response = logged_in(world.member.user).post("/cases/new/", intake(world))

    assert response.status_code == 200
    assert "乡镇街道不存在。" in page(response)
    assert response.context["form"].errors["township"] == ["乡镇街道不存在。"]


def test_a_non_member_gets_a_message_instead_of_the_form(world):
    client = logged_in(world.staff)

    response = client.get("/cases/new/")
    posted = client.post("/cases/new/", {"title": "x"})

    assert response.status_code == 403
    assert "只有委员可以反映民情" in page(response)
    assert '<form method="post" class="stack"' not in page(response)
    assert posted.status_code == 403
    assert Case.objects.count() == 0


# Transitions from the case page -----------------------------------------------------------------


def test_staff_see_the_review_panel_and_the_member_does_not(world):
    case = file_case(world)

    staff_html = page(logged_in(world.staff).get(f"/cases/{case.pk}/"))
    member_html = page(logged_in(world.member.user).get(f"/cases/{case.pk}/"))

    assert f"/cases/{case.pk}/do/claim/" in staff_html
    assert f"/cases/{case.pk}/do/reject/" in staff_html and world.reason.text in staff_html
    assert "/do/" not in member_html


def test_claim_then_request_info_then_answer_then_accept(world):
    case = file_case(world)
    staff = logged_in(world.staff)
    member = logged_in(world.member.user)

    claimed = staff.post(f"/cases/{case.pk}/do/claim/", follow=True)
    assert "已认领" in page(claimed)
    assert CaseClock.objects.get(case=case, stage=Stage.REVIEW).assignee == world.staff

    staff.post(f"/cases/{case.pk}/do/request_info/", {"question": "请补充具体路段"})
    case.refresh_from_db()
    assert case.status == CaseStatus.NEEDS_INFO

    answer_form = page(member.get(f"/cases/{case.pk}/"))
    assert "请补充具体路段" in answer_form and f"/cases/{case.pk}/do/answer_info/" in answer_form
    member.post(f"/cases/{case.pk}/do/answer_info/", {"answer": "学院路与东城路交叉口"})
    case.refresh_from_db()
    assert case.status == CaseStatus.REVIEW

    accepted = staff.post(f"/cases/{case.pk}/do/accept/", {"note": "可转为提案"}, follow=True)
    case.refresh_from_db()
    assert case.status == CaseStatus.CONVERSION
    assert "已受理" in page(accepted)


def test_reject_redirect_and_resolve_reach_feedback_and_the_member_closes(world):
    rejected, redirected, resolved = file_case(world, "甲"), file_case(world, "乙"), file_case(world, "丙")
    staff = logged_in(world.staff)

    staff.post(f"/cases/{rejected.pk}/do/reject/", {"reason": world.reason.pk, "note": "个人诉求"})
    staff.post(f"/cases/{redirected.pk}/do/redirect/", {"channel": "hotline_12345"})
    staff.post(f"/cases/{resolved.pk}/do/resolve/", {"note": "已电话答复政策"})

    for case in (rejected, redirected, resolved):
        case.refresh_from_db()
        assert case.status == CaseStatus.FEEDBACK
    assert rejected.reject_reason == world.reason and redirected.redirect_channel == "hotline_12345"

    member = logged_in(world.member.user)
    assert f"/cases/{resolved.pk}/do/feedback/" in page(member.get(f"/cases/{resolved.pk}/"))
    closed = member.post(
        f"/cases/{resolved.pk}/do/feedback/",
        {"told_on": today(), "method": "phone", "satisfaction": "satisfied", "note": "群众表示感谢"},
        follow=True,
    )
    resolved.refresh_from_db()
    assert resolved.status == CaseStatus.CLOSED
    assert "已记录反馈情况" in page(closed)
    assert "反馈群众，办结" in page(closed)  # the timeline label of case.closed


def test_a_refused_transition_shows_the_domain_message_and_changes_nothing(world):
    case = file_case(world)
    do("claim", case.pk, world.staff)

    response = logged_in(world.staff2).post(f"/cases/{case.pk}/do/accept/", {}, follow=True)

    case.refresh_from_db()
    assert case.status == CaseStatus.REVIEW
    assert "该任务已由 张干事 认领" in page(response)
    assert "该案件已由 张干事 认领，由其作出决定。" in page(response)
    assert f"/cases/{case.pk}/do/accept/" not in page(response)
    assert CaseClock.objects.get(case=case, stage=Stage.REVIEW, state=ClockState.RUNNING).assignee == world.staff


def test_an_invalid_transition_form_shows_the_field_error_and_changes_nothing(world):
    case = file_case(world)
    events = AuditEvent.objects.filter(stream=f"case:{case.pk}").count()  # sign-ins are audited too

    response = logged_in(world.staff).post(f"/cases/{case.pk}/do/request_info/", {"question": ""}, follow=True)

    case.refresh_from_db()
    assert case.status == CaseStatus.REVIEW
    assert "「需补充的内容」不能为空。" in page(response)
    assert AuditEvent.objects.filter(stream=f"case:{case.pk}").count() == events


def test_transitions_are_404_for_outsiders_and_unknown_names(world):
    case = file_case(world)
    events = AuditEvent.objects.filter(stream=f"case:{case.pk}").count()  # sign-ins are audited too

    assert logged_in(world.outsider).post(f"/cases/{case.pk}/do/claim/").status_code == 404
    assert logged_in(world.other_member.user).post(f"/cases/{case.pk}/do/accept/").status_code == 404
    assert logged_in(world.staff).post(f"/cases/{case.pk}/do/explode/").status_code == 404
    assert logged_in(world.staff).get(f"/cases/{case.pk}/do/claim/").status_code == 405
    assert AuditEvent.objects.filter(stream=f"case:{case.pk}").count() == events


def test_claim_next_from_the_home_page_opens_the_most_urgent_case(world):
    case = file_case(world)

    response = logged_in(world.staff).post(f"/queues/{world.committee.pk}/claim-next/")

    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    assert CaseClock.objects.get(case=case, stage=Stage.REVIEW).assignee == world.staff
    assert logged_in(world.outsider).post(f"/queues/{world.committee.pk}/claim-next/").status_code == 404


# Language ---------------------------------------------------------------------------------------


def test_switching_to_english_renders_english(world):
    client = logged_in(world.member.user)

    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = page(client.get("/"))

    assert switched.status_code == 302
    assert '<html lang="en">' in html
    assert ">Home</a>" in html and "Report a concern" in html and "Log out" in html
    assert "My concerns" in html
    assert "退出登录" not in html


def test_english_login_page(db):
    html = page(Client(headers={"accept-language": "en"}).get("/login/"))

    assert "Sign in to Minqing" in html


# Everything a role may do, on the page ----------------------------------------------------------


def test_staff_convert_into_a_draft_output_the_case_could_join(world):
    first, second = file_case(world, "甲"), file_case(world, "乙")
    for case in (first, second):
        do("accept", case.pk, world.staff)
    do("convert", first.pk, world.staff, output_type="proposal", title="关于校门拥堵的提案")
    first.refresh_from_db()
    staff = logged_in(world.staff)

    html = page(staff.get(f"/cases/{second.pk}/"))
    assert f"/cases/{second.pk}/do/convert/" in html
    assert "提案：关于校门拥堵的提案" in html  # the draft it could join is offered
    staff.post(f"/cases/{second.pk}/do/convert/", {"output_type": "proposal", "output": first.output_id})

    second.refresh_from_db()
    assert (second.status, second.output_id) == (CaseStatus.OUTCOME, first.output_id)


def test_staff_find_the_master_case_by_searching_and_merge(world):
    master, other, duplicate = (
        file_case(world, "南城实小门口拥堵"),
        file_case(world, "路灯不亮"),
        file_case(world, "重复"),
    )
    staff = logged_in(world.staff)

    found = page(staff.get(f"/cases/{duplicate.pk}/", {"merge-q": "实小"}))
    assert f"#{master.pk} 南城实小门口拥堵" in found and f"#{other.pk} 路灯不亮" not in found
    by_number = page(staff.get(f"/cases/{duplicate.pk}/", {"merge-q": f"#{other.pk}"}))
    assert f"#{other.pk} 路灯不亮" in by_number

    staff.post(f"/cases/{duplicate.pk}/do/merge/", {"into": master.pk, "note": "同一问题"})
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into_id) == (CaseStatus.MERGED, master.pk)


def test_staff_send_back_and_the_case_is_in_review_again(world):
    case = file_case(world)
    do("accept", case.pk, world.staff)

    response = logged_in(world.staff).post(f"/cases/{case.pk}/do/send_back/", {"reason": "误操作"}, follow=True)

    case.refresh_from_db()
    assert case.status == CaseStatus.REVIEW
    assert "已退回，案件回到委办审核" in page(response)


def test_a_transfer_takes_the_case_out_of_sight_and_says_where_it_went(world):
    case = file_case(world)

    response = logged_in(world.staff).post(
        f"/cases/{case.pk}/do/transfer/", {"committee": world.other_committee.pk}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/"
    assert "已转交，案件进入该委办的审核队列" in page(response)
    case.refresh_from_db()
    assert case.committee == world.other_committee
    assert logged_in(world.other_staff).get(f"/cases/{case.pk}/").status_code == 200


def test_a_member_edits_and_submits_a_draft(world):
    draft = file_case(world, "草稿：路灯", submit=False)
    member = logged_in(world.member.user)

    html = page(member.get(f"/cases/{draft.pk}/"))
    assert f"/cases/{draft.pk}/do/submit/" in html and f"/cases/{draft.pk}/do/edit/" in html
    member.post(
        f"/cases/{draft.pk}/do/edit/",
        {
            "title": "东区路灯不亮",
            "description": draft.description,
            "category": world.category.pk,
            "township": world.township.pk,
            "urgency": "urgent",
            "contacts": world.contact_ids()[:1],
        },
    )
    draft.refresh_from_db()
    assert (draft.title, draft.urgency, draft.consent_to_share) == ("东区路灯不亮", "urgent", False)
    assert list(draft.contacts.values_list("id", flat=True)) == world.contact_ids()[:1]

    member.post(f"/cases/{draft.pk}/do/submit/")
    draft.refresh_from_db()
    assert draft.status == CaseStatus.REVIEW


def test_staff_cannot_give_consent_for_the_constituent(world):
    """Consent is the constituent's, given through their member: staff are not offered it, and
    the workflow refuses it from staff however it is sent."""
    case = file_case(world)
    staff = logged_in(world.staff)

    html = page(staff.get(f"/cases/{case.pk}/"))
    assert 'id="edit_title"' in html and 'name="consent_to_share"' not in html
    staff.post(f"/cases/{case.pk}/do/edit/", {"title": case.title, "consent_to_share": "on"})
    case.refresh_from_db()
    assert case.consent_to_share is False
    with pytest.raises(PermissionDenied) as refused:
        do("edit", case.pk, world.staff, consent_to_share=True)
    assert refused.value.code == "field_not_yours"
    case.refresh_from_db()
    assert case.consent_to_share is False


def test_a_bad_transition_form_keeps_what_was_typed(world):
    case = file_case(world)

    response = logged_in(world.staff).post(f"/cases/{case.pk}/do/resolve/", {"note": "x" * 5001})

    assert response.status_code == 200
    html = page(response)
    assert "「解决情况」不能超过 5000 个字。" in html
    assert "x" * 5001 in html  # nothing lost
    case.refresh_from_db()
    assert case.status == CaseStatus.REVIEW


def test_what_waits_on_a_member_comes_first(world):
    asked = file_case(world, "需补充的案件")
    file_case(world, "审核中的案件")
    do("request_info", asked.pk, world.staff, question="请补充照片")
    file_case(world, "未提交的草稿", submit=False)

    html = page(logged_in(world.member.user).get("/"))

    waiting, rest = html.split("我的民情", 1)
    assert "等您处理" in waiting and "需补充的案件" in waiting and "委办请您补充材料" in waiting
    assert "未提交的草稿" in waiting and "草稿，待提交" in waiting
    assert "审核中的案件" in rest and "审核中的案件" not in waiting
    assert "草稿，待提交" not in rest and "委办请您补充材料" not in rest


def test_the_output_page_lists_its_cases_and_takes_its_transitions(world):
    first, second = file_case(world, "甲"), file_case(world, "乙")
    for case in (first, second):
        do("accept", case.pk, world.staff)
    do("convert", first.pk, world.staff, output_type="info_report", title="关于校门拥堵的社情民意")
    first.refresh_from_db()
    do("convert", second.pk, world.staff, output_type="info_report", output=first.output_id)
    url = f"/outputs/{first.output_id}/"

    staff_html = page(logged_in(world.staff).get(url))
    assert "关于校门拥堵的社情民意" in staff_html and "甲" in staff_html and "乙" in staff_html
    assert f"/outputs/{first.output_id}/do/submit/" in staff_html
    member_html = page(logged_in(world.member.user).get(url))
    assert "关于校门拥堵的社情民意" in member_html and "/do/submit/" not in member_html
    assert logged_in(world.other_staff).get(url).status_code == 404
    assert f'href="{url}"' in page(logged_in(world.member.user).get(f"/cases/{first.pk}/"))

    staff = logged_in(world.staff)
    do_output("edit", first.output_id, world.staff, analysis="分析", suggestion="建议")
    assert staff.post(f"{url}do/submit/").status_code == 302
    assert staff.post(f"{url}do/not_use/", {"not_use-note": "不宜编报"}).status_code == 302
    for case in (first, second):
        case.refresh_from_db()
        assert case.status == CaseStatus.FEEDBACK and case.outcome


# The queue page -----------------------------------------------------------------------------------


def test_the_queue_page_lists_unclaimed_tasks_most_urgent_first_with_their_clocks_in_words(world):
    calm, soon, late = (file_case(world, t) for t in ("还早", "快到期", "已过期"))
    now = timezone.now()
    clocks = CaseClock.objects.filter(stage=Stage.REVIEW)
    clocks.filter(case=calm).update(due_at=now + timedelta(days=20), warn_at=now + timedelta(days=15))
    clocks.filter(case=soon).update(due_at=now + timedelta(days=8), warn_at=now - timedelta(hours=1))
    clocks.filter(case=late).update(due_at=now - timedelta(days=3), warn_at=now - timedelta(days=5))
    staff = logged_in(world.staff)

    html = page(staff.get(f"/queues/{world.committee.pk}/"))
    assert html.index("已过期") < html.index("快到期") < html.index("还早")
    assert html.count('class="case-row clock-overdue"') == 1 and "已超期" in html
    assert html.count('class="case-row clock-soon"') == 1
    assert html.count('class="case-row clock-ok"') == 1 and "剩余" in html

    only_late = page(staff.get(f"/queues/{world.committee.pk}/?sla=breached"))
    assert "已过期" in only_late and "快到期" not in only_late and "还早" not in only_late
    only_soon = page(staff.get(f"/queues/{world.committee.pk}/?sla=warning"))
    assert "快到期" in only_soon and "已过期" not in only_soon
    assert "还早" in page(staff.get(f"/queues/{world.committee.pk}/?sla=nonsense"))

    # Home links to it.
    assert f'href="/queues/{world.committee.pk}/"' in page(staff.get("/"))


@pytest.mark.parametrize("who", ["other_staff", "outsider", "member"])
def test_the_queue_page_is_404_for_those_who_do_not_work_it(world, who):
    user = world.member.user if who == "member" else getattr(world, who)
    assert logged_in(user).get(f"/queues/{world.committee.pk}/").status_code == 404
