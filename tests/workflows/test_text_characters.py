"""Invisible, direction-reversing and control characters are refused in every free text a
person enters: the declared inputs (API and pages alike), the pages' search box, the admin."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from casework.errors import InvalidInput
from casework.models import Case, CaseCategory
from tests.api.test_contract import assert_error
from tests.factories import World
from tests.web.test_pages import file_case, intake, logged_in
from workflows.case_lifecycle import Intake
from workflows.inputs import Text

# Each hides in a title or reverses what follows it: a zero-width space, a byte order mark, the
# right-to-left override, a first-strong isolate, a soft hyphen, a zero-width joiner, a language
# tag (beyond the BMP), a C1 control, and the line separator, an invisible break in one line.
HIDDEN = ["\u200b", "\ufeff", "\u202e", "\u2068", "\xad", "\u200d", "\U000e0041", "\x85", "\u2028"]


@pytest.mark.parametrize("char", HIDDEN)
def test_a_declared_text_input_refuses_a_hidden_character(char):
    title = Text("title", "标题", max_length=120)
    with pytest.raises(Exception) as refused:
        title.clean(f"村道{char}破损")
    assert refused.value.code == "invalid_characters"
    assert f"U+{ord(char):04X}" in refused.value.message and "「标题」" in refused.value.message


def test_multiline_text_keeps_its_line_breaks_and_tabs_but_not_the_rest():
    description = Text("description", "问题描述", max_length=5000, multiline=True)
    assert description.clean("第一行\n第二行\r\n\t第三行\u2028第四段") == "第一行\n第二行\r\n\t第三行\u2028第四段"
    for char in ("\u202e", "\u200b", "\ufeff", "\x0b", "\x00"):
        with pytest.raises(Exception) as refused:
            description.clean(f"说明{char}内容")
        assert refused.value.code == "invalid_characters"
    # Rare characters of names, which offices enter in the private use area, stay allowed.
    assert Text("t", "t").clean("张\ue000明") == "张\ue000明"


def test_the_intake_refuses_every_hidden_character_with_the_field_named(world: World):
    for char in ("\u202e", "\u200b", "\ufeff"):
        with pytest.raises(InvalidInput) as refused:
            Intake.input.clean({"title": f"exe.{char}txt", "description": "d", "category": world.category.pk})
        assert refused.value.details["field"] == "title"


def test_the_api_answers_400_naming_the_field_and_files_nothing(world: World, client_for):
    member = client_for(world.member.user)
    for field, value in (("title", "校门口\u202e拥堵"), ("description", "放学\u200b时段"), ("title", "\ufeff")):
        body = {"title": "t", "description": "d", "category": world.category.pk, field: value}
        error = assert_error(member.post("/api/v1/cases/", body, format="json"), 400, "invalid_characters")
        assert error["details"]["field"] == field, error
    case = file_case(world)
    edit = member.patch(f"/api/v1/cases/{case.pk}/", {"title": "新\u2066标题"}, format="json")
    assert_error(edit, 400, "invalid_characters")
    staff = client_for(world.staff)
    note = staff.post(f"/api/v1/cases/{case.pk}/transitions/request_info/", {"question": "\u202e照片"}, format="json")
    assert_error(note, 400, "invalid_characters")
    assert Case.objects.count() == 1 and Case.objects.get().title == "校门口接送拥堵"


def test_the_page_shows_the_error_on_the_field_and_files_nothing(world: World):
    response = logged_in(world.member.user).post("/cases/new/", intake(world, title="小区\u202e路灯"))
    assert response.status_code == 200
    assert "U+202E" in response.content.decode()
    assert response.context["form"].errors["title"]
    assert Case.objects.count() == 0


def test_the_case_pages_search_box_refuses_what_the_apis_q_refuses(world: World):
    # The page passed its search text straight to the query: a NUL reached PostgreSQL (500).
    case = file_case(world)
    file_case(world, "实验小学门口拥堵")
    staff = logged_in(world.staff)
    found = staff.get(f"/cases/{case.pk}/", {"merge-q": "实验"})
    assert "实验小学门口拥堵" in found.content.decode()
    refused = staff.get(f"/cases/{case.pk}/", {"merge-q": "实验\x00"})
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "U+0000" in html  # said, and the search left undone (the usual choices are offered)


def test_the_admin_refuses_hidden_characters_in_names(world: World):
    world.staff.is_staff = world.staff.is_superuser = True
    world.staff.save()
    admin = Client()
    admin.force_login(world.staff)
    before = CaseCategory.objects.count()
    response = admin.post(
        "/admin/casework/casecategory/add/",
        {"organisation": world.category.organisation_id, "name": "交通\u202e出行", "committee": ""},
    )
    assert response.status_code == 200 and "U+202E" in response.content.decode()
    assert CaseCategory.objects.count() == before
    member = world.member
    response = admin.post(
        f"/admin/casework/member/{member.pk}/change/",
        {
            "name": "王\u200b委员",
            "organisation": member.organisation_id,
            "sector": member.sector_id,
            "user": member.user_id,
        },
    )
    assert response.status_code == 200 and "U+200B" in response.content.decode()
    member.refresh_from_db()
    assert "\u200b" not in member.name


@pytest.mark.parametrize("multiline", [False, True])
@pytest.mark.parametrize("required", [False, True])
def test_the_schema_pattern_is_plain_ascii_escapes(multiline, required):
    """A literal character beyond the BMP in the pattern made it no regex to ECMA 262 readers
    without the u flag (a range of surrogate pairs): schemathesis refused the whole schema."""
    pattern = Text("t", "t", required=required, multiline=multiline).pattern()
    assert pattern.isascii()
    for char in ("\u200b", "\ufeff", "\u202e", "\xad", "\x00"):
        assert f"\\u{ord(char):04x}" in pattern or any(
            int(a, 16) <= ord(char) <= int(b, 16) for a, b in re.findall(r"\\u(\w{4})-\\u(\w{4})", pattern)
        ), char
