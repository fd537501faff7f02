"""Token sign-in for the API, in one statement per request.

Every API request needs the token's user, the user's organisation and member profile, their roles
and the committees they work: read through the ORM that was three queries and about 2 ms of
compiling on each request (a fifth of a queue page). Here it is one SQL statement, written once per
process from the models' own fields, and the rows become model instances as the ORM would make
them (`Model.from_db`).

The token is found by the SHA-256 digest of the key (a unique index: the key itself is never
stored), and the same statement says whether it has expired, so an expired token is told apart
from an unknown one without a second statement."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication

from casework import access, otp
from casework.models import ApiToken, Committee, Member, Organisation, User


def _columns(model: Any, alias: str) -> tuple[list[str], str]:
    names = [f.attname for f in model._meta.concrete_fields]
    quote = connection.ops.quote_name
    return names, ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


@cache
def _converters(model: Any, vendor: str) -> list[tuple[list[Any], Any]]:
    """What the ORM does to each column's raw value (SQLite hands back text for a time, 0/1 for
    a boolean): the backend's and the field's converters, as the compiler applies them."""
    made = []
    for field in model._meta.concrete_fields:
        column = field.get_col(model._meta.db_table)
        made.append((connection.ops.get_db_converters(column) + column.get_db_converters(connection), column))
    return made


def _instance(model: Any, names: list[str], values: list[Any]) -> Any:
    converted = []
    for value, (functions, column) in zip(values, _converters(model, connection.vendor), strict=True):
        for function in functions:
            value = function(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, names, converted)


@cache
def _statement(vendor: str) -> tuple[str, list[str], list[str], list[str]]:
    """The statement and the field names of each model's columns in it (per database vendor:
    the list aggregate is spelled differently)."""
    agg = "string_agg(CAST({} AS text), ',')" if vendor == "postgresql" else "group_concat({}, ',')"
    user_names, user_cols = _columns(User, "u")
    org_names, org_cols = _columns(Organisation, "o")
    member_names, member_cols = _columns(Member, "m")
    staff = Committee.staff.through._meta.db_table
    groups = User.groups.through._meta.db_table
    sql = f"""
        SELECT t.id, t.prefix, CASE WHEN t.expires_at > %s THEN 1 ELSE 0 END, {user_cols}, {org_cols}, {member_cols},
            (SELECT {agg.format("g.name")} FROM auth_group g JOIN {groups} ug ON ug.group_id = g.id
                WHERE ug.user_id = u.id) AS roles,
            (SELECT {agg.format("c.id")} FROM {Committee._meta.db_table} c
                WHERE c.organisation_id = u.organisation_id AND (c.head_id = u.id OR EXISTS (
                    SELECT 1 FROM {staff} s WHERE s.committee_id = c.id AND s.user_id = u.id))) AS committees
        FROM {ApiToken._meta.db_table} t
        JOIN {User._meta.db_table} u ON u.id = t.user_id
        LEFT JOIN {Organisation._meta.db_table} o ON o.id = u.organisation_id
        LEFT JOIN {Member._meta.db_table} m ON m.user_id = u.id
        WHERE t.digest = %s
    """
    return sql, user_names, org_names, member_names


def _split(text: str | None) -> list[str]:
    return [part for part in (text or "").split(",") if part]


class PasswordChangeRequired(exceptions.PermissionDenied):
    """The password was set by an administrator: it is changed on the password page first."""

    default_detail = _("请先在网页上修改管理员设置的初始密码。")
    default_code = "password_change_required"


class OtpRequired(exceptions.PermissionDenied):
    default_detail = _("该账号须使用动态验证码：请在请求中提供 otp。")
    default_code = "otp_required"


class OtpInvalid(exceptions.PermissionDenied):
    default_detail = _("动态验证码不正确或尝试过于频繁，请稍后重试。")
    default_code = "otp_invalid"


class OtpEnrolmentRequired(exceptions.PermissionDenied):
    default_detail = _("该账号须使用动态验证码：请先在网页上启用。")
    default_code = "otp_enrolment_required"


class ProfileTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, the user and everything the request needs of them read at once."""

    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[User, ApiToken]:  # type: ignore[override]
        sql, user_names, org_names, member_names = _statement(connection.vendor)
        now = ApiToken._meta.get_field("expires_at").get_db_prep_value(timezone.now(), connection)
        with connection.cursor() as cursor:
            cursor.execute(sql, [now, ApiToken.digest_of(key)])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("令牌无效。"))
        token_id, prefix, live = row[:3]
        if not live:
            raise exceptions.AuthenticationFailed(_("令牌已过期，请重新获取。"), code="token_expired")
        rest = list(row[3:])
        user_values, rest = rest[: len(user_names)], rest[len(user_names) :]
        org_values, rest = rest[: len(org_names)], rest[len(org_names) :]
        member_values, (roles, committees) = rest[: len(member_names)], rest[len(member_names) :]
        user = _instance(User, user_names, user_values)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("账号已停用。"))
        if user.must_change_password:
            raise PasswordChangeRequired()
        organisation = _instance(Organisation, org_names, org_values) if org_values[0] is not None else None
        member = _instance(Member, member_names, member_values) if member_values[0] is not None else None
        User.organisation.field.set_cached_value(user, organisation)  # type: ignore[attr-defined]
        User.member.related.set_cached_value(user, member)  # type: ignore[attr-defined]
        access.remember(
            user, roles=frozenset(_split(roles)), committee_ids=frozenset(int(c) for c in _split(committees))
        )
        # The token as request.auth: its id, prefix and user are what anyone reads of it.
        token = ApiToken(id=token_id, prefix=prefix, user=user)
        token._state.adding = False
        token._state.db = connection.alias
        return user, token


class CheckedSessionAuthentication(SessionAuthentication):
    """The pages' session, for the API: refused until the second factor is verified (for those
    who use one) and while the password must be changed."""

    def authenticate(self, request: Any) -> tuple[Any, None] | None:
        signed = super().authenticate(request)
        if signed is None:
            return None
        user = signed[0]
        verified = getattr(user, "is_verified", None)
        if callable(verified) and not verified() and otp.asks_otp(user):
            raise OtpRequired(_("该账号须使用动态验证码：请先在网页上完成验证。"))
        if getattr(user, "must_change_password", False):
            raise PasswordChangeRequired()
        return signed
