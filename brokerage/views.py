from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from trust.csv_export import export_filtered
from trust.models import HUB_ROLES, Organisation, Role, SystemLeaderProfile
from trust.web import add_service_errors, posted, require_role

from . import services
from .exports import COMMISSION_HEADER, REQUEST_HEADER, commission_rows, request_rows
from .filters import CommissionFilter, RequestFilter
from .forms import (
    AcceptForm,
    AllocationFormSet,
    DeadlineFormSet,
    FundingStreamForm,
    GrantConditionsForm,
    OfferForm,
    ReasonForm,
    RequiredReasonForm,
    ShortlistForm,
    SupportingFormSet,
    SupportRequestForm,
)
from .models import Commission, FundingStream, Offer, SupportRequest
from .selectors import (
    access_commission,
    access_offer,
    access_request,
    access_stream,
    commission_history,
    commission_list_for,
    lead_organisation_choices,
    match_leaders_for,
    offer_list_for,
    request_candidates,
    request_history,
    request_list_for,
    request_timeline,
    status_counts,
    stream_list_for,
    trust_leader_choices,
)

PAGE_SIZE = 25


# -------------------------------------------------------------------- pipeline


@login_required
def pipeline(request):
    require_role(request.user, *HUB_ROLES)
    requests = request_list_for(user=request.user).order_by("-status_changed_at", "-pk")
    filterset = RequestFilter(request.GET, queryset=requests, user=request.user)
    export = export_filtered(request, filterset, "requests", REQUEST_HEADER, request_rows)
    if export:
        return export
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = status_counts(filterset.without_status()) if filterset.is_valid() else {}
    context = {
        "can_create": bool(request.user.organisation_ids_for(Role.HUB_COORDINATOR)),
        "filter": filterset,
        "page_obj": page,
        "counts": [(SupportRequest.Status(k), v) for k, v in counts.items()],
        "today": timezone.localdate(),
    }
    return render(request, "brokerage/pipeline.html", context)


# --------------------------------------------------------------------- requests


def _schools_for_new_request(user):
    """A coordinator raises requests for any open school in their hub's area; a school
    contact for their own school."""
    return (
        Organisation.objects.schools()
        .open()
        .filter(
            Q(pk__in=user.organisation_ids_for(Role.SCHOOL_CONTACT))
            | Q(hub_id__in=user.organisation_ids_for(Role.HUB_COORDINATOR))
        )
        .order_by("name")
    )


