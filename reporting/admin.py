"""The site team's view of reports, PDFs and reminders: mostly to look, since every change
of state goes through the services. A reminder stuck in "sending" (its worker died) shows
here; it is never re-sent by itself."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    CalendarFeed,
    ImpactReport,
    Notification,
    PdfJob,
    Reminder,
    ReportEvent,
    ReportFile,
    SpendLine,
)


class ReportEventInline(admin.TabularInline):
    model = ReportEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "actor", "from_status", "to_status", "comment"]


@admin.register(ImpactReport)
class ImpactReportAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "status", "submitted_at", "reviewer", "impact"]
    list_filter = ["status", "impact", "value_for_money", "deadline__kind"]
    search_fields = ["deadline__commission__request__school__name"]
    readonly_fields = [
        "deadline",
        "status",
        "snapshot",
        "submissions",
        "submitted_by",
        "submitted_at",
        "reviewer",
        "reviewed_at",
        "impact",
        "value_for_money",
    ]
    inlines = [ReportEventInline]


@admin.register(PdfJob)
class PdfJobAdmin(admin.ModelAdmin):
    list_display = ["report", "version", "status", "attempts", "created_at", "finished_at"]
    list_filter = ["status"]
    readonly_fields = ["report", "version", "state", "created_at", "finished_at", "error"]


@admin.register(ReportFile)
class ReportFileAdmin(admin.ModelAdmin):
    list_display = ["report", "version", "status_at_render", "size", "generated_at"]
    readonly_fields = ["report", "version", "file", "sha256", "size", "status_at_render"]


@admin.register(SpendLine)
class SpendLineAdmin(SimpleHistoryAdmin):
    list_display = ["date", "allocation", "amount", "description", "recorded_by"]
    search_fields = ["description", "allocation__commission__request__school__name"]
    raw_id_fields = ["allocation", "recorded_by"]


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "recipient", "title", "state", "attempts", "sent_at"]
    list_filter = ["state", "kind"]
    search_fields = ["title", "recipient__email", "subject"]
    readonly_fields = [
        "subject",
        "kind",
        "recipient",
        "deadline",
        "about",
        "title",
        "body",
        "url",
        "attempts",
        "last_error",
        "sent_at",
    ]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "title", "read_at"]
    search_fields = ["title", "user__email"]
    raw_id_fields = ["user", "reminder"]


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at"]
    exclude = ["token"]  # the secret address is the user's alone
    raw_id_fields = ["user"]
