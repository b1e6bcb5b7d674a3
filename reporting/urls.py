from django.urls import path

from . import calendar, exports, notifications, views, your_data

app_name = "reporting"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("reports/", views.report_list, name="report_list"),
    path("reports/deadlines/<int:deadline_pk>/start/", views.report_start, name="report_start"),
    path("reports/<int:pk>/", views.report_detail, name="report_detail"),
    path("reports/<int:pk>/edit/", views.report_edit, name="report_edit"),
    path("reports/<int:pk>/submit/", views.report_submit, name="report_submit"),
    path("reports/<int:pk>/review/", views.report_review, name="report_review"),
    path("reports/<int:pk>/pdf/", views.report_pdf, name="report_pdf"),
    path("reports/<int:pk>/pdf/v<int:version>/", views.report_pdf, name="report_pdf_version"),
    path("reports/<int:pk>/pdf/retry/", views.report_pdf_retry, name="report_pdf_retry"),
    path("reports/<int:pk>/pdf/status/", views.report_pdf_status, name="report_pdf_status"),
    path("commissions/<int:pk>/spend/", views.spend_list, name="spend_list"),
    path(
        "commissions/<int:pk>/spend/<int:line_pk>/delete/",
        views.spend_delete,
        name="spend_delete",
    ),
    path("notifications/", notifications.notification_list, name="notification_list"),
    path(
        "notifications/<int:pk>/read/",
        notifications.notification_read,
        name="notification_read",
    ),
    path(
        "notifications/read-all/",
        notifications.notification_read_all,
        name="notification_read_all",
    ),
    path(
        "notifications/preferences/",
        notifications.notification_preferences,
        name="notification_preferences",
    ),
    path("calendar/", calendar.calendar_settings, name="calendar_settings"),
    path("calendar/<str:token>.ics", calendar.calendar_feed, name="calendar_feed"),
    path("account/data/", your_data.personal_data, name="personal_data"),
    path(
        "account/data/download/",
        your_data.personal_data_download,
        name="personal_data_download",
    ),
    path("account/data/subject-access/", your_data.personal_data_for, name="personal_data_for"),
    path("funding/return.csv", exports.funding_return_csv, name="funding_return_csv"),
    path("funding/return.xlsx", exports.funding_return_xlsx, name="funding_return_xlsx"),
]
