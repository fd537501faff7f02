"""Engagements (联系活动) and services (办好实事) of the seed, §3–§4."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.choices import EngagementChannel, EngagementMethod, ServiceKind

from .org import Contact, Member, Organisation


class Engagement(models.Model):
    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    member = models.ForeignKey(Member, verbose_name=_("委员"), on_delete=models.PROTECT, related_name="engagements")
    contacts = models.ManyToManyField(Contact, verbose_name=_("联系群众"), related_name="engagements")
    occurred_on = models.DateField(_("日期"))
    method = models.CharField(_("联系方式"), max_length=16, choices=EngagementMethod.choices)
    channel = models.CharField(_("渠道"), max_length=24, choices=EngagementChannel.choices)
    # A subset of EngagementPurpose values.
    purposes = models.JSONField(_("联系内容"), default=list)
    notes = models.TextField(_("情况记录"), blank=True)

    class Meta:
        verbose_name = _("联系活动")
        verbose_name_plural = _("联系活动")
        indexes = [models.Index(fields=["member", "-occurred_on"], name="engagement_member_recent")]


class ServiceRecord(models.Model):
    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    member = models.ForeignKey(Member, verbose_name=_("委员"), on_delete=models.PROTECT, related_name="services")
    engagement = models.ForeignKey(
        Engagement, verbose_name=_("联系活动"), null=True, blank=True, on_delete=models.PROTECT
    )
    kind = models.CharField(_("服务类型"), max_length=16, choices=ServiceKind.choices)
    occurred_on = models.DateField(_("日期"))
    people_served = models.PositiveIntegerField(_("服务人数"), default=0)
    notes = models.TextField(_("情况记录"), blank=True)

    class Meta:
        verbose_name = _("实事服务")
        verbose_name_plural = _("实事服务")
