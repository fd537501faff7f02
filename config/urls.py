from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.converters import IdConverter
from web.accounts import AdminSignInForm, ChangePasswordView, SignInView, otp_setup, otp_verify

register_converter(IdConverter, "id")
# The admin's sign-in says when the account is locked, like the login page.
admin.site.login_form = AdminSignInForm

urlpatterns = [
    path("", include("web.urls")),
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", ChangePasswordView.as_view(), name="password-change"),
    path("account/otp/setup/", otp_setup, name="otp-setup"),
    path("account/otp/verify/", otp_verify, name="otp-verify"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file (?script), not inline: the docs work
    # under the site's Content-Security-Policy (config/settings.py) like every other page.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs.html"),
        name="api-docs",
    ),
]

# Under /api/ every answer is JSON in the one error shape, Django's own included.
handler400 = "api.errors.bad_request"
handler404 = "api.errors.not_found"
handler500 = "api.errors.server_error"
