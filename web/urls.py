from django.urls import path

from . import output_pages, views

urlpatterns = [
    path("", views.home, name="home"),
    path("cases/new/", views.case_new, name="case-new"),
    path("cases/<id:case_id>/", views.case_page, name="case-page"),
    path("cases/<id:case_id>/do/<str:name>/", views.case_transition, name="case-transition"),
    path("outputs/<id:output_id>/", output_pages.output_page, name="output-page"),
    path("outputs/<id:output_id>/docx/", views.output_docx, name="output-docx"),
    path("outputs/<id:output_id>/do/<str:name>/", output_pages.output_transition, name="output-transition"),
    path(
        "assignments/<id:assignment_id>/do/<str:name>/",
        output_pages.assignment_transition,
        name="assignment-transition",
    ),
    path("assignments/<id:assignment_id>/files/", output_pages.assignment_file_upload, name="assignment-file-upload"),
    path("signatures/<id:signature_id>/do/<str:name>/", output_pages.signature_transition, name="signature-transition"),
    path("files/<id:file_id>/", output_pages.output_file, name="output-file"),
    path("office/", output_pages.office_desk, name="office-desk"),
    path("desk/", output_pages.department_desk, name="department-desk"),
    path("referrals/", output_pages.referrals, name="referrals"),
    path("queues/<id:committee_id>/", views.queue_page, name="queue-page"),
    path("queues/<id:committee_id>/claim-next/", views.queue_claim_next, name="queue-claim-next"),
    path("team/<id:committee_id>/", views.team_page, name="team-page"),
    path("notifications/", views.notifications_page, name="notifications"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications-read-all"),
    path("notifications/<id:notification_id>/read/", views.notification_read, name="notification-read"),
    path("contacts/<id:contact_id>/reveal/", views.contact_reveal, name="contact-reveal"),
    path("me/", views.profile, name="profile"),
    path("audit/", views.audit_page, name="audit"),
    path("audit/export.xlsx", views.audit_export, name="audit-export"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/export/<slug:chart>.xlsx", views.dashboard_export, name="dashboard-export"),
]
