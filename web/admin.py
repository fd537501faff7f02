"""The admin: reference data is edited here; cases, outputs and audit events are read-only, and
a case moves only through the declared transitions. The transitions that take no input (claim,
release, submit) are the case list's admin actions, derived from their declarations."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework import models
from casework.errors import DomainError
from config.http import client_ip
from workflows import actions
from workflows.case_lifecycle import CASE
from workflows.declare import Transition

_has_permission = admin.site.has_permission


def _verified_staff(request: Any) -> bool:
    """The admin is for staff who signed in with the second factor too (the account gate sends
    them to it first)."""
    verified = getattr(request.user, "is_verified", None)
    return bool(_has_permission(request) and callable(verified) and verified())


admin.site.has_permission = _verified_staff  # type: ignore[method-assign]

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


@admin.register(models.CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ("year", "source", "published_on", "imported_at")


@admin.register(models.CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Holidays and make-up working days, editable; each year's notice is imported with
    `manage.py calendar_import`."""

    list_display = ("day", "is_working", "name")
    list_filter = ("is_working", "name")
    date_hierarchy = "day"


@admin.register(models.ClockPolicy)
class ClockPolicyAdmin(admin.ModelAdmin):
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


class InitialPasswordCreationForm(AdminUserCreationForm):
    """A new account's password is the administrator's: the user must change it first."""

    def save(self, commit: bool = True) -> Any:
        self.instance.must_change_password = True
        return super().save(commit)


class ResetPasswordForm(AdminPasswordChangeForm):
    """A password an administrator resets is theirs too: the user must change it first."""

    def save(self, commit: bool = True) -> Any:
        self.user.must_change_password = True
        return super().save(commit)


@admin.register(models.User)
class UserAdmin(DjangoUserAdmin):
    """Accounts. The password is never shown (only how it is stored); an administrator sets one on
    the account's password page, checked by the password policy, and the user must change it at
    their next sign-in."""

    add_form = InitialPasswordCreationForm
    change_password_form = ResetPasswordForm
    list_display = ("username", "display_name", "organisation", "is_active", "must_change_password")
    list_filter = ("organisation", "groups", "is_active")
    search_fields = ("username", "display_name")
    ordering = ("username",)
    filter_horizontal = ("groups",)
    fieldsets = (
        (None, {"fields": ("username", "password", "must_change_password")}),
        (_("个人信息"), {"fields": ("display_name", "email", "organisation", "department")}),
        (_("通知"), {"fields": ("notify_by_email", "notify_by_dingtalk")}),
        (_("权限"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("时间"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "usable_password", "password1", "password2", "display_name", "organisation"),
            },
        ),
    )


@admin.register(models.SignInThrottle)
class SignInThrottleAdmin(admin.ModelAdmin):
    """The lock-out's counters: deleting a row unlocks that account or address at once."""

    list_display = ("key", "failures", "locked_until", "refused", "window_started_at")
    search_fields = ("key",)
    readonly_fields = ("key", "failures", "window_started_at", "locked_until", "refused", "expires_at")

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(models.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API tokens by their prefix: the key is never stored, so never shown. Deleting a row
    revokes that token; a token is issued only by signing in (`POST /api/v1/auth/token/`)."""

    list_display = ("prefix", "user", "created_at", "expires_at")
    search_fields = ("user__username", "prefix")
    readonly_fields = ("user", "prefix", "created_at", "expires_at")
    exclude = ("digest",)

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(admin.ModelAdmin):
    """Second-factor devices, by user; the secret key is never shown. Deleting a device (a lost
    phone) makes the user enrol again at their next sign-in."""

    list_display = ("user", "name", "confirmed")
    list_filter = ("confirmed",)
    search_fields = ("user__username",)
    fields = ("user", "name", "confirmed")
    readonly_fields = ("user", "confirmed")

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(models.Member)
class MemberAdmin(admin.ModelAdmin):
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


@admin.register(models.Output)
class OutputAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "output_type", "status", "committee")
    list_filter = ("organisation", "output_type", "status")
