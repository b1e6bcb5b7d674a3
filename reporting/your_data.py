"""Your data: a person downloads what the service holds about them, and a hub coordinator
answers a subject access request for someone in their hub."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from trust.models import Role, User

from .personal_data import exportable_people_for, personal_data_json


class SubjectAccessForm(forms.Form):
    email = forms.EmailField(
        label="Email address of the person who asked",
        widget=forms.EmailInput(attrs={"autocomplete": "off", "class": "form-control"}),
    )


def _download(user: User) -> HttpResponse:
    response = HttpResponse(personal_data_json(user), content_type="application/json")
    name = f"personal-data-{user.pk}-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
def personal_data(request):
    is_coordinator = bool(request.user.organisation_ids_for(Role.HUB_COORDINATOR))
    context = {"sar_form": SubjectAccessForm() if is_coordinator else None}
    return render(request, "reporting/personal_data.html", context)


@login_required
def personal_data_download(request):
    return _download(request.user)


@login_required
@require_POST
def personal_data_for(request):
    """A hub coordinator downloads a person's data for a subject access request. Someone
    outside their hub, or an address nobody has, is the same 404."""
    if not request.user.organisation_ids_for(Role.HUB_COORDINATOR):
        raise Http404("Only a hub coordinator answers subject access requests.")
    form = SubjectAccessForm(request.POST)
    if not form.is_valid():
        raise Http404("No such person in your hub.")
    person = (
        exportable_people_for(request.user)
        .filter(email__iexact=form.cleaned_data["email"])
        .first()
    )
    if person is None:
        raise Http404("No such person in your hub.")
    return _download(person)
