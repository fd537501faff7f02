"""The admin: reference data is edited here; cases, outputs and audit events are read-only, and
a case moves only through the declared transitions. The transitions that take no input (claim,
release, submit) are the case list's admin actions, derived from their declarations.

Each part of it belongs to one of the three administrators and shows only their organisation's
rows (`web.admin_access`); case content is the superuser's alone."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import FieldDoesNotExist
from django.db import models as dj_models
from django.db.models import Q, Value
from django.db.models.functions import Concat, Lower
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework import access, models
from casework.errors import DomainError
from casework.pii import mask_address, mask_id_number, mask_phone
from config.http import client_ip
from workflows import actions
from workflows import notifications as notification_actions
from workflows.case_lifecycle import CASE
from workflows.declare import Transition
from workflows.engine.admin import make_viewflow_admin_read_only
from workflows.inputs import refused_character, refused_character_message

from .admin_access import ADMIN_ROLES, AUDITOR, SECURITY, SYSADMIN, AdminArea, enters_admin, is_superuser


class TextCheckedMixin:
    """Free text typed into the admin (names of organisations, committees, categories, people;
    reasons; holiday names) is held to the rule every declared input follows: no control,
    invisible or direction-reversing character (`workflows.inputs.refused_character`)."""

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
        form: Any = self
        for name, value in list(cleaned.items()):
            if not isinstance(value, str):
                continue
            try:
                field = form._meta.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue  # not a column: a password typed twice, say
            if not isinstance(field, dj_models.CharField | dj_models.TextField):
                continue
            char = refused_character(value, multiline=isinstance(field, dj_models.TextField))
            if char is not None:
                form.add_error(name, refused_character_message(field.verbose_name, char))
        return cleaned


class TextCheckedForm(TextCheckedMixin, forms.ModelForm):
    pass


class TextCheckedAdmin(AdminArea):
    form = TextCheckedForm


class ReferenceAdmin(TextCheckedAdmin):
    """Reference data: the system administrator's, their organisation's rows."""

    change_roles = frozenset({SYSADMIN})


def _verified_admin(request: Any) -> bool:
    """The admin is for the superuser and the three administrators, signed in with the second
    factor too (the account gate sends them to it first)."""
    verified = getattr(request.user, "is_verified", None)
    return bool(enters_admin(request.user) and callable(verified) and verified())


admin.site.has_permission = _verified_admin  # type: ignore[method-assign]

for model in (
    models.Sector,
    models.Committee,
    models.Term,
    models.Department,
    models.CaseCategory,
    models.Township,
    models.RejectReason,
    models.OutputReason,
):
    admin.site.register(model, ReferenceAdmin)


@admin.register(models.Organisation)
class OrganisationAdmin(TextCheckedAdmin):
    """The organisation tree: the superuser's to change; a system administrator reads their own."""

    view_roles = frozenset({SYSADMIN})
    org_path = "pk"


@admin.register(models.Session)
class SessionAdmin(ReferenceAdmin):
    org_path = "term__organisation"


@admin.register(models.OutputRules)
class OutputRulesAdmin(ReferenceAdmin):
    """The output lifecycles' windows and limits: the default row and each organisation's own."""

    shared_defaults = True

    list_display = (
        "__str__",
        "reply_months",
        "reply_max_months",
        "objection_working_days",
        "info_report_max_chars",
        "speech_max_chars",
    )


class CalendarAdmin(TextCheckedAdmin):
    """The working-day calendar is the whole deployment's: administrators read it, the superuser
    changes it (or `manage.py calendar_import`)."""

    view_roles = frozenset({SYSADMIN})
    org_path = None


@admin.register(models.CalendarYear)
class CalendarYearAdmin(CalendarAdmin):
    list_display = ("year", "source", "published_on", "imported_at")


@admin.register(models.CalendarDay)
class CalendarDayAdmin(CalendarAdmin):
    """Holidays and make-up working days, editable; each year's notice is imported with
    `manage.py calendar_import`."""

    list_display = ("day", "is_working", "name")
    list_filter = ("is_working", "name")
    date_hierarchy = "day"


@admin.register(models.ClockPolicy)
class ClockPolicyAdmin(ReferenceAdmin):
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
    shared_defaults = True