@login_required
def request_create(request):
    require_role(request.user, Role.HUB_COORDINATOR, Role.SCHOOL_CONTACT)
    schools = _schools_for_new_request(request.user)
    form = SupportRequestForm(posted(request), schools=schools)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.request_create(
                actor=request.user,
                school=form.cleaned_data["school"],
                submit="submit" in request.POST,
                **form.service_fields(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                "Request submitted to the hub."
                if created.status == SupportRequest.Status.SUBMITTED
                else "Draft saved. Submit it when it is ready.",
            )
            return redirect(created)
    return render(request, "brokerage/request_form.html", {"form": form})


@login_required
def request_edit(request, pk):
    support_request = access_request(user=request.user, pk=pk)
    if not services.request_editable_by(request=support_request, user=request.user):
        raise PermissionDenied(
            f"This request is {support_request.get_status_display().lower()}, so you can no "
            "longer edit it. Ask the hub coordinator if something needs to change."
        )
    form = SupportRequestForm(
        posted(request),
        instance=support_request,
        schools=Organisation.objects.none(),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.request_update(
                request=support_request, actor=request.user, **form.service_fields()
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Request saved.")
            return redirect(support_request)
    return render(
        request, "brokerage/request_form.html", {"form": form, "support_request": support_request}
    )


@login_required
def request_detail(request, pk):
    support_request = access_request(user=request.user, pk=pk)
    return _render_request_detail(request, support_request, ReasonForm())


def _render_request_detail(request, support_request, reason_form, status=200, shortlist_form=None):
    user = request.user
    is_hub = support_request.hub_id in user.organisation_ids_for(*HUB_ROLES)
    context = {
        "support_request": support_request,
        "timeline": request_timeline(support_request, is_hub=is_hub),
        "history": request_history(support_request, is_hub=is_hub),
        "transitions": services.allowed_transitions(request=support_request, user=user),
        "is_hub": is_hub,
        "is_coordinator": support_request.hub_id
        in user.organisation_ids_for(Role.HUB_COORDINATOR),
        "reason_form": reason_form,
        "shortlist_form": shortlist_form,
        "can_edit": services.request_editable_by(request=support_request, user=user),
        "offers": offer_list_for(user=user).filter(request=support_request),
        "commission": getattr(support_request, "commission", None),
    }
    if is_hub:
        context["candidates"] = list(request_candidates(support_request))
        if support_request.status in {"triage", "brokering"}:
            context["eligible"], context["excluded"] = match_leaders_for(
                request=support_request, user=user, today=timezone.localdate()
            )
            context["shortlisted"] = {c.leader_id for c in context["candidates"]}
    return render(request, "brokerage/request_detail.html", context, status=status)


@login_required
@require_POST
def request_transition(request, pk, action):
    support_request = access_request(user=request.user, pk=pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.request_transition(
                request=support_request,
                actor=request.user,
                action=action,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, services.TRANSITIONS[action].event + ".")
            return redirect(support_request)
    # Shown again with the reason as typed, so nothing is lost.
    support_request = access_request(user=request.user, pk=pk)
    return _render_request_detail(request, support_request, form, status=400)


@login_required
@require_POST
def shortlist_add(request, pk):
    support_request = access_request(user=request.user, pk=pk)
    form = ShortlistForm(request.POST)
    if form.is_valid():
        leader = (
            SystemLeaderProfile.objects.visible_to(request.user)
            .select_related("user")
            .filter(pk=form.cleaned_data["leader"])
            .first()
        )
        try:
            if leader is None:
                raise ValidationError("That system leader is not in your hub's area.")
            services.candidate_shortlist(
                request=support_request,
                actor=request.user,
                leader=leader,
                today=timezone.localdate(),
                override_reason=form.cleaned_data["override_reason"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{leader.user.full_name} is on the shortlist.")
            return redirect(f"{support_request.get_absolute_url()}#shortlist")
    # Refused: the page again, with the override reason as typed.
    return _render_request_detail(
        request, support_request, ReasonForm(), status=400, shortlist_form=form
    )


@login_required
@require_POST
def shortlist_remove(request, pk, candidate_pk):
    support_request = access_request(user=request.user, pk=pk)
    candidate = get_object_or_404(support_request.candidates, pk=candidate_pk)
    try:
        services.candidate_remove(candidate=candidate, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(f"{support_request.get_absolute_url()}#shortlist")


# ----------------------------------------------------------------------- offers


@login_required
def offer_create(request, pk):
    support_request = access_request(user=request.user, pk=pk)
    if support_request.hub_id not in request.user.organisation_ids_for(Role.HUB_COORDINATOR):
        raise Http404
    if support_request.status != SupportRequest.Status.BROKERING:
        raise PermissionDenied(
            f"This request is {support_request.get_status_display().lower()}; offers are made "
            "while it is being brokered."
        )
    leaders = SystemLeaderProfile.objects.filter(
        candidacies__request=support_request
    ).select_related("user")
    initial = {
        "days": support_request.days_sought,
        "start": support_request.desired_start,
    }
    form = OfferForm(
        posted(request),
        initial=initial,
        organisations=lead_organisation_choices(request=support_request),
        leaders=leaders,
    )
    if request.method == "POST" and form.is_valid():
        try:
            offer = services.offer_make(
                request=support_request, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Offered to {offer.lead_organisation.name}.")
            return redirect(support_request)
    return render(
        request,
        "brokerage/offer_form.html",
        {"form": form, "support_request": support_request},
    )


@login_required
def offer_inbox(request):
    require_role(request.user, Role.TRUST_LEAD)
    offers = offer_list_for(user=request.user).filter(
        lead_organisation_id__in=request.user.organisation_ids_for(Role.TRUST_LEAD)
    )
    page = Paginator(offers.order_by("status", "-offered_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "brokerage/offer_inbox.html",
        {"page_obj": page, "today": timezone.localdate()},
    )


@login_required
def offer_detail(request, pk):
    offer = access_offer(user=request.user, pk=pk)
    is_trust_lead = offer.lead_organisation_id in request.user.organisation_ids_for(
        Role.TRUST_LEAD
    )
    is_coordinator = offer.request.hub_id in request.user.organisation_ids_for(
        Role.HUB_COORDINATOR
    )
    leaders = trust_leader_choices(user=request.user, offer=offer)
    accept_form = AcceptForm(
        initial={"lead": offer.proposed_lead_id, "lead_days": offer.days}, leaders=leaders
    )
    supporting = SupportingFormSet(prefix="supporting", form_kwargs={"leaders": leaders})
    decline_form = RequiredReasonForm(prefix="decline")
    if request.method == "POST" and offer.status == Offer.Status.OPEN:
        if "accept" in request.POST and is_trust_lead:
            accept_form = AcceptForm(request.POST, leaders=leaders)
            supporting = SupportingFormSet(
                request.POST, prefix="supporting", form_kwargs={"leaders": leaders}
            )
            if accept_form.is_valid() and supporting.is_valid():
                try:
                    commission = services.offer_accept(
                        offer=offer,
                        actor=request.user,
                        lead=services.LeaderDays(
                            accept_form.cleaned_data["lead"],
                            accept_form.cleaned_data["lead_days"],
                            accept_form.cleaned_data["lead_release_agreed"],
                        ),
                        supporting=[
                            services.LeaderDays(f["leader"], f["days"], f["release_agreed"])
                            for f in supporting.cleaned_data
                            if f.get("leader")
                        ],
                        today=timezone.localdate(),
                    )
                except ValidationError as error:
                    add_service_errors(accept_form, error)
                else:
                    messages.success(request, "Accepted: the commission is set up.")
                    return redirect(commission)
        elif "decline" in request.POST and is_trust_lead:
            decline_form = RequiredReasonForm(request.POST, prefix="decline")
            if decline_form.is_valid():
                try:
                    services.offer_decline(
                        offer=offer, actor=request.user, reason=decline_form.cleaned_data["reason"]
                    )
                except ValidationError as error:
                    add_service_errors(decline_form, error)
                else:
                    messages.success(request, "Declined. The hub has been told your reason.")
                    return redirect("brokerage:offer_inbox")
        elif "retract" in request.POST and is_coordinator:
            decline_form = RequiredReasonForm(request.POST, prefix="decline")
            if decline_form.is_valid():
                try:
                    services.offer_retract(
                        offer=offer, actor=request.user, reason=decline_form.cleaned_data["reason"]
                    )
                except ValidationError as error:
                    add_service_errors(decline_form, error)
                else:
                    messages.success(request, "Offer retracted; the request is back in brokering.")
                    return redirect(offer.request)
        else:
            raise Http404
    context = {
        "offer": offer,
        "is_trust_lead": is_trust_lead,
        "is_coordinator": is_coordinator,
        "accept_form": accept_form,
        "supporting": supporting,
        "decline_form": decline_form,
        "today": timezone.localdate(),
    }
    return render(request, "brokerage/offer_detail.html", context)


# ------------------------------------------------------------------ commissions


@login_required
def commission_list(request):
    commissions = commission_list_for(user=request.user).order_by("-start", "-pk")
    filterset = CommissionFilter(request.GET, queryset=commissions, user=request.user)
    export = export_filtered(
        request,
        filterset,
        "commissions",
        COMMISSION_HEADER,
        lambda rows: commission_rows(rows, user=request.user),
    )
    if export:
        return export
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "brokerage/commission_list.html", {"page_obj": page, "filter": filterset}
    )


@login_required
def commission_detail(request, pk):
    commission = access_commission(user=request.user, pk=pk)
    user = request.user
    allocations = list(commission.allocations.all())
    # A funder sees the money it gives, not other funders' or the grant's conditions.
    funder_only = not Commission.objects.exclude_funder_access(user).filter(pk=pk).exists()
    if funder_only:
        funders = user.organisation_ids_for(Role.FUNDER_VIEWER)
        allocations = [a for a in allocations if a.stream.funder_id in funders]
    context = {
        "commission": commission,
        "is_coordinator": commission.request.hub_id
        in user.organisation_ids_for(Role.HUB_COORDINATOR),
        "funder_only": funder_only,
        "allocations": allocations,
        "deadlines": commission.deadlines.select_related("report"),
        "total_funding": sum(a.amount for a in allocations),
        "carry_forward": sum(a.amount for a in allocations if a.carry_forward),
        "can_see_request": SupportRequest.objects.visible_to(user)
        .filter(pk=commission.request_id)
        .exists(),
        "history": commission_history(commission, user=user, funder_only=funder_only),
    }
    return render(request, "brokerage/commission_detail.html", context)


def _coordinator_commission(request, pk):
    commission = access_commission(user=request.user, pk=pk)
    if commission.request.hub_id not in request.user.organisation_ids_for(Role.HUB_COORDINATOR):
        raise Http404
    return commission


@login_required
def commission_funding(request, pk):
    commission = _coordinator_commission(request, pk)
    streams = FundingStream.objects.filter(hub_id=commission.request.hub_id).with_allocated()
    initial = [{"stream": a.stream, "amount": a.amount} for a in commission.allocations.all()]
    # No initial when bound: a posted row equal to the saved one at its index would count as
    # unchanged and be dropped (e.g. when someone else saved since the page was loaded).
    formset = AllocationFormSet(
        posted(request),
        initial=None if request.method == "POST" else initial,
        form_kwargs={"streams": streams},
    )
    if request.method == "POST" and formset.is_valid():
        rows = [(f["stream"], f["amount"]) for f in formset.cleaned_data if f.get("stream")]
        try:
            services.commission_set_funding(
                commission=commission, actor=request.user, allocations=rows
            )
        except ValidationError as error:
            formset._non_form_errors = formset.error_class(error.messages)
        else:
            messages.success(request, "Funding saved.")
            return redirect(commission)
    return render(
        request,
        "brokerage/commission_formset.html",
        {"commission": commission, "formset": formset, "streams": streams, "heading": "Funding"},
    )


@login_required
def commission_deadlines(request, pk):
    commission = _coordinator_commission(request, pk)
    initial = [{"kind": d.kind, "due": d.due} for d in commission.deadlines.all()]
    formset = DeadlineFormSet(
        posted(request), initial=None if request.method == "POST" else initial
    )
    if request.method == "POST" and formset.is_valid():
        rows = [(f["kind"], f["due"]) for f in formset.cleaned_data if f.get("kind")]
        try:
            services.commission_set_deadlines(
                commission=commission, actor=request.user, deadlines=rows
            )
        except ValidationError as error:
            formset._non_form_errors = formset.error_class(error.messages)
        else:
            messages.success(request, "Reporting schedule saved.")
            return redirect(commission)
    return render(
        request,
        "brokerage/commission_formset.html",
        {"commission": commission, "formset": formset, "heading": "Reporting schedule"},
    )


@login_required
def commission_edit(request, pk):
    commission = _coordinator_commission(request, pk)
    form = GrantConditionsForm(
        posted(request), initial={"grant_conditions": commission.grant_conditions}
    )
    if request.method == "POST" and form.is_valid():
        services.commission_update(
            commission=commission,
            actor=request.user,
            grant_conditions=form.cleaned_data["grant_conditions"],
        )
        messages.success(request, "Grant conditions saved.")
        return redirect(commission)
    return render(
        request, "brokerage/commission_edit.html", {"commission": commission, "form": form}
    )


# --------------------------------------------------------------- funding streams


@login_required
def stream_list(request):
    require_role(request.user, *HUB_ROLES, Role.FUNDER_VIEWER)
    streams = stream_list_for(user=request.user)
    can_add = bool(request.user.organisation_ids_for(Role.HUB_COORDINATOR))
    return render(request, "brokerage/stream_list.html", {"streams": streams, "can_add": can_add})


@login_required
def stream_detail(request, pk):
    stream = access_stream(user=request.user, pk=pk)
    allocations = stream.allocations.select_related(
        "commission__request__school", "commission__lead_organisation"
    )
    can_edit = stream.hub_id in request.user.organisation_ids_for(Role.HUB_COORDINATOR)
    return render(
        request,
        "brokerage/stream_detail.html",
        {"stream": stream, "allocations": allocations, "can_edit": can_edit},
    )


@login_required
def stream_form(request, pk=None):
    hubs = request.user.organisation_ids_for(Role.HUB_COORDINATOR)
    if not hubs:
        raise Http404
    stream = (
        get_object_or_404(FundingStream.objects.filter(hub_id__in=hubs), pk=pk)
        if pk
        else FundingStream(hub_id=min(hubs))
    )
    funders = Organisation.objects.filter(kind=Organisation.Kind.FUNDER, hub_id=stream.hub_id)
    form = FundingStreamForm(posted(request), instance=stream, funders=funders)
    if request.method == "POST" and form.is_valid():
        try:
            services.stream_save(actor=request.user, stream=form.instance)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{form.instance} saved.")
            return redirect(form.instance)
    return render(request, "brokerage/stream_form.html", {"form": form, "stream": stream})
