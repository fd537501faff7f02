from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api import pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("cases/<int:case_id>/", pages.case_page, name="case-page"),
    path("cases/new/", pages.case_new, name="case-new"),
    path("cases/<int:case_id>/do/<str:name>/", pages.case_transition, name="case-transition"),
    path("queues/<int:committee_id>/claim-next/", pages.queue_claim_next, name="queue-claim-next"),
    path("login/", auth_views.LoginView.as_view(template_name="login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