class UserAddForm(TextCheckedMixin, auth_forms.AdminUserCreationForm):
    """Django's own form for a new account (a password typed twice and checked by the password
    validators, or none for now, to be set later) on our user model."""

    class Meta(auth_forms.AdminUserCreationForm.Meta):
        model = models.User
        fields = ("username", "display_name", "organisation")

    def save(self, commit: bool = True) -> Any:
        # A password an administrator sets is theirs: the user must change it first.
        self.instance.must_change_password = True
        return super().save(commit)


class UserChangeForm(TextCheckedMixin, auth_forms.UserChangeForm):
    class Meta(auth_forms.UserChangeForm.Meta):
        model = models.User
        fields = "__all__"


class ResetPasswordForm(auth_forms.AdminPasswordChangeForm):
    """A password an administrator resets is theirs too: the user must change it first."""

    def save(self, commit: bool = True) -> Any:
        self.user.must_change_password = True
        return super().save(commit)


# What each administrator may change of an account: the system administrator who the account is,
# the security administrator what it may do. The rest (superuser, staff flags, Django permissions)
# is the superuser's.
ACCOUNT_FIELDS = {
    SYSADMIN: frozenset(
        {"username", "display_name", "email", "organisation", "department", "notify_by_email", "notify_by_dingtalk"}
    ),
    SECURITY: frozenset({"is_active", "groups", "must_change_password"}),
}
ACCOUNT_READ_ONLY = ("last_login", "date_joined")


