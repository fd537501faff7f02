"""The admin: reference data is edited here; cases, outputs and audit events are read-only, and
a case moves only through the declared transitions. The transitions that take no input (claim,
release, submit) are the case list's admin actions, derived from their declarations."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist
from django.db import models as dj_models
from django.utils.translation import gettext_lazy as _

from casework import models
from casework.errors import DomainError
from config.http import client_ip
from workflows import actions
from workflows.case_lifecycle import CASE
from workflows.declare import Transition
from workflows.engine.admin import make_viewflow_admin_read_only
from workflows.inputs import refused_character, refused_character_message


class TextCheckedForm(forms.ModelForm):
    """Free text typed into the admin (names of organisations, committees, categories, people;
    reasons; holiday names) is held to the rule every declared input follows: no control,
    invisible or direction-reversing character (`workflows.inputs.refused_character`)."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if not isinstance(value, str):
                continue
            try:
                field = self._meta.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if not isinstance(field, dj_models.CharField | dj_models.TextField):
                continue
            char = refused_character(value, multiline=isinstance(field, dj_models.TextField))
            if char is not None:
                self.add_error(name, refused_character_message(field.verbose_name, char))
        return cleaned


class TextCheckedAdmin(admin.ModelAdmin):
    form = TextCheckedForm


for model in (
    models.Organisation,
    models.Sector,
    models.Committee,
    models.Term,
    models.Session,
    models.Department,
    models.CaseCategory,
    models.Township,
    models.RejectReason,
):
    admin.site.register(model, TextCheckedAdmin)


@admin.register(models.CalendarYear)
class CalendarYearAdmin(TextCheckedAdmin):
    list_display = ("year", "source", "published_on", "imported_at")


@admin.register(models.CalendarDay)
class CalendarDayAdmin(TextCheckedAdmin):
    """Holidays and make-up working days, editable; each year's notice is imported with
    `manage.py calendar_import`."""

    list_display = ("day", "is_working", "name")
    list_filter = ("is_working", "name")
    date_hierarchy = "day"


@admin.register(models.ClockPolicy)
class ClockPolicyAdmin(TextCheckedAdmin):
    """Each stage's target, warning and escalation chain: a row without an organisation is the
    default for all, an organisation's own row overrides it. A change applies to clocks opened
    from then on (and within the process cache's seconds elsewhere); running clocks keep theirs."""

    list_display = (
        "stage",
        "organisation",
        "amount",
        "unit",
        "warn_percent",
        "warn_days_before",
        "escalate_head_after",
        "escalate_leadership_after",
    )
    list_filter = ("stage", "organisation")


@admin.register(models.User)
class UserAdmin(TextCheckedAdmin):
    list_display = ("username", "display_name", "organisation", "is_active")
    list_filter = ("organisation", "groups", "is_active")
    search_fields = ("username", "display_name")
    exclude = ("password",)
    filter_horizontal = ("groups",)


@admin.register(models.Member)
class MemberAdmin(TextCheckedAdmin):
    list_display = ("name", "sector", "organisation", "user")
    list_filter = ("organisation", "sector")
    search_fields = ("name",)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


def transition_action(t: Transition) -> Any:
    """An admin action doing `t` to each selected case, as the signed-in user."""

    def act(modeladmin: admin.ModelAdmin, request: Any, queryset: Any) -> None:
        done = 0
        for case_id in queryset.values_list("id", flat=True):
            try:
                actions.perform(t.name, case_id=case_id, actor=request.user, source_ip=client_ip(request))
                done += 1
            except DomainError as error:
                modeladmin.message_user(request, f"#{case_id}: {error.message}", messages.WARNING)
        modeladmin.message_user(request, _("「%(t)s」：已处理 %(n)d 件。") % {"t": t.label, "n": done})

    act.__name__ = f"do_{t.name}"
    return admin.action(description=_("对所选案件：%(t)s") % {"t": t.label})(act)


@admin.register(models.Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "status", "committee", "member", "submitted_at")
    list_filter = ("organisation", "status", "committee")
    search_fields = ("title",)
    actions = [transition_action(t) for t in CASE.public() if not t.input.fields]

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        # The list's actions need the change permission; a case itself stays read-only.
        return obj is None and super(ReadOnlyAdmin, self).has_change_permission(request, obj)


@admin.register(models.AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "stream", "seq", "action", "actor", "occurred_at", "source_ip", "success")
    list_filter = ("action", "success")
    search_fields = ("stream",)


# viewflow's process and task tables: readable, never changed beside the workflow.
make_viewflow_admin_read_only(admin.site)


@admin.register(models.Output)
class OutputAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "output_type", "status", "committee")
    list_filter = ("organisation", "output_type", "status")
