from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "web"
    verbose_name = _("网页")

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the sign-in audit)