@admin.register(models.User)
class UserAdmin(AdminArea, auth_admin.UserAdmin):
    """Accounts, with Django's own password forms: a new account is given a password (checked by
    the password validators) or none, and an existing one's is set or reset from its page. The
    password itself is never shown, nor its hash; one an administrator sets (new or reset) must be
    changed by the user at their next sign-in.

    The system administrator adds accounts and keeps who they are; the security administrator
    gives and takes their roles (never an administrator's), activates and deactivates them. Neither
    changes a superuser's or another administrator's account, and every change of roles is audited
    with the roles before and after."""

    change_roles = frozenset({SYSADMIN, SECURITY})

    form = UserChangeForm
    add_form = UserAddForm
    change_password_form = ResetPasswordForm
    list_display = ("username", "display_name", "organisation", "is_active", "must_change_password")
    list_filter = ("organisation", "groups", "is_active", "is_staff", "is_superuser")
    search_fields = ("username", "display_name", "email")
    ordering = ("username",)
    fieldsets = (
        (None, {"fields": ("username", "password", "must_change_password")}),
        (_("账号信息"), {"fields": ("display_name", "email", "organisation", "department")}),
        (_("接收通知的渠道"), {"fields": ("notify_by_email", "notify_by_dingtalk")}),
        (_("角色与权限"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("登录与创建时间"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "display_name", "organisation", "usable_password", "password1", "password2"),
            },
        ),
    )
    filter_horizontal = ("groups", "user_permissions")

    def scope(self, request: Any, queryset: Any) -> Any:
        return super().scope(request, queryset).filter(is_superuser=False)

    def _changeable(self, request: Any, obj: Any) -> bool:
        if obj.is_superuser or obj.groups.filter(name__in=ADMIN_ROLES).exists():
            return False
        return super()._changeable(request, obj)

    def has_add_permission(self, request: Any, *args: Any) -> bool:
        if is_superuser(request):
            return super().has_add_permission(request, *args)
        return SYSADMIN in access.roles_of(request.user)

    def get_readonly_fields(self, request: Any, obj: Any = None) -> Any:
        if is_superuser(request) or obj is None:
            return ACCOUNT_READ_ONLY
        editable: frozenset[str] = frozenset().union(
            *(ACCOUNT_FIELDS.get(role, frozenset()) for role in access.roles_of(request.user))
        )
        fields = [f.name for f in models.User._meta.get_fields() if f.concrete and f.name != "password"]
        return tuple(name for name in fields if name not in editable or name in ACCOUNT_READ_ONLY)

    def formfield_for_manytomany(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.name == "groups" and not is_superuser(request):
            field.queryset = field.queryset.exclude(name__in=ADMIN_ROLES)
        return field

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        # The roles as they were: the form's groups are saved after the account.
        obj._roles_before = sorted(obj.groups.values_list("name", flat=True)) if change else []
        super().save_model(request, obj, form, change)

    def audit(self, request: Any, obj: Any, what: str, **kwargs: Any) -> None:
        before = getattr(obj, "_roles_before", None)
        if before is not None and what == "changed":
            kwargs |= {"roles_before": before, "roles_after": sorted(obj.groups.values_list("name", flat=True))}
        super().audit(request, obj, what, **kwargs)


class SecurityArea(AdminArea):
    """Sign-in security: the security administrator's, their organisation's accounts'. Rows are
    read and deleted (deleting unlocks or revokes), never edited."""

    change_roles = frozenset({SECURITY})
    org_path = "user__organisation"

    def has_add_permission(self, request: Any, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(models.SignInThrottle)
class SignInThrottleAdmin(SecurityArea):
    """The lock-out's counters: deleting a row unlocks that account or address at once. A security
    administrator sees their organisation's accounts' counters and the addresses' (an address is
    no organisation's: an office's shared one may need unlocking)."""

    list_display = ("key", "failures", "locked_until", "refused", "window_started_at")
    search_fields = ("key",)
    readonly_fields = ("key", "failures", "window_started_at", "locked_until", "refused", "expires_at")

    def scope(self, request: Any, queryset: Any) -> Any:
        accounts = (
            models.User.objects.filter(organisation_id=request.user.organisation_id)
            .annotate(key=Concat(Value("user:"), Lower("username")))
            .values("key")
        )
        return queryset.filter(Q(key__startswith="addr:") | Q(key__in=accounts))

    def _changeable(self, request: Any, obj: Any) -> bool:
        return self._in_scope(request, obj)


@admin.register(models.ApiToken)
class ApiTokenAdmin(SecurityArea):
    """API tokens by their prefix: the key is never stored, so never shown. Deleting a row
    revokes that token; a token is issued only by signing in (`POST /api/v1/auth/token/`)."""

    list_display = ("prefix", "user", "created_at", "expires_at")
    search_fields = ("user__username", "prefix")
    readonly_fields = ("user", "prefix", "created_at", "expires_at")
    exclude = ("digest",)


admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(SecurityArea):
    """Second-factor devices, by user; the secret key is never shown. Deleting a device (a lost
    phone) makes the user enrol again at their next sign-in."""

    list_display = ("user", "name", "confirmed")
    list_filter = ("confirmed",)
    search_fields = ("user__username",)
    fields = ("user", "name", "confirmed")
    readonly_fields = ("user", "confirmed")


PII_MASKS = {"phone": mask_phone, "id_number": mask_id_number, "address": mask_address}


class ContactForm(TextCheckedForm):
    """Personal data is written here but never read back: the fields start empty whatever the
    record holds (its masked value is the help text), and an empty field leaves the value as it
    was. Reading a value in clear is the audited reveal's, not the admin's."""

    class Meta:
        model = models.Contact
        fields = (
            "organisation",
            "sector",
            "name",
            "phone",
            "id_number",
            "address",
            "workplace",
            "consent_recorded_on",
            "retain_until",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, mask in PII_MASKS.items():
            field = self.fields[name]
            field.required = False
            self.initial[name] = ""
            current = getattr(self.instance, name) if self.instance.pk else ""
            field.help_text = (
                _("当前：%(masked)s。留空则不修改。") % {"masked": mask(current)} if current else _("当前无。")
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.instance.pk:
            for name in PII_MASKS:
                if not cleaned.get(name) and name not in self.errors:
                    cleaned[name] = getattr(self.instance, name)
        return cleaned


@admin.register(models.Contact)
class ContactAdmin(TextCheckedAdmin):
    """Constituents' personal data: no administrator's part (members keep their rosters); the
    superuser's alone, for repairs."""

    form = ContactForm
    list_display = (
        "name",
        "sector",
        "masked_phone",
        "masked_id_number",
        "masked_address",
        "consent_recorded_on",
        "retain_until",
        "anonymised_at",
    )
    list_filter = ("organisation", "sector")
    search_fields = ("name",)

    @admin.display(description=_("联系电话"))
    def masked_phone(self, contact: models.Contact) -> str:
        return mask_phone(contact.phone)

    @admin.display(description=_("身份证号"))
    def masked_id_number(self, contact: models.Contact) -> str:
        return mask_id_number(contact.id_number)

    @admin.display(description=_("住址"))
    def masked_address(self, contact: models.Contact) -> str:
        return mask_address(contact.address)


@admin.register(models.Member)
class MemberAdmin(ReferenceAdmin):
    list_display = ("name", "sector", "organisation", "user")
    list_filter = ("organisation", "sector")
    search_fields = ("name",)


class ReadOnlyAdmin(AdminArea):
    """Case content and the workflow's records: the superuser reads them (no administrator's
    part names them); nobody changes them here."""

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
    view_roles = frozenset({AUDITOR})
    list_display = ("id", "stream", "seq", "action", "actor", "occurred_at", "source_ip", "success")
    list_filter = ("action", "success")
    search_fields = ("stream",)


# viewflow's process and task tables: readable, never changed beside the workflow.
make_viewflow_admin_read_only(admin.site)


@admin.register(models.Output)
class OutputAdmin(ReadOnlyAdmin):
    list_display = ("id", "number", "title", "output_type", "status", "committee")
    list_filter = ("organisation", "output_type", "status")
    search_fields = ("title", "number")


@admin.register(models.Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ("id", "output", "department", "role", "round", "status", "due_at", "reply_class")
    list_filter = ("organisation", "status", "role", "reply_class")
    list_select_related = ("output", "department")


@admin.register(models.OutputSigner)
class OutputSignerAdmin(ReadOnlyAdmin):
    list_display = ("id", "output", "user", "role", "confirmed_at")
    list_select_related = ("output", "user")


@admin.register(models.OutputSeries)
class OutputSeriesAdmin(ReadOnlyAdmin):
    list_display = ("name", "last")


@admin.register(models.Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("id", "recipient", "kind", "title", "created_at", "read_at")
    list_filter = ("organisation", "kind")
    search_fields = ("title", "recipient__username", "recipient__display_name")
    list_select_related = ("recipient",)


@admin.register(models.NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdmin):
    """The outbox, read-only; a failed delivery can be given a fresh round of attempts."""

    list_display = ("id", "notification", "channel", "state", "attempts", "next_attempt_at", "sent_at", "last_error")
    list_filter = ("state", "channel")
    list_select_related = ("notification",)
    actions = ["retry_now"]

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        # The list's action needs the change permission; a delivery itself stays read-only.
        return obj is None and super(ReadOnlyAdmin, self).has_change_permission(request, obj)

    @admin.action(description=_("立即重试所选的发送失败项"))
    def retry_now(self, request: Any, queryset: Any) -> None:
        retried = notification_actions.retry_deliveries(list(queryset.values_list("id", flat=True)))
        self.message_user(request, _("已重新排队 %(n)d 项（只有发送失败的才会重试）。") % {"n": retried})


class DingTalkRobotForm(forms.ModelForm):
    _url = models.DingTalkRobot._meta.get_field("webhook_url")
    webhook_url = forms.URLField(
        label=_url.verbose_name, help_text=_url.help_text, max_length=500, assume_scheme="https"
    )

    class Meta:
        model = models.DingTalkRobot
        fields = ("organisation", "committee", "name", "webhook_url", "secret", "message_format", "is_active")
        # The secret signs every message: shown masked, kept when the form is saved unchanged.
        widgets = {"secret": forms.PasswordInput(render_value=True)}


@admin.register(models.DingTalkRobot)
class DingTalkRobotAdmin(AdminArea):
    change_roles = frozenset({SYSADMIN})
    form = DingTalkRobotForm
    list_display = ("name", "organisation", "committee", "message_format", "is_active")
    list_filter = ("organisation", "is_active")
    actions = ["send_test"]

    @admin.action(description=_("向所选机器人发送测试消息"))
    def send_test(self, request: Any, queryset: Any) -> None:
        for robot in queryset:
            error = notification_actions.try_robot(robot)
            if error is None:
                self.message_user(request, _("「%(name)s」：测试消息已发送。") % {"name": robot.name})
            else:
                self.message_user(
                    request,
                    _("「%(name)s」：发送失败：%(error)s") % {"name": robot.name, "error": error},
                    messages.ERROR,
                )
