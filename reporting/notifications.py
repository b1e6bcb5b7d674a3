"""The header's notifications and each person's email preferences."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from trust.models import HUB_ROLES, Role

from .models import Notification, NotificationPreference, ReminderKind
from .reminders import ALWAYS_FOR_HUB

K = ReminderKind
# The kinds each role can receive, so the form offers only what applies.
KINDS_FOR_ROLE = {
    Role.TRUST_LEAD: [K.UPCOMING_14, K.UPCOMING_3, K.DUE, K.OVERDUE_1, K.OVERDUE_7],
    Role.SYSTEM_LEADER: [
        K.UPCOMING_14, K.UPCOMING_3, K.DUE, K.OVERDUE_1, K.OVERDUE_7, K.VISIT_TO_LOG,
        K.NO_VISIT,
    ],
    Role.HUB_COORDINATOR: [K.ESCALATION],
    Role.QA_LEAD: [K.QA_WAITING],
}  # fmt: skip


def kinds_for(user) -> list[str]:
    kinds = []
    for role in user.roles:
        kinds += [k for k in KINDS_FOR_ROLE.get(role, []) if k not in kinds]
    return [k for k in K.values if k in kinds]


def locked_kinds(user) -> set[str]:
    """Kinds that stay on: escalations, for hub staff."""
    return set(ALWAYS_FOR_HUB) if user.roles & HUB_ROLES else set()


class PreferencesForm(forms.Form):
    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        off = set(
            NotificationPreference.objects.filter(user=user, email=False).values_list(
                "kind", flat=True
            )
        )
        locked = locked_kinds(user)
        for kind in kinds_for(user):
            self.fields[kind] = forms.BooleanField(
                label=K(kind).label,
                required=False,
                initial=kind not in off or kind in locked,
                disabled=kind in locked,
                help_text="Always sent to the hub." if kind in locked else "",
            )


@login_required
def notification_list(request):
    notifications = Notification.objects.filter(user=request.user)
    page = Paginator(notifications, 25).get_page(request.GET.get("page"))
    return render(request, "reporting/notifications.html", {"page_obj": page})


@login_required
@require_POST
def notification_read(request, pk):
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    # Only a link within this site is followed, whatever ended up in the row.
    if request.POST.get("open") and url_has_allowed_host_and_scheme(
        notification.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(notification.url)
    return redirect("reporting:notification_list")


@login_required
@require_POST
def notification_read_all(request):
    count = Notification.objects.filter(user=request.user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} as read.")
    return redirect("reporting:notification_list")


@login_required
def notification_preferences(request):
    user = request.user
    form = PreferencesForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST" and form.is_valid():
        locked = locked_kinds(user)
        with transaction.atomic():
            for kind in kinds_for(user):
                email = kind in locked or bool(form.cleaned_data.get(kind))
                NotificationPreference.objects.update_or_create(
                    user=user, kind=kind, defaults={"email": email}
                )
        messages.success(request, "Your email preferences are saved.")
        return redirect("reporting:notification_preferences")
    return render(request, "reporting/notification_preferences.html", {"form": form})
