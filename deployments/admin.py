from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import ActionPlan, Objective, PlannedVisit, Visit, VisitObjective


class ObjectiveInline(admin.TabularInline):
    model = Objective
    extra = 0
    fields = ["title", "owner", "due", "rag", "position"]


@admin.register(ActionPlan)
class ActionPlanAdmin(SimpleHistoryAdmin):
    list_display = ["commission", "scope", "scope_name", "updated_at"]
    list_filter = ["scope"]
    search_fields = ["commission__request__school__name", "scope_name"]
    inlines = [ObjectiveInline]


@admin.register(Objective)
class ObjectiveAdmin(SimpleHistoryAdmin):
    list_display = ["title", "plan", "rag", "due"]
    list_filter = ["rag"]
    search_fields = ["title", "plan__commission__request__school__name"]


class VisitObjectiveInline(admin.TabularInline):
    model = VisitObjective
    extra = 0
    raw_id_fields = ["objective"]


@admin.register(Visit)
class VisitAdmin(SimpleHistoryAdmin):
    list_display = [
        "date",
        "deployment",
        "mode",
        "duration_hours",
        "response",
        "safeguarding_concern",
    ]
    list_filter = ["mode", "response", "safeguarding_concern"]
    search_fields = ["summary", "deployment__commission__request__school__name"]
    date_hierarchy = "date"
    raw_id_fields = ["deployment", "recorded_by", "responded_by"]
    readonly_fields = ["idempotency_key", "recorded_at"]
    inlines = [VisitObjectiveInline]


@admin.register(PlannedVisit)
class PlannedVisitAdmin(admin.ModelAdmin):
    list_display = ["date", "deployment", "mode", "visit"]
    raw_id_fields = ["deployment", "visit"]
