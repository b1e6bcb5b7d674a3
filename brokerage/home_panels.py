"""What brokerage adds to each role's home page (registered in BrokerageConfig.ready)."""

from django.utils import timezone

from trust import home
from trust.models import HUB_ROLES, Role

from .models import SupportRequest
from .selectors import (
    commission_list_for,
    offer_list_for,
    request_list_for,
    status_counts,
    stream_list_for,
)


def hub_panel(user):
    requests = request_list_for(user=user).filter(hub_id__in=user.organisation_ids_for(*HUB_ROLES))
    today = timezone.localdate()
    open_offers = offer_list_for(user=user).open()
    return {
        "counts": [
            (SupportRequest.Status(status).label, n)
            for status, n in status_counts(requests).items()
        ],
        "overdue_offers": [o for o in open_offers if o.is_overdue(today)],
    }


def trust_panel(user):
    trusts = user.organisation_ids_for(Role.TRUST_LEAD)
    offers = offer_list_for(user=user).open().filter(lead_organisation_id__in=trusts)
    return {
        "offers": list(offers[:10]),
        "today": timezone.localdate(),
        "commissions": commission_list_for(user=user).filter(lead_organisation_id__in=trusts)[:10],
    }


def school_panel(user):
    schools = user.organisation_ids_for(Role.SCHOOL_CONTACT)
    return {"requests": request_list_for(user=user).filter(school_id__in=schools)[:20]}


def funder_panel(user):
    return {"streams": stream_list_for(user=user)}


def register():
    home.register(Role.HUB_COORDINATOR, "brokerage/panels/hub.html", hub_panel, order=10)
    home.register(Role.QA_LEAD, "brokerage/panels/hub.html", hub_panel, order=10)
    home.register(Role.TRUST_LEAD, "brokerage/panels/trust.html", trust_panel, order=10)
    home.register(Role.SCHOOL_CONTACT, "brokerage/panels/school.html", school_panel, order=10)
    home.register(Role.FUNDER_VIEWER, "brokerage/panels/funder.html", funder_panel, order=10)
