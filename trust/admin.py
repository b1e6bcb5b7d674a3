from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm

from .models import (
    AuditEvent,
    Cluster,
    Membership,
    Organisation,
    SchoolImport,
    Specialism,
    SystemLeaderProfile,
    User,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["organisation", "user"]


class SystemLeaderProfileInline(admin.StackedInline):
    model = SystemLeaderProfile
    extra = 0
    filter_horizontal = ["specialisms"]


class EmailUserCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ["email", "full_name"]


class EmailUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    ordering = ["full_name", "email"]
    list_display = ["email", "full_name", "job_title", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "memberships__role"]
    search_fields = ["email", "full_name", "memberships__organisation__name"]
    readonly_fields = ["last_login", "date_joined"]
    inlines = [MembershipInline, SystemLeaderProfileInline]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name", "job_title", "phone"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]}),
    ]
    filter_horizontal = ["groups"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "urn", "phase", "local_authority", "hub", "cluster", "is_open"]
    list_filter = ["kind", "is_open", "phase", "hub", "cluster", "local_authority"]
    search_fields = ["name", "urn", "postcode", "local_authority"]
    autocomplete_fields = ["hub", "parent_trust", "cluster"]
    list_select_related = ["hub", "cluster"]
    inlines = [MembershipInline]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "hub"]
    list_filter = ["hub"]
    search_fields = ["name", "hub__name"]
    autocomplete_fields = ["hub"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "organisation", "created_at"]
    list_filter = ["role", "organisation__kind"]
    search_fields = ["user__email", "user__full_name", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]
    list_select_related = ["user", "organisation"]


@admin.register(Specialism)
class SpecialismAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}


@admin.register(SystemLeaderProfile)
class SystemLeaderProfileAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "designation",
        "capacity_days_per_term",
        "accreditation_expires",
        "dbs_checked_on",
        "active",
    ]
    list_filter = ["designation", "active", "specialisms"]
    search_fields = ["user__full_name", "user__email"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["specialisms"]
    list_select_related = ["user"]


@admin.register(SchoolImport)
class SchoolImportAdmin(admin.ModelAdmin):
    list_display = ["file_name", "hub", "status", "uploaded_by", "created_at", "finished_at"]
    list_filter = ["status", "hub"]
    search_fields = ["file_name", "uploaded_by__email"]
    readonly_fields = [f.name for f in SchoolImport._meta.fields if f.name != "data"]
    exclude = ["data"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("data")

    def has_add_permission(self, request):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log is read here and nowhere changed: no add, change or delete."""

    list_display = ["at", "action", "email", "object_label", "ip"]
    list_filter = ["action"]
    search_fields = ["email", "object_label"]
    date_hierarchy = "at"
    list_select_related = ["actor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
