from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from brokerage.models import Commission
from trust.audit import record
from trust.csv_export import export_filtered
from trust.models import AuditEvent
from trust.web import add_service_errors, posted

from . import dashboard as dashboard_module
from . import figures, services
from .exports import REPORT_HEADER, report_rows
from .filters import ReportFilter
from .forms import NarrativeForm, ReviewForm, SpendForm
from .models import ImpactReport, PdfJob, SpendLine, commissions_reported_by
from .selectors import (
    access_deadline,
    access_report,
    deadline_list_for,
    downloadable_file,
    may_download,
    report_history,
)

PAGE_SIZE = 25


@login_required
def report_list(request):
    today = timezone.localdate()
    deadlines = deadline_list_for(user=request.user, today=today)
    filters = ReportFilter(request.GET or None, queryset=deadlines, user=request.user)
    export = export_filtered(request, filters, "reports", REPORT_HEADER, report_rows)
    if export:
        return export
    page = Paginator(filters.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page_obj": page, "filters": filters, "today": today}
    return render(request, "reporting/report_list.html", context)


@login_required
@require_POST
def report_start(request, deadline_pk):
    deadline = access_deadline(user=request.user, pk=deadline_pk)
    try:
        report = services.report_start(deadline=deadline, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("reporting:report_list")
    return redirect(report)


def _actions(user, report: ImpactReport) -> dict:
    commission = report.commission
    return {
        "may_edit": report.is_editable and services.may_draft(user, commission),
        "may_submit": report.is_editable and services.is_trust_lead(user, commission),
        "may_review": report.status == ImpactReport.Status.SUBMITTED
        and services.is_qa_lead(user, commission),
        "may_reopen": report.status == ImpactReport.Status.APPROVED
        and services.is_qa_lead(user, commission),
        "may_download": may_download(user, report),
    }


@login_required
def report_detail(request, pk):
    report = access_report(user=request.user, pk=pk)
    live = report.is_editable or not report.snapshot
    fig = figures.compute(report.deadline) if live else report.snapshot
    actions = _actions(request.user, report)
    context = {
        "report": report,
        "fig": fig,
        "live": live,
        "events": report.events.select_related("actor"),
        "files": report.files.all() if actions["may_download"] else [],
        "pdf_pending": report.pdf_jobs.filter(status=PdfJob.Status.PENDING).exists(),
        "pdf_failed": report.pdf_jobs.filter(status=PdfJob.Status.FAILED).exists(),
        "review_form": ReviewForm(),
        "history": report_history(report),
        **actions,
    }
    return render(request, "reporting/report_detail.html", context)


@login_required
def report_edit(request, pk):
    report = access_report(user=request.user, pk=pk)
    if not services.may_draft(request.user, report.commission):
        raise PermissionDenied("The Lead System Leader and the lead trust write the report.")
    if not report.is_editable:
        messages.error(
            request,
            f"The report is {report.get_status_display().lower()}, so it cannot be changed now.",
        )
        return redirect(report)
    form = NarrativeForm(posted(request), instance=report)
    if request.method == "POST" and form.is_valid():
        try:
            services.report_save(
                report=report,
                actor=request.user,
                **{name: form.cleaned_data[name] for name in ImpactReport.SECTIONS},
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Report saved.")
            return redirect(report)
    return render(request, "reporting/report_edit.html", {"report": report, "form": form})


@login_required
@require_POST
def report_submit(request, pk):
    report = access_report(user=request.user, pk=pk)
    try:
        services.report_submit(report=report, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, "Submitted to the hub for quality assurance. The PDF is being prepared."
        )
    return redirect(report)


@login_required
def report_review(request, pk):
    report = access_report(user=request.user, pk=pk)
    actions = _actions(request.user, report)
    if not services.is_qa_lead(request.user, report.commission):
        raise PermissionDenied("Only the hub's QA lead reviews reports.")
    if not (actions["may_review"] or actions["may_reopen"]):
        messages.error(request, "Only a submitted or approved report can be reviewed.")
        return redirect(report)
    form = ReviewForm(posted(request))
    if actions["may_reopen"]:
        form.fields["decision"].choices = [(ReviewForm.RETURN, "Reopen and return it")]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == ReviewForm.APPROVE:
                services.report_approve(
                    report=report,
                    actor=request.user,
                    impact=data["impact"],
                    value_for_money=data["value_for_money"],
                    comments=data["comments"],
                )
                messages.success(request, "Approved. The final PDF is being prepared.")
            else:
                services.report_return(
                    report=report, actor=request.user, comments=data["comments"]
                )
                messages.success(request, "Returned to the authors with your comments.")
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return redirect(report)
    fig = report.snapshot or figures.compute(report.deadline)
    context = {"report": report, "form": form, "fig": fig, **actions}
    return render(request, "reporting/report_review.html", context)


@login_required
@require_GET
def report_pdf(request, pk, version=None):
    report_file = downloadable_file(user=request.user, report_pk=pk, version=version)
    try:
        handle = report_file.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404("The PDF file is missing.") from missing
    record(
        request,
        AuditEvent.Action.PDF_DOWNLOAD,
        report_file.report,
        detail=f"version {report_file.version}",
    )
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=report_file.download_name(),
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def report_pdf_retry(request, pk):
    report = access_report(user=request.user, pk=pk)
    try:
        with transaction.atomic():
            count = services.pdf_job_retry(report=report, actor=request.user)
    except ValidationError as error:
        raise PermissionDenied(" ".join(error.messages)) from error
    if count:
        messages.success(request, "Trying again: the PDF is being prepared.")
    return redirect(report)


@login_required
def report_pdf_status(request, pk):
    report = access_report(user=request.user, pk=pk)
    pending = report.pdf_jobs.filter(status=PdfJob.Status.PENDING).exists()
    latest = (
        report.files.order_by("-version").first() if may_download(request.user, report) else None
    )
    return JsonResponse(
        {
            "pending": pending,
            "url": reverse("reporting:report_pdf", args=[report.pk]) if latest else None,
            "version": latest.version if latest else None,
        }
    )


# -------------------------------------------------------------------------- spend


def _spend_commission(user, pk) -> Commission:
    return get_object_or_404(
        commissions_reported_by(user).select_related("request__school", "request__hub"), pk=pk
    )


@login_required
def spend_list(request, pk):
    commission = _spend_commission(request.user, pk)
    may_record = services.may_record_spend(request.user, commission)
    form = SpendForm(posted(request), commission=commission)
    if request.method == "POST":
        if not may_record:
            raise Http404("You do not record spend on this commission.")
        if form.is_valid():
            try:
                services.spend_add(
                    allocation=form.cleaned_data["allocation"],
                    actor=request.user,
                    date=form.cleaned_data["date"],
                    amount=form.cleaned_data["amount"],
                    description=form.cleaned_data["description"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Spend recorded.")
                return redirect("reporting:spend_list", pk=commission.pk)
    lines = SpendLine.objects.filter(allocation__commission=commission).select_related(
        "allocation__stream", "recorded_by"
    )
    start, end = commission.start, max(commission.end, timezone.localdate())
    context = {
        "commission": commission,
        "lines": lines,
        "form": form if may_record else None,
        "may_record": may_record,
        "funding": figures.funding_of(commission, start, end),
    }
    return render(request, "reporting/spend_list.html", context)


@login_required
@require_POST
def spend_delete(request, pk, line_pk):
    commission = _spend_commission(request.user, pk)
    line = get_object_or_404(
        SpendLine.objects.select_related("allocation__commission"),
        pk=line_pk,
        allocation__commission=commission,
    )
    try:
        services.spend_delete(line=line, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Removed {line}.")
    return redirect("reporting:spend_list", pk=commission.pk)


@login_required
@require_GET
def dashboard(request):
    """The programme at a glance for hub staff, a trust lead's commissions, or a funder's
    money (reporting/dashboard.py decides which); anyone else has no dashboard: 404."""
    scope = dashboard_module.scope_for(request.user)
    if scope is None:
        raise Http404
    today = timezone.localdate()
    form = dashboard_module.DashboardFilterForm(request.GET or None, scope=scope, today=today)
    chosen = form.filters()
    active = [f"{form.fields[name].label.lower()} {value}" for name, value in chosen.items()]
    # The figures aggregate the whole programme: computed once and shared for a few minutes
    # (the page says when), or afresh when someone asks for it.
    # The figures and charts are kept rendered: drawing a dozen SVG charts and their tables
    # cost as much as computing them.
    key = dashboard_module.cache_key(scope, chosen, today)
    cached = None if request.GET.get("refresh") else cache.get(key)
    if cached is None:
        data = dashboard_module.build(scope, chosen, today, timezone.now())
        sections = render_to_string(
            "reporting/_dashboard_sections.html", {"data": data, "scope": scope}, request
        )
        # render_to_string gives a SafeString, which keeps its type through the cache.
        cached = {"computed_at": data["computed_at"], "sections": sections}
        cache.set(key, cached, settings.DASHBOARD_CACHE_SECONDS)
    context = {
        "scope": scope,
        "form": form,
        "computed_at": cached["computed_at"],
        "sections": cached["sections"],
        "active_filters": active,
        "today": today,
    }
    return render(request, "reporting/dashboard.html", context)
