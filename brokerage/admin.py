"""The site team's view of requests and commissions, with each one's change history.

State (a request's status, who accepted what) changes through the services, so it is read
only here; what the team may correct by hand (a title, dates, amounts) is recorded in the
history with the admin's name, like any other change."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Commission, FundingAllocation, ReportingDeadline, SupportRequest


@admin.register(SupportRequest)
class SupportRequestAdmin(SimpleHistoryAdmin):
    list_display = ["title", "school", "status", "priority", "created_at"]
    list_filter = ["status", "priority"]
    search_fields = ["title", "school__name", "school__urn"]
    raw_id_fields = ["hub", "school", "raised_by", "subject"]
    readonly_fields = ["status", "status_changed_at", "created_at", "updated_at"]


class FundingAllocationInline(admin.TabularInline):
    model = FundingAllocation
    extra = 0
    raw_id_fields = ["stream"]


class ReportingDeadlineInline(admin.TabularInline):
    model = ReportingDeadline
    extra = 0


@admin.register(Commission)
class CommissionAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "lead_organisation", "start", "end", "days_allocated"]
    search_fields = ["request__school__name", "lead_organisation__name"]
    raw_id_fields = ["request", "offer", "lead_organisation"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [FundingAllocationInline, ReportingDeadlineInline]


@admin.register(FundingAllocation)
class FundingAllocationAdmin(SimpleHistoryAdmin):
    list_display = ["commission", "stream", "amount", "carry_forward"]
    list_filter = ["carry_forward"]
    search_fields = ["commission__request__school__name", "stream__name"]
    raw_id_fields = ["commission", "stream"]


@admin.register(ReportingDeadline)
class ReportingDeadlineAdmin(SimpleHistoryAdmin):
    list_display = ["commission", "kind", "due"]
    list_filter = ["kind"]
    search_fields = ["commission__request__school__name"]
    raw_id_fields = ["commission"]
