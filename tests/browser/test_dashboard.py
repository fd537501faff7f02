"""The leadership dashboard in a real Chromium at a desk's size: ECharts (served from
static/vendor/, never a CDN) draws every chart under the page's Content-Security-Policy, the
toolbox saves a chart as PNG and a table downloads as a spreadsheet openpyxl reads."""

from __future__ import annotations

from io import BytesIO

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from casework.choices import CaseStatus, Satisfaction
from casework.models import Case, Sector
from tests.helpers import file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_leader_reads_the_dashboard_and_downloads_a_table(browse, world):
    for title in ("校门口接送拥堵", "老旧小区加装电梯"):
        file(
            world.member.user,
            title=title,
            description="群众反映",
            category=world.category.pk,
            township=world.township.pk,
            contacts=world.contact_ids(),
        )
    Case.objects.filter(title="老旧小区加装电梯").update(
        status=CaseStatus.CLOSED, closed_at=timezone.now(), satisfaction=Satisfaction.SATISFIED
    )

    health = Sector.objects.create(organisation=world.org, name="医卫界")
    leader = browse(world.leader, "desk", "leader")
    page = leader.page
    leader.click(page.locator("nav a", has_text="领导驾驶舱"))
    assert leader.path() == "/dashboard/"
    assert leader.fits()

    # Every chart with data has its canvas, drawn at a real size.
    drawn = page.locator(".chart[data-chart]")
    assert drawn.count() >= 5
    for i in range(drawn.count()):
        chart = drawn.nth(i)
        canvas = chart.locator("canvas")
        assert canvas.count() == 1, f"no canvas in {chart.get_attribute('id')}"
        box = canvas.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100, chart.get_attribute("id")
    # The table beside the chart says what it draws.
    status = page.locator("section", has=page.locator("#chart-status"))
    assert status.locator("tbody tr").all_inner_texts() == ["委办审核\t1", "已办结\t1"]

    # The toolbox's save button (top right of the chart) downloads the chart as PNG.
    box = page.locator("#chart-status").bounding_box()
    assert box is not None
    # ECharts draws the toolbox's button on the canvas; where, its own layout says.
    x, y = page.evaluate(
        """() => {
          const chart = echarts.getInstanceByDom(document.getElementById("chart-status"));
          const toolbox = chart._componentsViews.find((view) => view.type === "toolbox");
          let centre = null;
          toolbox.group.traverse((el) => {
            if (el.type === "path" && !centre) {
              const r = el.getBoundingRect().clone();
              r.applyTransform(el.getComputedTransform());
              centre = [r.x + r.width / 2, r.y + r.height / 2];
            }
          });
          return centre;
        }"""
    )
    with page.expect_download() as png:
        page.locator("#chart-status canvas").click(position={"x": x, "y": y})
    assert png.value.suggested_filename.endswith(".png")
    with open(png.value.path(), "rb") as image:
        assert image.read(8) == b"\x89PNG\r\n\x1a\n"

    # The table's spreadsheet, with the page's filter.
    with page.expect_download() as xlsx:
        status.get_by_role("link", name="下载表格（XLSX）").click()
    assert xlsx.value.suggested_filename.endswith(".xlsx")
    with open(xlsx.value.path(), "rb") as saved:  # saved without an extension, which openpyxl wants
        sheet = load_workbook(BytesIO(saved.read())).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[1:] == [["环节", "案件数"], ["委办审核", 1], ["已办结", 1]]

    # Filtering by a sector whose members filed nothing empties the charts and says so.
    page.get_by_label("界别", exact=True).select_option(label="医卫界")
    leader.click(page.get_by_role("button", name="筛选"))
    assert f"sector={health.pk}" in page.url
    # The date fields carried the range shown (ISO dates a date input accepts).
    assert "first=20" in page.url and "last=20" in page.url
    # Only the trend is drawn: its months are there, each at nought.
    assert [c.get_attribute("data-chart") for c in page.locator(".chart[data-chart]").all()] == ["trend"]
    assert page.locator("section", has_text="案件所处环节").get_by_text("所选范围内没有数据。").is_visible()
