"""The second factor (TOTP, django-otp): who must have one, and checking a code.

Required for the roles that decide and administer (MINQING_OTP_REQUIRED_ROLES: committee staff,
heads and the proposal office, department liaisons, leadership and the three administrators);
optional for members and conveners, who may enrol and are then asked for it too. A code that
fails is counted by the device (django-otp's throttling: each failure doubles the wait)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework import access


def requires_otp(user: Any) -> bool:
    return bool(access.roles_of(user) & frozenset(settings.MINQING_OTP_REQUIRED_ROLES))


def confirmed_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def asks_otp(user: Any) -> bool:
    """Whether signing in needs a code: the role requires one, or the user enrolled anyway."""
    return requires_otp(user) or confirmed_device(user) is not None


def pending_device(user: Any) -> TOTPDevice:
    """The device being enrolled (unconfirmed until a first code matches), made if missing."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="minqing", confirmed=False)
    return device


def check(device: TOTPDevice, code: str | None) -> bool:
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == device.digits):
        return False
    return bool(device.verify_token(code))
