"""The working-day calendar, as data: the State Council publishes each year's holidays and make-up
working days (调休) every November, and an administrator enters them (or imports the notice).
Only the days that differ from Monday–Friday are stored; a year is known once it has a
`CalendarYear` row, and asking about a day of an unknown year is an error, never a guess."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarYear(models.Model):
    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    source = models.CharField(_("依据"), max_length=200, help_text=_("如：国务院办公厅关于2026年部分节假日安排的通知"))
    published_on = models.DateField(_("发布日期"), null=True, blank=True)
    imported_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("节假日安排年份")
        verbose_name_plural = _("节假日安排年份")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """A day that is not what its weekday says: a holiday on a weekday, or a make-up working day
    on a weekend."""

    day = models.DateField(_("日期"), unique=True)
    is_working = models.BooleanField(_("是否工作日"), help_text=_("勾选：周末调休上班；不勾选：工作日放假"))
    name = models.CharField(_("节日"), max_length=40, help_text=_("如：春节、国庆节"))

    class Meta:
        verbose_name = _("节假日与调休")
        verbose_name_plural = _("节假日与调休")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.name}"
