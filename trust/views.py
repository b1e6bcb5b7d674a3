import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .csv_export import export_filtered
from .exports import LEADER_HEADER, ORGANISATION_HEADER, leader_rows, organisation_rows
from .filters import LeaderFilter, OrganisationFilter
from .forms import SchoolImportForm
from .home import panels_for
from .models import BROKER_ROLES, HUB_ROLES, Role
from .selectors import (
    access_leader_profile,
    access_organisation,
    access_school_import,
    hub_contacts_for,
    hub_overview,
    leader_alerts,
    leader_list_for,
    leaders_based_at,
    organisation_list_for,
    organisations_of,
    people_at,
    role_homes,
    school_imports_for,
    trust_schools,
)
from .services import school_import_start
from .web import require_role

logger = logging.getLogger(__name__)
PAGE_SIZE = 50


@require_safe
@never_cache
def healthz(request):
    """For load balancers and uptime checks: 200 when the database (and broker) answer."""
    status = {"database": "ok", "broker": "eager"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("Health check: database unavailable")
        status["database"] = "error"
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        status["broker"] = _broker_status()
    healthy = all(value in {"ok", "eager"} for value in status.values())
    return JsonResponse(status, status=200 if healthy else 503)


def _broker_status() -> str:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=3)
            conn.default_channel.client.ping()
    except Exception:  # any failure to reach the broker is "error", never a 500
        logger.exception("Health check: broker unavailable")
        return "error"
    return "ok"


@login_required
def home(request):
    """Send each person to the home page of their first role."""
    homes = role_homes(request.user)
    if homes:
        return redirect(homes[0].url)
    return render(request, "trust/home_none.html")


def _with_alerts(profiles):
    today = timezone.localdate()
    return [(profile, leader_alerts(profile, today)) for profile in profiles]


@login_required
def hub_home(request):
    require_role(request.user, *HUB_ROLES)
    hubs = organisations_of(request.user, *HUB_ROLES)
    overviews = [hub_overview(user=request.user, hub=hub) for hub in hubs]
    context = {"overviews": overviews, "panels": panels_for(request.user, *HUB_ROLES)}
    return render(request, "trust/home_hub.html", context)


@login_required
def trust_home(request):
    require_role(request.user, Role.TRUST_LEAD)
    trusts = list(organisations_of(request.user, Role.TRUST_LEAD))
    context = {
        "trusts": [(trust, trust_schools(trust=trust)) for trust in trusts],
        "leaders": _with_alerts(leaders_based_at(user=request.user, organisations=trusts)),
        "hub_contacts": hub_contacts_for(user=request.user),
        "panels": panels_for(request.user, Role.TRUST_LEAD),
    }
    return render(request, "trust/home_trust.html", context)


@login_required
def leader_home(request):
    require_role(request.user, Role.SYSTEM_LEADER)
    profile = leader_list_for(user=request.user).filter(user=request.user).first()
    context = {
        "profile": profile,
        "alerts": leader_alerts(profile, timezone.localdate()) if profile else [],
        "homes": organisations_of(request.user, Role.SYSTEM_LEADER),
        "hub_contacts": hub_contacts_for(user=request.user),
        "panels": panels_for(request.user, Role.SYSTEM_LEADER),
    }
    return render(request, "trust/home_leader.html", context)


@login_required
def school_home(request):
    require_role(request.user, Role.SCHOOL_CONTACT)
    schools = organisations_of(request.user, Role.SCHOOL_CONTACT)
    context = {
        "schools": [(s, people_at(user=request.user, organisation=s)) for s in schools],
        "hub_contacts": hub_contacts_for(user=request.user),
        "panels": panels_for(request.user, Role.SCHOOL_CONTACT),
    }
    return render(request, "trust/home_school.html", context)


@login_required
def funder_home(request):
    require_role(request.user, Role.FUNDER_VIEWER)
    funders = organisations_of(request.user, Role.FUNDER_VIEWER)
    context = {
        "funders": [(f, people_at(user=request.user, organisation=f)) for f in funders],
        "hub_contacts": hub_contacts_for(user=request.user),
        "panels": panels_for(request.user, Role.FUNDER_VIEWER),
    }
    return render(request, "trust/home_funder.html", context)


@login_required
def organisation_list(request):
    filterset = OrganisationFilter(
        request.GET, queryset=organisation_list_for(user=request.user), user=request.user
    )
    export = export_filtered(
        request, filterset, "organisations", ORGANISATION_HEADER, organisation_rows
    )
    if export:
        return export
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filter": filterset,
        "page_obj": page,
        "can_import": Role.HUB_COORDINATOR in request.user.roles,
    }
    return render(request, "trust/organisation_list.html", context)


@login_required
def organisation_detail(request, pk):
    organisation = access_organisation(user=request.user, pk=pk)
    context = {
        "organisation": organisation,
        "people": people_at(user=request.user, organisation=organisation),
        "schools": organisation_list_for(user=request.user).filter(parent_trust=organisation),
        "leaders": _with_alerts(leaders_based_at(user=request.user, organisations=[organisation])),
    }
    return render(request, "trust/organisation_detail.html", context)


@login_required
def leader_list(request):
    require_role(request.user, *BROKER_ROLES)
    filterset = LeaderFilter(
        request.GET, queryset=leader_list_for(user=request.user), user=request.user
    )
    export = export_filtered(request, filterset, "system-leaders", LEADER_HEADER, leader_rows)
    if export:
        return export
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "trust/leader_list.html",
        {"filter": filterset, "page_obj": page, "leaders": _with_alerts(page)},
    )


@login_required
def leader_detail(request, pk):
    profile = access_leader_profile(user=request.user, pk=pk)
    return render(
        request,
        "trust/leader_detail.html",
        {"profile": profile, "alerts": leader_alerts(profile, timezone.localdate())},
    )


@login_required
def school_import(request):
    require_role(request.user, Role.HUB_COORDINATOR)
    hubs = organisations_of(request.user, Role.HUB_COORDINATOR)
    bound = (request.POST, request.FILES) if request.method == "POST" else ()
    form = SchoolImportForm(*bound, hubs=hubs)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        started = school_import_start(
            hub=form.cleaned_data["hub"],
            user=request.user,
            file_name=upload.name,
            data=upload.read(),
        )
        messages.success(request, f"{upload.name} is being imported.")
        return redirect(started)
    imports = school_imports_for(user=request.user)[:10]
    return render(request, "trust/school_import.html", {"form": form, "imports": imports})


@login_required
def school_import_detail(request, pk):
    school_import = access_school_import(user=request.user, pk=pk)
    return render(request, "trust/school_import_detail.html", {"import": school_import})
