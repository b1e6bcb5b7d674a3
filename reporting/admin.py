"""The site team's view of reports, PDFs and reminders: mostly to look, since every change
of state goes through the services. A reminder stuck in "sending" (its worker died) shows
here; it is never re-sent by itself."""

import json

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.template.response import TemplateResponse
from simple_history.admin import SimpleHistoryAdmin

from trust import admin as trust_admin
from trust.models import User

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
from .personal_data import anonymise_user, personal_data_export


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


# ------------------------------------------------------------------ personal data


def export_personal_data(modeladmin, request, queryset):
    """Subject access: one JSON file for the selected people."""
    people = list(queryset.order_by("pk")[:50])
    data = {str(u.pk): personal_data_export(u) for u in people}
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="personal-data.json"'
    response["Cache-Control"] = "no-store"
    return response


export_personal_data.short_description = "Export personal data (JSON)"


def anonymise_people(modeladmin, request, queryset):
    """Erasure, after a confirmation page that says what is kept and what goes."""
    people = [u for u in queryset.order_by("pk") if u.pk != request.user.pk]
    if request.POST.get("confirm") == "yes":
        for person in people:
            anonymise_user(user=person, by=request.user)
        modeladmin.message_user(
            request,
            f"Anonymised {len(people)} {'person' if len(people) == 1 else 'people'}; their "
            "records now show “Former user”.",
            messages.SUCCESS,
        )
        return None
    previews = [(p, anonymise_user(user=p, by=request.user, dry_run=True)) for p in people]
    return TemplateResponse(
        request,
        "admin/trust/user/anonymise_confirmation.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": "Anonymise people",
            "previews": previews,
            "queryset": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": modeladmin.model._meta,
        },
    )


anonymise_people.short_description = "Anonymise (erase personal data, keep records)"


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(trust_admin.UserAdmin):
    actions = [export_personal_data, anonymise_people]
