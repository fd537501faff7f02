"""The leadership dashboard's monthly roll-up (README "Leadership dashboard").

The dashboard counts the cases submitted in a range of Beijing days. At a million cases, reading
a year of them on every page view takes seconds, so a periodic task (`casework.dashboard_rollup`)
counts each organisation's records once per Beijing month, per sector of the filing member and
per charted value, up to the refresh's cutoff, and the page adds up those months instead of the
cases. Only the partial months at the range's ends and what came after the cutoff are read from
the cases, so a case filed a moment ago counts at once.

The rows are a copy, replaced wholesale for an organisation by each refresh
(`casework.services.dashboard_rollup`): plain ids, not foreign keys, so a sector or category
deleted meanwhile does not hold them up."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .org import Organisation


class DashboardMonth(models.Model):
    """How many of an organisation's cases (or stopped clocks) of one Beijing month, filed by
    members of one sector, have one value of one dimension.

    `dimension` is what is counted: a case column (`status`, `category`, `township`, `decision`,
    `reply`, `satisfaction`, by submission month), `closed` (cases by the month they closed,
    `value` empty), `output:<type>` (cases by submission month converted into the output whose
    id is `value`: per output, because an output's cases may fall in several months and the
    chart counts each output once), `clock_met` / `clock_late` (stage clocks by the month they
    stopped with that verdict, `value` "<committee id>:<stage>")."""

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("所属组织"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    month = models.DateField(_("月份"))  # the first day of the Beijing month
    sector = models.BigIntegerField(_("界别"), null=True)  # the filing member's sector id
    dimension = models.CharField(_("统计项"), max_length=40)
    value = models.CharField(_("取值"), max_length=64, null=True)  # NULL: the column was empty
    n = models.PositiveIntegerField(_("数量"))

    class Meta:
        verbose_name = _("驾驶舱月度汇总")
        verbose_name_plural = _("驾驶舱月度汇总")
        indexes = [
            # The page reads some dimensions of an organisation's months in a range (with a
            # sector or not): an index-only scan of this on PostgreSQL. The dimension leads the
            # month so a chart reads its own rows only, not the outputs' many (at 1,000,000
            # cases, over 300,000 rows for the largest organisation, most of them outputs').
            models.Index(
                fields=["organisation", "dimension", "month"],
                include=["sector", "value", "n"],
                name="dashboard_month_org",
            ),
        ]


class DashboardRollup(models.Model):
    """An organisation's roll-up: which months it holds and when it was made. Absent until the
    first refresh, and then the page reads every month from the cases."""

    organisation = models.OneToOneField(
        Organisation, verbose_name=_("所属组织"), on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # The roll-up holds the records before this instant (the refresh's start less a settling
    # minute, so a transaction that stamped a case just before it and committed just after the
    # refresh read is still read live): whole months before its month, its month up to it.
    cutoff = models.DateTimeField(_("汇总截至"))
    refreshed_at = models.DateTimeField(_("更新时间"))
    took_ms = models.PositiveIntegerField(_("用时（毫秒）"), default=0)
    rows = models.PositiveIntegerField(_("行数"), default=0)

    class Meta:
        verbose_name = _("驾驶舱汇总状态")
        verbose_name_plural = _("驾驶舱汇总状态")
