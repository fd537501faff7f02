from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token

from . import audit_views, views

app_name = "api"

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="token"),
    path("cases/", views.CaseListView.as_view(), name="cases"),
    path("cases/<int:case_id>/", views.CaseDetailView.as_view(), name="case"),
    path("cases/<int:case_id>/transitions/<str:name>/", views.CaseTransitionView.as_view(), name="case-transition"),
    path("cases/<int:case_id>/events/", views.CaseEventsView.as_view(), name="case-events"),
    path("queues/", views.QueueListView.as_view(), name="queues"),
    path("queues/<int:committee_id>/tasks/", views.QueueTasksView.as_view(), name="queue-tasks"),
    path("queues/<int:committee_id>/claim-next/", views.QueueClaimNextView.as_view(), name="queue-claim-next"),
    path("tasks/mine/", views.MyTasksView.as_view(), name="my-tasks"),
    path("outputs/<int:output_id>/outcome/", views.OutputOutcomeView.as_view(), name="output-outcome"),
    path("audit/alerts/", audit_views.AuditAlertsView.as_view(), name="audit-alerts"),
]
