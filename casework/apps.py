from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaseworkConfig(AppConfig):
    name = "casework"
    verbose_name = _("民情案件")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from casework.models import CalendarDay, CalendarYear, ClockPolicy
        from casework.services.deadlines import forget_calendar
        from casework.services.policies import forget_policies

        # Not domain logic: caches of the calendar and the clock policies, dropped when an
        # administrator edits them.
        for model in (CalendarDay, CalendarYear):
            post_save.connect(forget_calendar, sender=model, dispatch_uid=f"calendar-{model.__name__}-saved")
            post_delete.connect(forget_calendar, sender=model, dispatch_uid=f"calendar-{model.__name__}-deleted")
        post_save.connect(forget_policies, sender=ClockPolicy, dispatch_uid="clock-policy-saved")
        post_delete.connect(forget_policies, sender=ClockPolicy, dispatch_uid="clock-policy-deleted")

        from casework.models import User
        from casework.services.tokens import revoke_on_password_change

        # A changed password revokes the API token issued under the old one, wherever it changed
        # (the admin, a password page, the shell).
        post_save.connect(revoke_on_password_change, sender=User, dispatch_uid="token-revoked-on-password-change")
