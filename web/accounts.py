"""The sign-in pages: the login form and the admin's say plainly when the account or the address
is locked (and for how long) instead of "wrong password", and the login page answers 403 then.
The password page, where a user whose password an administrator set is sent first."""

from __future__ import annotations

import base64
from typing import Any

import segno
from django import forms
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django_otp import login as otp_login

from casework import otp
from casework.auth import lock_of, locked_message
from casework.choices import AuditAction
from config.http import client_ip
from workflows.accounts import record_account_event


class LockAwareMixin:
    request: Any

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()  # type: ignore[misc,no-any-return]
        except forms.ValidationError:
            lock = lock_of(self.request)
            if lock is not None:
                raise forms.ValidationError(locked_message(lock.seconds_left), code="account_locked") from None
            raise


class SignInForm(LockAwareMixin, AuthenticationForm):
    pass


class AdminSignInForm(LockAwareMixin, AdminAuthenticationForm):
    pass


class SignInView(auth_views.LoginView):
    template_name = "login.html"
    authentication_form = SignInForm

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if lock_of(self.request) is not None:
            response.status_code = 403
        return response


class ChangePasswordForm(PasswordChangeForm):
    """Django's password change (the policy is in its validators); a changed password is the
    user's own, so the flag that sent them here is cleared."""

    def save(self, commit: bool = True) -> Any:
        self.user.must_change_password = False
        return super().save(commit)


class ChangePasswordView(auth_views.PasswordChangeView):
    template_name = "password_change.html"
    form_class = ChangePasswordForm
    success_url = reverse_lazy("home")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, _("密码已修改。"))
        return response


# Where a signed-in user who still owes a step (a second factor, a new password) may go: the
# steps' pages, signing out, the language switch and static files. The API answers for itself.
_OPEN_PREFIXES = ("/account/", "/logout/", "/login/", "/i18n/", "/static/", "/api/")


def _next_step(request: Any) -> str | None:
    """The page a signed-in user must see first, if any: the second factor (enrolment when the
    role requires one and none is set up; the admin always asks for one), then the password an
    administrator set."""
    user = request.user
    if not user.is_verified():
        if request.path.startswith("/admin/") or otp.asks_otp(user):
            return "otp-verify" if otp.confirmed_device(user) is not None else "otp-setup"
    if user.must_change_password:
        return "password-change"
    return None


class AccountGateMiddleware:
    """Sends a signed-in user to the step they owe before any other page: the second factor (at
    each sign-in), then changing a password an administrator set."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith(_OPEN_PREFIXES):
            step = _next_step(request)
            if step is not None:
                return redirect(f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}")
        response: HttpResponse = self.get_response(request)
        return response


def _safe_next(request: Any) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("home")


class CodeForm(forms.Form):
    code = forms.CharField(label=_l("验证码"), max_length=8, min_length=6)


@login_required
def otp_setup(request: Any) -> HttpResponse:
    """Enrolment: the authenticator app scans the code (drawn here, as SVG: no outside service)
    or takes the key typed in; the first code that matches confirms the device and verifies this
    sign-in."""
    if otp.confirmed_device(request.user) is not None:
        return redirect(f"{reverse('otp-verify')}?{urlencode({'next': _safe_next(request)})}")
    device = otp.pending_device(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if otp.check(device, form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            record_account_event(
                AuditAction.ACCOUNT_OTP_ENROLLED,
                user=request.user,
                username=request.user.get_username(),
                source_ip=client_ip(request),
                success=True,
            )
            messages.success(request, _("已启用动态验证码。"))
            return redirect(_safe_next(request))
        form.add_error("code", _("验证码不正确，请核对手机上的时间后重试。"))
    uri = device.config_url
    return render(
        request,
        "otp_setup.html",
        {
            "form": form,
            "uri": uri,
            "secret": base64.b32encode(device.bin_key).decode().rstrip("="),
            "qr": mark_safe(segno.make(uri, error="m").svg_inline(scale=4)),
            "next": _safe_next(request),
        },
        status=200 if request.method == "GET" or form.is_valid() else 400,
    )


@login_required
def otp_verify(request: Any) -> HttpResponse:
    """The second step of each sign-in: a code from the enrolled device."""
    device = otp.confirmed_device(request.user)
    if device is None:
        return redirect(f"{reverse('otp-setup')}?{urlencode({'next': _safe_next(request)})}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if otp.check(device, form.cleaned_data["code"]):
            otp_login(request, device)
            return redirect(_safe_next(request))
        form.add_error("code", _("验证码不正确或尝试过于频繁，请稍后重试。"))
    return render(
        request,
        "otp_verify.html",
        {"form": form, "next": _safe_next(request)},
        status=200 if request.method == "GET" else 400,
    )
