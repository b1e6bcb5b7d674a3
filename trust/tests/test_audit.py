"""The audit log: sign-ins, failed sign-ins and sign-outs are written with who and from
where; ``record()`` keeps what it was about as text; the admin reads it and changes nothing."""

import pytest
from django.test import Client
from django.urls import reverse

from trust.audit import record
from trust.models import AuditEvent
from trust.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
Action = AuditEvent.Action


def sign_in(client, username, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def test_signing_in_and_out_is_logged_with_who_and_from_where(client, coordinator):
    response = sign_in(
        client, coordinator.email.upper(), REMOTE_ADDR="192.0.2.7", HTTP_USER_AGENT="Firefox"
    )
    assert response.status_code == 302
    client.post(reverse("logout"))
    events = list(AuditEvent.objects.order_by("pk"))
    assert [(e.action, e.actor, e.email) for e in events] == [
        (Action.LOGIN, coordinator, coordinator.email),
        (Action.LOGOUT, coordinator, coordinator.email),
    ]
    assert (events[0].ip, events[0].user_agent) == ("192.0.2.7", "Firefox")


def test_a_wrong_password_is_logged_against_the_account_tried(client, coordinator):
    assert sign_in(client, coordinator.email, "not-the-password").status_code == 200
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.email) == (
        Action.LOGIN_FAILED,
        coordinator,
        coordinator.email,
    )


def test_an_unknown_email_is_logged_as_typed_with_no_account(client, coordinator):
    sign_in(client, "nobody@example.test")
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.email) == (
        Action.LOGIN_FAILED,
        None,
        "nobody@example.test",
    )


def test_the_event_outlives_the_account(client, rf):
    user = UserFactory(full_name="Leaving Soon")
    event = record(rf.get("/"), Action.EXPORT, actor=user, detail="funding return")
    user.delete()
    event.refresh_from_db()
    assert (event.actor, event.email) == (None, user.email)


def test_record_keeps_the_target_as_text_and_trims_long_values(rf, coordinator, hub):
    request = rf.get("/", HTTP_USER_AGENT="x" * 1000)
    request.user = coordinator
    event = record(request, "safeguarding_view", hub, detail="d" * 2000)
    event.refresh_from_db()
    assert (event.actor, event.object_type, event.object_id, event.object_label) == (
        coordinator,
        "trust.organisation",
        str(hub.pk),
        hub.name,
    )
    assert (len(event.user_agent), len(event.detail)) == (300, 500)


def test_an_unknown_action_is_refused(rf, coordinator):
    request = rf.get("/")
    request.user = coordinator
    with pytest.raises(ValueError):
        record(request, "looked_around")
    assert not AuditEvent.objects.exists()


def test_behind_the_proxy_the_address_the_proxy_saw_is_kept(rf, settings, coordinator):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    request.user = coordinator
    assert record(request, Action.EXPORT).ip == "203.0.113.9"  # the client wrote 1.2.3.4


# ------------------------------------------------------------------------ admin


@pytest.fixture
def site_admin(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def test_the_admin_lists_filters_and_searches_events_but_changes_none(
    client, site_admin, coordinator
):
    sign_in(Client(), coordinator.email, "wrong")
    event = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
    changelist = reverse("admin:trust_auditevent_changelist")
    assert coordinator.email in client.get(changelist, {"action__exact": "login_failed"}).text
    assert coordinator.email in client.get(changelist, {"q": coordinator.email}).text
    assert coordinator.email not in client.get(changelist, {"action__exact": "export"}).text

    assert client.get(reverse("admin:trust_auditevent_add")).status_code == 403
    change = reverse("admin:trust_auditevent_change", args=[event.pk])
    assert client.get(change).status_code == 200  # read only
    client.post(change, {"email": "someone@else.test", "action": "login"})
    event.refresh_from_db()
    assert (event.email, event.action) == (coordinator.email, Action.LOGIN_FAILED)
    assert (
        client.post(reverse("admin:trust_auditevent_delete", args=[event.pk])).status_code == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()
