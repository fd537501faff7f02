from django.db import models
from django.utils.translation import gettext_lazy as _
from viewflow.workflow.models import Process

from casework.models import Case


class CaseProcess(Process):
    """The flow instance of one case: an indexed one-to-one link to the domain record."""

    case = models.OneToOneField(Case, verbose_name=_("案件"), on_delete=models.PROTECT, related_name="process")

    class Meta:
        verbose_name = _("案件流程")
        verbose_name_plural = _("案件流程")
