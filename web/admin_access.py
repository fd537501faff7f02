"""Who administers what in the admin, and over which organisation's rows.

The three administrators are kept apart (三员分立), each to their own part of the admin and to the
rows of their own organisation:

- the system administrator (系统管理员): accounts (who they are, not what they may do) and the
  reference data: sectors, committees, terms and sessions, departments, categories, townships,
  reasons, time limits, output rules, members, DingTalk robots; the shared calendar and the
  defaults every organisation falls back on are theirs to read, not to change;
- the security administrator (安全管理员): what accounts may do (their roles, whether they are
  active, a forced password change), the sign-in lock-outs, API tokens and second-factor devices;
- the auditor (审计管理员): the audit trail, read-only (and the audit page outside the admin).

None of them reads case content or personal data here: cases, outputs, constituents' contacts,
notifications and the workflow's own tables are the superuser's alone (the install's account, for
repairs). An administrator cannot change another administrator's account or a superuser's, nor
give anyone an administrator's role: that stays with the superuser, so no one of the three can make
themselves, or another, more than they are.

A model's admin says who may change its rows (`change_roles`), who may only read them
(`view_roles`) and how a row belongs to an organisation (`org_path`; None: shared by all, such as
the calendar). Rows of another organisation are not found (404), as everywhere else. Every add,
change and delete made in the admin is written to the audit trail, in the same transaction."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import Model, Q, QuerySet

from casework import access
from casework.choices import Role
from casework.models import Organisation
from config.http import client_ip
from workflows.accounts import record_admin_change

SYSADMIN, SECURITY, AUDITOR = Role.SYSADMIN.value, Role.SECURITY_ADMIN.value, Role.AUDITOR.value
ADMIN_ROLES = frozenset({SYSADMIN, SECURITY, AUDITOR})


def is_superuser(request: Any) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


def admin_roles_of(user: Any) -> frozenset[str]:
    return frozenset(access.roles_of(user)) & ADMIN_ROLES


def enters_admin(user: Any) -> bool:
    """The superuser, and the three administrators (whatever their is_staff flag says)."""
    return bool(user.is_active and (user.is_superuser or admin_roles_of(user)))


class AdminArea(admin.ModelAdmin):
    """A model's admin, shown only to the administrators whose part it is, scoped to their
    organisation's rows, and audited. Superusers see and do what Django's admin lets them."""

    change_roles: frozenset[str] = frozenset()
    view_roles: frozenset[str] = frozenset()
    # How a row reaches its organisation ("pk" for the organisation itself); None: shared rows.
    org_path: str | None = "organisation"
    # Rows of no organisation (a default for all) are shown to the area's administrators, read-only.
    shared_defaults = False

    # Who ----------------------------------------------------------------------------------------

    def _may(self, request: Any, roles: frozenset[str]) -> bool:
        return bool(admin_roles_of(request.user) & roles)

    def has_module_permission(self, request: Any) -> bool:
        if is_superuser(request):
            return super().has_module_permission(request)
        return self._may(request, self.change_roles | self.view_roles)

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        if is_superuser(request):
            return super().has_view_permission(request, obj)
        return self._may(request, self.change_roles | self.view_roles) and (obj is None or self._in_scope(request, obj))

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        if is_superuser(request):
            return super().has_change_permission(request, obj)
        return self._may(request, self.change_roles) and (obj is None or self._changeable(request, obj))

    def has_add_permission(self, request: Any, *args: Any) -> bool:
        if is_superuser(request):
            return super().has_add_permission(request, *args)
        return self._may(request, self.change_roles) and self.org_path is not None

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        if is_superuser(request):
            return super().has_delete_permission(request, obj)
        return self._may(request, self.change_roles) and (obj is None or self._changeable(request, obj))

    # Which rows ---------------------------------------------------------------------------------

    def _own(self, request: Any) -> Q:
        assert self.org_path is not None
        own = Q(**{self.org_path: request.user.organisation_id})
        if self.shared_defaults:
            own |= Q(**{f"{self.org_path}__isnull": True})
        return own

    def scope(self, request: Any, queryset: QuerySet) -> QuerySet:
        """The rows an administrator of the user's organisation may see."""
        if self.org_path is None:
            return queryset  # shared by every organisation (read-only to them: no change_roles)
        if request.user.organisation_id is None:
            return queryset.none()
        return queryset.filter(self._own(request))

    def get_queryset(self, request: Any) -> QuerySet:
        queryset = super().get_queryset(request)
        return queryset if is_superuser(request) else self.scope(request, queryset)

    def _in_scope(self, request: Any, obj: Model) -> bool:
        return self.scope(request, type(obj)._default_manager.filter(pk=obj.pk)).exists()

    def _changeable(self, request: Any, obj: Model) -> bool:
        """Only rows of the user's own organisation, never a shared one nor a default for all."""
        if self.org_path is None or request.user.organisation_id is None:
            return False
        own = Q(**{self.org_path: request.user.organisation_id})
        return type(obj)._default_manager.filter(own, pk=obj.pk).exists()

    # What the forms offer -----------------------------------------------------------------------

    def formfield_for_foreignkey(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and not is_superuser(request):
            field.queryset = scoped_choices(request, field.queryset)
        return field

    def formfield_for_manytomany(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and not is_superuser(request):
            field.queryset = scoped_choices(request, field.queryset)
        return field

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        # A non-superuser's row is their organisation's, whatever was posted (an empty
        # organisation would make it a default for every organisation).
        if not is_superuser(request) and self.org_path == "organisation":
            obj.organisation_id = request.user.organisation_id
        super().save_model(request, obj, form, change)

    # The audit trail ----------------------------------------------------------------------------

    def log_addition(self, request: Any, obj: Any, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)
        self.audit(request, obj, "added", fields=_fields_of(message))
        return entry

    def log_change(self, request: Any, obj: Any, message: Any) -> Any:
        entry = super().log_change(request, obj, message)
        self.audit(request, obj, "changed", fields=_fields_of(message))
        return entry

    def delete_model(self, request: Any, obj: Any) -> None:
        # The delete page's own transaction holds both.
        self.audit(request, obj, "deleted")
        super().delete_model(request, obj)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        # The list's "delete selected" runs in no transaction of its own: the events and the
        # deletion are made one here.
        with transaction.atomic():
            for obj in queryset:
                self.audit(request, obj, "deleted")
            super().delete_queryset(request, queryset)

    def audit(self, request: Any, obj: Any, what: str, *, fields: list[str] | None = None, **extra: Any) -> None:
        record_admin_change(
            actor=request.user,
            what=what,
            model=obj._meta.label_lower,
            object_id=obj.pk,
            label=str(obj)[:200],
            organisation_id=_organisation_of(obj, request.user),
            fields=fields or [],
            source_ip=client_ip(request),
            **extra,
        )


def _fields_of(message: Any) -> list[str]:
    """The field names Django's change message lists (labels, never values: a value may be a
    phone number)."""
    names: list[str] = []
    for part in message if isinstance(message, list) else []:
        for detail in part.values():
            names += [str(f) for f in (detail.get("fields") or [])]
    return names


def _organisation_of(obj: Any, actor: Any) -> int | None:
    if isinstance(obj, Organisation):
        return obj.pk
    org_id = getattr(obj, "organisation_id", None)
    if org_id is None and getattr(obj, "user", None) is not None:
        org_id = getattr(obj.user, "organisation_id", None)
    return org_id if org_id is not None else actor.organisation_id


def scoped_choices(request: Any, queryset: Any) -> QuerySet:
    """What a non-superuser's form may point at: their own organisation's rows."""
    model = queryset.model
    org_id = request.user.organisation_id
    if model is Organisation:
        return queryset.filter(pk=org_id)
    names = {f.name for f in model._meta.get_fields()}
    if "organisation" in names:
        return queryset.filter(organisation_id=org_id)
    if "term" in names and model._meta.get_field("term").related_model is not None:
        return queryset.filter(term__organisation_id=org_id)
    return queryset
