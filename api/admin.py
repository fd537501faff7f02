"""The admin: reference data is edited here; cases are read-only and move only through the
same workflow actions the API and the pages call (the admin actions below)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from casework import models
from casework.errors import DomainError
from workflows import actions

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
    admin.site.register(model)


@admin.register(models.User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("username", "display_name", "organisation", "is_active")
    list_filter = ("organisation", "groups", "is_active")
    search_fields = ("username", "display_name")
    exclude = ("password",)
    filter_horizontal = ("groups",)


@admin.register(models.Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("name", "sector", "organisation", "user")
    list_filter = ("organisation", "sector")
    search_fields = ("name",)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(models.Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "status", "committee", "member", "submitted_at")
    list_filter = ("organisation", "status", "committee")
    search_fields = ("title",)
    actions = ("claim_selected",)

    @admin.action(description=_("认领所选案件"))
    def claim_selected(self, request, queryset):  # type: ignore[no-untyped-def]
        from api.views import client_ip

        done = 0
        for case_id in queryset.values_list("id", flat=True):
            try:
                actions.case_claim(case_id=case_id, actor=request.user, source_ip=client_ip(request))
                done += 1
            except DomainError as error:
                self.message_user(request, f"#{case_id}: {error.message}", messages.WARNING)
        self.message_user(request, _("已认领 %(n)d 件。") % {"n": done})

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return obj is None and super(ReadOnlyAdmin, self).has_change_permission(request, obj)


@admin.register(models.AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "stream", "seq", "action", "actor", "occurred_at", "source_ip", "success")
    list_filter = ("action", "success")
    search_fields = ("stream",)


@admin.register(models.Output)
class OutputAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "output_type", "status", "committee")
    list_filter = ("organisation", "output_type", "status")
