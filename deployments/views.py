from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from trust.audit import record
from trust.csv_export import export_filtered
from trust.models import HUB_ROLES, AuditEvent, Role
from trust.web import add_service_errors, json_response, posted, require_role

from . import services
from .exports import DEPLOYMENT_HEADER, VISIT_HEADER, deployment_rows, visit_rows
from .filters import DeploymentFilter, VisitFilter
from .forms import ObjectiveForm, PlanForm, PlanVisitForm, ResponseForm, VisitFilterForm, VisitForm
from .models import Visit
from .selectors import (
    WITHHELD,
    access_deployment,
    access_objective,
    access_plan_commission,
    access_visit,
    deployment_list_for,
    objective_history,
    objectives_for,
    plan_for,
    plan_history,
    visit_history,
    visit_list_for,
    visit_text_reader,
)

PAGE_SIZE = 20


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _access_visit_logged(request, pk) -> Visit:
    """The visit, if the user may see it; each opening of one flagged with a safeguarding
    concern is written to the audit log with who opened it."""
    visit = access_visit(user=request.user, pk=pk)
    if visit.safeguarding_concern:
        record(request, AuditEvent.Action.SAFEGUARDING_VIEW, visit, detail=request.path)
    return visit


# Everyone who works on commissions; funders see money, not deployments or visits.
FIELD_ROLES = (*HUB_ROLES, Role.TRUST_LEAD, Role.SYSTEM_LEADER, Role.SCHOOL_CONTACT)


# ------------------------------------------------------------------ deployments


@login_required
@require_safe
def deployment_list(request):
    require_role(request.user, *FIELD_ROLES)
    deployments = deployment_list_for(user=request.user).order_by(
        "-commission__start", "leader__user__full_name", "pk"
    )
    filterset = DeploymentFilter(request.GET, queryset=deployments, user=request.user)
    export = export_filtered(request, filterset, "deployments", DEPLOYMENT_HEADER, deployment_rows)
    if export:
        return export
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"filter": filterset, "page_obj": page, "today": timezone.localdate()}
    return render(request, "deployments/deployment_list.html", context)


