"""Outputs (成果) that cases become (docs/domain.md §4)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.choices import OutputStatus, OutputType

from .audit import AuditedRecord
from .org import Committee, Organisation, Session, Term, User


class Output(AuditedRecord):
    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    output_type = models.CharField(_("成果类型"), max_length=20, choices=OutputType.choices)
    status = models.CharField(_("状态"), max_length=20, choices=OutputStatus.choices, default=OutputStatus.DRAFT)
    title = models.CharField(_("标题"), max_length=200)
    committee = models.ForeignKey(Committee, verbose_name=_("负责委办"), on_delete=models.PROTECT)
    term = models.ForeignKey(Term, verbose_name=_("届"), null=True, blank=True, on_delete=models.PROTECT)
    session = models.ForeignKey(Session, verbose_name=_("会次"), null=True, blank=True, on_delete=models.PROTECT)
    outcome = models.TextField(_("办理结果"), blank=True)
    outcome_recorded_at = models.DateTimeField(_("结果登记时间"), null=True, blank=True)
    created_by = models.ForeignKey(User, verbose_name=_("创建人"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("成果")
        verbose_name_plural = _("成果")
        indexes = [models.Index(fields=["organisation", "output_type", "status"], name="output_org_type_status")]

    def __str__(self) -> str:
        return self.title
