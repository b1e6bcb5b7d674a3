"""The audit log of reads and sign-ins: ``record(request, action, target)``.

Changes to records are audited by django-simple-history (each audited model's ``history``);
this log is for what leaves no row behind: signing in and out, failed sign-ins, PDF
downloads, exports and opening a record flagged with a safeguarding concern.

Call it from a view once the access has been allowed::

    record(request, AuditEvent.Action.PDF_DOWNLOAD, report, detail="version 2")
    record(request, "export", detail="funding return CSV")
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from .models import AuditEvent

Action = AuditEvent.Action


def _field_max(name: str) -> int:
    return AuditEvent._meta.get_field(name).max_length


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address. Behind our TLS proxy that is the address the proxy appended
    to X-Forwarded-For (the last one); anything before it the client could have written."""
    if request is None:
        return None
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def record(
    request: HttpRequest | None,
    action: str,
    target=None,
    detail: str = "",
    *,
    actor=None,
    email: str = "",
) -> AuditEvent:
    """Write one audit event. ``actor`` defaults to the request's signed-in user; ``target``
    is any model instance (its type, id and name are kept as text, so the event outlives
    it)."""
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if actor is not None and not email:
        email = actor.email
    event = AuditEvent(
        actor=actor,
        email=email[: _field_max("email")],
        action=Action(action),
        detail=detail[: _field_max("detail")],
        ip=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "") if request else "")[
            : _field_max("user_agent")
        ],
    )
    if target is not None:
        event.object_type = target._meta.label_lower
        event.object_id = str(target.pk)[: _field_max("object_id")]
        event.object_label = str(target)[: _field_max("object_label")]
    event.save()
    return event


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender, request, user, **kwargs):
    record(request, Action.LOGIN, actor=user)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    from .models import User

    typed = str(credentials.get("username") or credentials.get("email") or "")
    # Someone trying an existing account's password is linked to that account.
    account = User.objects.filter(email__iexact=typed).first() if typed else None
    record(request, Action.LOGIN_FAILED, actor=account, email=typed)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        record(request, Action.LOGOUT, actor=user)