@login_required
def deployment_detail(request, pk):
    deployment = access_deployment(user=request.user, pk=pk)
    objectives = objectives_for(deployment.commission)
    filters = VisitFilterForm(request.GET or None, objectives=objectives)
    visits = filters.filter(visit_list_for(user=request.user).filter(deployment=deployment))
    page = Paginator(visits.order_by("-date", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "deployment": deployment,
        "page_obj": page,
        "filters": filters,
        "is_leader": services.is_deployed_leader(request.user, deployment),
        "plan_visit_form": PlanVisitForm(initial={"date": timezone.localdate()}),
        "planned": deployment.planned_visits.filter(visit__isnull=True),
        "today": timezone.localdate(),
    }
    return render(request, "deployments/deployment_detail.html", context)


@login_required
@require_POST
def visit_plan(request, pk):
    deployment = access_deployment(user=request.user, pk=pk)
    form = PlanVisitForm(request.POST)
    if form.is_valid():
        try:
            services.visit_plan(
                deployment=deployment,
                actor=request.user,
                date=form.cleaned_data["date"],
                mode=form.cleaned_data["mode"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Next visit planned.")
    else:
        messages.error(request, "Choose a date and how the visit will happen.")
    return redirect(deployment)


# ------------------------------------------------------------------------ visits


@login_required
@require_safe
def visit_list(request):
    """Every visit the user may see, across commissions."""
    require_role(request.user, *FIELD_ROLES)
    visits = visit_list_for(user=request.user).order_by("-date", "-pk")
    filterset = VisitFilter(request.GET, queryset=visits, user=request.user)
    export = export_filtered(
        request,
        filterset,
        "visits",
        VISIT_HEADER,
        lambda rows: visit_rows(rows, user=request.user),
    )
    if export:
        return export
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    may_read = visit_text_reader(request.user)
    for visit in page:
        visit.text_withheld = not may_read(visit)
    context = {"filter": filterset, "page_obj": page, "withheld": WITHHELD}
    return render(request, "deployments/visit_index.html", context)


@login_required
def visit_create(request, pk):
    """The Record of Visit. Works as a plain form; with JavaScript the same endpoint takes a
    JSON-accepting POST from the device's queue. The idempotency key makes retries safe."""
    deployment = access_deployment(user=request.user, pk=pk)
    if not services.is_deployed_leader(request.user, deployment):
        raise PermissionDenied("Only the leader on this deployment records its visits.")
    objectives = objectives_for(deployment.commission)
    form = VisitForm(posted(request), objectives=objectives)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                visit, created = services.visit_record(
                    deployment=deployment,
                    actor=request.user,
                    key=form.cleaned_data["key"],
                    data=form.visit_input(),
                )
            except services.IdempotencyConflict as conflict:
                if _wants_json(request):
                    return json_response({"error": str(conflict)}, status=409)
                form.add_error(None, str(conflict))
                status = 409
            except ValidationError as error:
                add_service_errors(form, error)
                status = 400
            else:
                # Shown on the next page, whether the form or visit-form.js (which then opens
                # the visit) sent it.
                messages.success(
                    request, "Visit recorded." if created else "This visit was already saved."
                )
                if _wants_json(request):
                    return json_response(
                        {"id": visit.pk, "url": visit.get_absolute_url(), "created": created},
                        status=201 if created else 200,
                    )
                return redirect(visit)
        else:
            status = 400
        if _wants_json(request):
            return json_response({"errors": form.errors.get_json_data()}, status=status)
    context = {"form": form, "deployment": deployment}
    return render(request, "deployments/visit_form.html", context, status=status)


@login_required
def visit_detail(request, pk):
    visit = _access_visit_logged(request, pk)
    commission = visit.deployment.commission
    is_school = commission.request.school_id in request.user.organisation_ids_for("school_contact")
    context = {
        "visit": visit,
        "can_edit": visit.recorded_by_id == request.user.pk and not visit.is_responded,
        "can_respond": is_school and not visit.is_responded,
        "response_form": ResponseForm(),
        "history": visit_history(visit, user=request.user),
    }
    return render(request, "deployments/visit_detail.html", context)


@login_required
def visit_edit(request, pk):
    visit = _access_visit_logged(request, pk)
    if visit.recorded_by_id != request.user.pk:
        raise PermissionDenied("Only the leader who recorded this visit can change it.")
    if visit.is_responded:
        raise PermissionDenied("The school has responded to this record; it can no longer change.")
    objectives = objectives_for(visit.deployment.commission)
    initial = {
        "key": visit.idempotency_key,
        "date": visit.date,
        "mode": visit.mode,
        "duration_other": visit.duration_hours,
        "objectives": [p.objective_id for p in visit.progress.all()],
        "summary": visit.summary,
        "next_steps": visit.next_steps,
        "people_met": visit.people_met,
        "safeguarding_concern": visit.safeguarding_concern,
        **{f"note_{p.objective_id}": p.note for p in visit.progress.all()},
        **{f"rag_{p.objective_id}": p.rag for p in visit.progress.all()},
    }
    form = VisitForm(posted(request), initial=initial, objectives=objectives)
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_update(visit=visit, actor=request.user, data=form.visit_input())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Visit record updated.")
            return redirect(visit)
    return render(
        request,
        "deployments/visit_form.html",
        {"form": form, "deployment": visit.deployment, "visit": visit},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def visit_respond(request, pk):
    visit = access_visit(user=request.user, pk=pk)
    school_id = visit.deployment.commission.request.school_id
    if school_id not in request.user.organisation_ids_for("school_contact"):
        raise PermissionDenied("Only the supported school responds to a record of visit.")
    if visit.is_responded:
        messages.error(request, "The school has already responded to this record.")
        return redirect(visit)
    form = ResponseForm(request.POST)
    if form.is_valid():
        try:
            services.visit_respond(
                visit=visit,
                actor=request.user,
                agreed=form.cleaned_data["agreed"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Thank you: your response is recorded.")
            return redirect(visit)
    context = {
        "visit": visit,
        "can_edit": False,
        "can_respond": True,
        "response_form": form,
        "history": visit_history(visit, user=request.user),
    }
    return render(request, "deployments/visit_detail.html", context, status=400)


@login_required
def commission_visits(request, pk):
    commission = access_plan_commission(user=request.user, pk=pk)
    objectives = objectives_for(commission)
    filters = VisitFilterForm(request.GET or None, objectives=objectives)
    visits = filters.filter(
        visit_list_for(user=request.user).filter(deployment__commission=commission)
    )
    page = Paginator(visits.order_by("-date", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "deployments/commission_visits.html",
        {"commission": commission, "page_obj": page, "filters": filters},
    )


# ------------------------------------------------------------------ action plans


@login_required
def plan_detail(request, pk):
    commission = access_plan_commission(user=request.user, pk=pk)
    plan = plan_for(commission)
    can_edit = services.may_edit_plan(request.user, commission)
    form = PlanForm(posted(request), instance=plan)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Only the Lead System Leader and the lead trust edit the plan.")
        if form.is_valid():
            try:
                services.plan_save(
                    commission=commission,
                    actor=request.user,
                    scope=form.cleaned_data["scope"],
                    scope_name=form.cleaned_data["scope_name"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Plan saved.")
                return redirect("deployments:plan_detail", pk=commission.pk)
    context = {
        "commission": commission,
        "plan": plan,
        "objectives": objectives_for(commission),
        "can_edit": can_edit,
        "form": form,
        "history": plan_history(plan) if plan else None,
    }
    return render(request, "deployments/plan_detail.html", context)


@login_required
def objective_form(request, pk, objective_pk=None):
    commission = access_plan_commission(user=request.user, pk=pk)
    if not services.may_edit_plan(request.user, commission):
        raise PermissionDenied("Only the Lead System Leader and the lead trust edit the plan.")
    objective = (
        get_object_or_404(objectives_for(commission), pk=objective_pk) if objective_pk else None
    )
    form = ObjectiveForm(posted(request), instance=objective)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in services.OBJECTIVE_FIELDS}
        try:
            saved = services.objective_save(
                commission=commission, actor=request.user, objective=objective, **fields
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"“{saved.title}” saved.")
            return redirect("deployments:plan_detail", pk=commission.pk)
    return render(
        request,
        "deployments/objective_form.html",
        {"form": form, "commission": commission, "objective": objective},
    )


@login_required
def objective_detail(request, pk):
    objective = access_objective(user=request.user, pk=pk)
    visits = visit_list_for(user=request.user).filter(progress__objective=objective)
    page = Paginator(visits.order_by("-date", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "objective": objective,
        "commission": objective.plan.commission,
        "page_obj": page,
        "history": objective_history(objective),
        "visits_url": reverse(
            "deployments:commission_visits", args=[objective.plan.commission_id]
        ),
    }
    return render(request, "deployments/objective_detail.html", context)
