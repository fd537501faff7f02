from django.urls import path

from . import audit_views, notification_views, output_views, report_views, transitions, views

app_name = "api"

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="token"),
    path("cases/", views.CaseListView.as_view(), name="cases"),
    path("cases/<id:case_id>/", views.CaseDetailView.as_view(), name="case"),
    path("cases/<id:case_id>/events/", views.CaseEventsView.as_view(), name="case-events"),
    path("cases/<id:case_id>/joinable-outputs/", views.JoinableOutputsView.as_view(), name="case-joinable-outputs"),
    path("cases/<id:case_id>/merge-targets/", views.MergeTargetsView.as_view(), name="case-merge-targets"),
    *transitions.urlpatterns(),
    path("outputs/", output_views.OutputListView.as_view(), name="outputs"),
    path("outputs/<id:output_id>/", views.OutputDetailView.as_view(), name="output"),
    path("referrals/", views.ReferralListView.as_view(), name="referrals"),
    path("outputs/<id:output_id>/docx/", views.OutputDocxView.as_view(), name="output-docx"),
    path("outputs/<id:output_id>/events/", output_views.OutputEventsView.as_view(), name="output-events"),
    path(
        "outputs/<id:output_id>/merge-targets/",
        output_views.OutputMergeTargetsView.as_view(),
        name="output-merge-targets",
    ),
    path("assignments/", output_views.AssignmentListView.as_view(), name="assignments"),
    path("assignments/<id:assignment_id>/files/", output_views.AssignmentFilesView.as_view(), name="assignment-files"),
    path("signatures/mine/", output_views.MySignaturesView.as_view(), name="signatures-mine"),
    path("files/<id:file_id>/", output_views.FileDownloadView.as_view(), name="file"),
    path("departments/", output_views.DepartmentsView.as_view(), name="departments"),
    path("output-reasons/", output_views.OutputReasonsView.as_view(), name="output-reasons"),
    path("sectors/", output_views.SectorsView.as_view(), name="sectors"),
    path("members/", output_views.MembersView.as_view(), name="members"),
    path("leaders/", output_views.LeadersView.as_view(), name="leaders"),
    path("queues/", views.QueueListView.as_view(), name="queues"),
    path("queues/<id:committee_id>/tasks/", views.QueueTasksView.as_view(), name="queue-tasks"),
    path("queues/<id:committee_id>/claim-next/", views.QueueClaimNextView.as_view(), name="queue-claim-next"),
    path("tasks/mine/", views.MyTasksView.as_view(), name="my-tasks"),
    path("categories/", views.CategoriesView.as_view(), name="categories"),
    path("townships/", views.TownshipsView.as_view(), name="townships"),
    path("committees/", views.CommitteesView.as_view(), name="committees"),
    path("reject-reasons/", views.RejectReasonsView.as_view(), name="reject-reasons"),
    path("redirect-channels/", views.RedirectChannelsView.as_view(), name="redirect-channels"),
    path("output-types/", views.OutputTypesView.as_view(), name="output-types"),
    path("contacts/", views.ContactsView.as_view(), name="contacts"),
    path("contacts/<id:contact_id>/reveal/", views.ContactRevealView.as_view(), name="contact-reveal"),
    path("reports/sla/", report_views.SlaReportView.as_view(), name="report-sla"),
    path("audit/events/", audit_views.AuditEventsView.as_view(), name="audit-events"),
    path("audit/alerts/", audit_views.AuditAlertsView.as_view(), name="audit-alerts"),
    path("notifications/", notification_views.NotificationListView.as_view(), name="notifications"),
    path(
        "notifications/unread-count/",
        notification_views.UnreadCountView.as_view(),
        name="notifications-unread-count",
    ),
    path(
        "notifications/read-all/", notification_views.NotificationReadAllView.as_view(), name="notifications-read-all"
    ),
    path(
        "notifications/<id:notification_id>/read/",
        notification_views.NotificationReadView.as_view(),
        name="notification-read",
    ),
    path(
        "me/notification-settings/",
        notification_views.NotificationSettingsView.as_view(),
        name="me-notification-settings",
    ),
]
