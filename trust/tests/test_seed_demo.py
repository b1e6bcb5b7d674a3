from django.core.management import call_command
from django.urls import reverse

from trust.demo import DEMO_PASSWORD
from trust.models import Cluster, Membership, Organisation, Role, SystemLeaderProfile, User

DEMO_EMAILS = {
    "coordinator@demo.test": Role.HUB_COORDINATOR,
    "qa@demo.test": Role.QA_LEAD,
    "trustlead@demo.test": Role.TRUST_LEAD,
    "leader@demo.test": Role.SYSTEM_LEADER,
    "school@demo.test": Role.SCHOOL_CONTACT,
    "funder@demo.test": Role.FUNDER_VIEWER,
}


def _counts():
    return (
        User.objects.count(),
        Organisation.objects.count(),
        Membership.objects.count(),
        Cluster.objects.count(),
        SystemLeaderProfile.objects.count(),
    )


def test_seed_demo_builds_the_promised_hub_and_can_run_twice(db, capsys):
    call_command("seed_demo")
    first = _counts()
    call_command("seed_demo")
    assert _counts() == first

    assert Organisation.objects.filter(kind="hub").count() == 1
    assert Organisation.objects.filter(kind="trust").count() == 3
    assert Organisation.objects.schools().count() >= 40
    assert Cluster.objects.count() == 4
    for cluster in Cluster.objects.all():
        phases = list(cluster.schools.values_list("phase", flat=True))
        assert phases.count("secondary") == 1
        assert phases.count("special") == 1
        assert phases.count("primary") >= 2
    assert SystemLeaderProfile.objects.count() == 12
    designations = set(SystemLeaderProfile.objects.values_list("designation", flat=True))
    assert designations == {"nle", "lle", "sle", "lp"}

    printed = capsys.readouterr().out
    for email in DEMO_EMAILS:
        assert email in printed


def test_every_demo_account_signs_in_with_the_demo_password(db, client):
    call_command("seed_demo")
    for email, role in DEMO_EMAILS.items():
        user = User.objects.get(email=email)
        assert user.check_password(DEMO_PASSWORD)
        assert role in user.roles
        # Through the sign-in form: django-axes checks every sign-in against its request.
        response = client.post(reverse("login"), {"username": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302
        assert response.url == reverse("trust:home")
        client.logout()


def test_demo_school_contact_is_not_in_the_demo_trust(db):
    """Keeps the demo honest for brokerage: the trust can support the school without a
    same-trust conflict."""
    call_command("seed_demo")
    school = User.objects.get(email="school@demo.test").memberships.get().organisation
    trust = User.objects.get(email="trustlead@demo.test").memberships.get().organisation
    assert school.parent_trust_id != trust.pk
