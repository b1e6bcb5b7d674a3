"""Reminders as people meet them: the email (text and HTML, direct link, a link to the
preferences), the header's unread count and the notification list, the email preferences
(escalations stay on for the hub), and each role's home page showing what is overdue and
what is due next. Real database, real views, Django's test outbox."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from django.utils.html import escape

from brokerage import services as brokerage
from deployments.tests.factories import started_offer
from reporting.models import Notification, NotificationPreference, Reminder
from reporting.reminders import reminders_run
from reporting.tests.factories import deadline_of, drafted_report, submitted_report

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TODAY = datetime.date(2026, 11, 30)  # a Monday
SITE = "https://brokerage.example.org"
SCRIPT = "<script>alert(1)</script>"
TRUST_KINDS = {"upcoming_14", "upcoming_3", "due", "overdue_1", "overdue_7"}


@pytest.fixture(autouse=True)
def fixed_today(time_machine, settings):
    time_machine.move_to(datetime.datetime(2026, 11, 30, 10, 0, tzinfo=LONDON), tick=False)
    settings.SITE_URL = SITE + "/"


@pytest.fixture
def open_offer(coordinator, brokering_request, lead_trust, leader_profile):
    """Support that began on 1 September and runs to the end of February."""
    return started_offer(
        coordinator=coordinator, request=brokering_request, trust=lead_trust, leader=leader_profile
    )


def set_interims(commission, coordinator, *dues):
    """Interim reports due on ``dues``; the final report well after the support ends."""
    brokerage.commission_set_deadlines(
        commission=commission,
        actor=coordinator,
        deadlines=[*(("interim", due) for due in dues),
                   ("final", commission.end + datetime.timedelta(days=28))],
    )  # fmt: skip


def days(n):
    return TODAY + datetime.timedelta(days=n)


def mail_to(user, about="report"):
    """Emails to ``user`` whose subject mentions ``about`` (the Lead System Leader of
    support begun in September also hears that no visit has been logged)."""
    return [m for m in mail.outbox if m.to == [user.email] and about in m.subject]


def badge(page: str) -> int | None:
    """The unread count in the header's Notifications link, or None when it shows none."""
    link = re.search(r'href="/notifications/">Notifications(.*?)</a>', page, re.S)
    assert link, "the header has a Notifications link"
    count = re.search(
        r'<span class="badge[^"]*">(\d+)<span class="visually-hidden"> unread', link[1]
    )
    return int(count[1]) if count else None


def checkbox(page: str, name: str) -> str | None:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    return found[0] if found else None


# ========================================================================== emails


def test_a_reminder_email_says_what_is_due_where_and_when_with_direct_links(
    client, commission, coordinator, trust_lead, leader, supported_school
):
    set_interims(commission, coordinator, days(3))
    reminders_run(TODAY)

    assert {m.to[0] for m in mail.outbox} == {trust_lead.email, leader.email}
    [message] = mail_to(trust_lead)
    assert (
        message.subject == "Interim report for Moorside Primary School due in 3 days (3 Dec 2026)"
    )
    text = message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    for part in (text, html):
        assert "Moorside Primary School" in part
        assert escape(commission.request.title) in part or commission.request.title in part
        assert "Thursday 3 December 2026" in part

    notification = Notification.objects.get(user=trust_lead)
    link = SITE + notification.url
    assert notification.url.startswith(reverse("reporting:report_list") + "?")
    preferences = SITE + reverse("reporting:notification_preferences")
    assert f"Open it: {link}" in text
    assert preferences in text
    assert f'href="{escape(link)}"' in html
    assert f'href="{escape(preferences)}"' in html
    assert message.extra_headers["List-Unsubscribe"] == f"<{preferences}>"
    assert set(Reminder.objects.values_list("state", flat=True)) == {Reminder.State.SENT}

    # The link leads the recipient to that school's report.
    client.force_login(trust_lead)
    page = client.get(notification.url).content.decode()
    assert "Moorside Primary School" in page
    assert deadline_of(commission).due.strftime("%-d %b %Y") in page


def test_a_school_name_with_markup_is_escaped_in_the_html_part(
    commission, coordinator, trust_lead, supported_school
):
    supported_school.name = f"Moorside {SCRIPT} Primary"
    supported_school.save(update_fields=["name"])
    set_interims(commission, coordinator, days(3))
    reminders_run(TODAY)

    [message] = mail_to(trust_lead)
    [(html, _)] = message.alternatives
    assert SCRIPT not in html
    assert "Moorside &lt;script&gt;alert(1)&lt;/script&gt; Primary" in html
    # Plain text is not HTML: the name reads as typed, not as entities.
    assert f"Moorside {SCRIPT} Primary" in message.body
    assert "&lt;" not in message.body


def test_a_second_run_the_same_day_sends_nothing_more(commission, coordinator, trust_lead):
    set_interims(commission, coordinator, days(3))
    reminders_run(TODAY)
    sent = len(mail.outbox)
    reminders_run(TODAY)
    assert sent >= 2 and len(mail.outbox) == sent
    assert Notification.objects.filter(user=trust_lead).count() == 1


# ========================================================================== header


@pytest.fixture
def three_unread(trust_lead):
    return [
        Notification.objects.create(
            user=trust_lead, kind="due", title=f"Report {i} due", url=f"/reports/?q={i}"
        )
        for i in range(3)
    ]


def list_page(client):
    return client.get(reverse("reporting:notification_list")).content.decode()


def test_the_header_counts_unread_notifications_for_their_recipient_only(
    client, three_unread, trust_lead, coordinator
):
    client.force_login(trust_lead)
    assert badge(list_page(client)) == 3
    assert badge(client.get(reverse("trust:home"), follow=True).content.decode()) == 3
    client.force_login(coordinator)
    assert badge(list_page(client)) is None
    assert "Report 1 due" not in list_page(client)


def test_marking_one_as_read_lowers_the_count(client, three_unread, trust_lead):
    client.force_login(trust_lead)
    first = three_unread[0]
    response = client.post(reverse("reporting:notification_read", args=[first.pk]))
    assert response.status_code == 302
    assert response.url == reverse("reporting:notification_list")
    first.refresh_from_db()
    assert first.read_at is not None
    assert badge(list_page(client)) == 2


def test_open_marks_read_and_goes_to_the_notifications_link(client, three_unread, trust_lead):
    client.force_login(trust_lead)
    target = three_unread[1]
    response = client.post(reverse("reporting:notification_read", args=[target.pk]), {"open": "1"})
    assert response.status_code == 302
    assert response.url == "/reports/?q=1"
    assert badge(list_page(client)) == 2


@pytest.mark.parametrize(
    "url",
    ["https://evil.example/", "//evil.example/reports/", "javascript:alert(1)", "http:/\\evil"],
)
def test_an_off_site_link_is_not_followed(client, trust_lead, url):
    notification = Notification.objects.create(user=trust_lead, kind="due", title="X", url=url)
    client.force_login(trust_lead)
    response = client.post(
        reverse("reporting:notification_read", args=[notification.pk]), {"open": "1"}
    )
    assert response.status_code == 302
    assert response.url == reverse("reporting:notification_list")
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_mark_all_as_read_touches_only_your_own(client, three_unread, trust_lead, coordinator):
    theirs = Notification.objects.create(user=coordinator, kind="escalation", title="E", url="/")
    client.force_login(trust_lead)
    response = client.post(reverse("reporting:notification_read_all"), follow=True)
    page = response.content.decode()
    assert "Marked 3 notifications as read." in page
    assert badge(page) is None
    assert not Notification.objects.filter(user=trust_lead, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_another_persons_notification_is_a_404(client, three_unread, coordinator):
    client.force_login(coordinator)
    mine = three_unread[0]
    url = reverse("reporting:notification_read", args=[mine.pk])
    assert client.post(url).status_code == 404
    assert client.post(url, {"open": "1"}).status_code == 404
    mine.refresh_from_db()
    assert mine.read_at is None


def test_the_read_endpoints_refuse_get(client, three_unread, trust_lead):
    client.force_login(trust_lead)
    first = three_unread[0]
    assert client.get(reverse("reporting:notification_read", args=[first.pk])).status_code == 405
    assert client.get(reverse("reporting:notification_read_all")).status_code == 405
    first.refresh_from_db()
    assert first.read_at is None


def test_a_notification_title_with_markup_is_shown_as_text(client, trust_lead):
    Notification.objects.create(user=trust_lead, kind="due", title=f"Due {SCRIPT}", url="/")
    client.force_login(trust_lead)
    page = list_page(client)
    assert SCRIPT not in page and "Due &lt;script&gt;" in page


@pytest.mark.parametrize("n", [2, 30])
def test_the_list_runs_the_same_queries_however_many(
    client, trust_lead, django_assert_max_num_queries, n
):
    Notification.objects.bulk_create(
        Notification(user=trust_lead, kind="due", title=f"N{i}", url="/") for i in range(n)
    )
    client.force_login(trust_lead)
    with django_assert_max_num_queries(9):
        page = list_page(client)
    assert badge(page) == n
    assert page.count("Mark as read<span") == min(n, 25)


# ===================================================================== preferences


PREFERENCES = "/notifications/preferences/"


def test_the_url_of_the_preferences_is_what_the_tests_use():
    assert reverse("reporting:notification_preferences") == PREFERENCES


def test_a_trust_lead_sees_only_the_kinds_that_reach_them(client, trust_lead):
    client.force_login(trust_lead)
    page = client.get(PREFERENCES).content.decode()
    offered = set(re.findall(r'<input[^>]*type="checkbox"[^>]*name="([a-z_0-9]+)"', page))
    offered |= set(re.findall(r'<input[^>]*name="([a-z_0-9]+)"[^>]*type="checkbox"', page))
    assert offered == TRUST_KINDS
    assert "Report due today" in page and "to the hub" not in page


def test_switching_due_today_off_keeps_the_notification_but_sends_no_email(
    client, commission, coordinator, trust_lead, leader
):
    client.force_login(trust_lead)
    response = client.post(PREFERENCES, dict.fromkeys(TRUST_KINDS - {"due"}, "on"))
    assert response.status_code == 302
    prefs = dict(
        NotificationPreference.objects.filter(user=trust_lead).values_list("kind", "email")
    )
    assert prefs == {**dict.fromkeys(TRUST_KINDS, True), "due": False}
    page = client.get(PREFERENCES).content.decode()
    assert "checked" not in checkbox(page, "due")
    assert "checked" in checkbox(page, "upcoming_3")

    set_interims(commission, coordinator, TODAY)
    reminders_run(TODAY)
    notification = Notification.objects.get(user=trust_lead)
    assert notification.kind == "due"
    assert notification.reminder.state == Reminder.State.SKIPPED
    assert mail_to(trust_lead) == []
    # The Lead System Leader kept the default, so emails were going out.
    [message] = mail_to(leader)
    assert "due today" in message.subject


@pytest.mark.parametrize("forged", [{}, {"escalation": ""}, {"escalation": "false"}])
def test_the_hub_cannot_switch_escalations_off(client, commission, coordinator, forged):
    client.force_login(coordinator)
    page = client.get(PREFERENCES).content.decode()
    field = checkbox(page, "escalation")
    assert field and "disabled" in field and "checked" in field
    assert "Always sent to the hub." in page

    response = client.post(PREFERENCES, forged)
    assert response.status_code == 302
    assert NotificationPreference.objects.get(user=coordinator, kind="escalation").email is True
    assert "checked" in checkbox(client.get(PREFERENCES).content.decode(), "escalation")

    set_interims(commission, coordinator, days(-14))
    reminders_run(TODAY)
    [message] = mail_to(coordinator)
    assert message.subject.startswith("Escalation: Interim report for Moorside Primary School")
    assert Reminder.objects.get(recipient=coordinator).state == Reminder.State.SENT


@pytest.mark.parametrize("person", ["trust_lead", "coordinator", "leader", "school_contact"])
@pytest.mark.parametrize(
    "data",
    [
        {"no_such_kind": "on", "user": "1", "email": "off"},
        {"due": "x" * 100_000, "escalation": "y" * 100_000},
        {"due": "\x00", "upcoming_3": "\x00\x00", "\x00": "\x00"},
        {"due": ["on", "off", "\x00"], "overdue_7": ""},
    ],
)
def test_hostile_preference_input_never_breaks_the_page(client, person, data, request):
    user = request.getfixturevalue(person)
    client.force_login(user)
    response = client.post(PREFERENCES, data)
    assert response.status_code in (200, 302)
    assert client.get(PREFERENCES).status_code == 200
    kinds = set(NotificationPreference.objects.filter(user=user).values_list("kind", flat=True))
    assert "no_such_kind" not in kinds and "\x00" not in kinds
    assert not NotificationPreference.objects.exclude(user=user).exists()


# ====================================================================== home pages


@pytest.fixture
def reports_world(commission, coordinator, leader, trust_lead, time_machine):
    """Interim reports: one submitted on 18 Nov (more than five working days ago), one
    overdue since 20 Nov, one due on 10 Dec; the final report is months away."""
    set_interims(commission, coordinator, days(-20), days(-10), days(10))
    time_machine.move_to(datetime.datetime(2026, 11, 18, 10, 0, tzinfo=LONDON), tick=False)
    submitted = submitted_report(commission, leader, trust_lead)
    time_machine.move_to(datetime.datetime(2026, 11, 30, 10, 0, tzinfo=LONDON), tick=False)
    assert submitted.deadline.due == days(-20)
    return submitted


def section(page: str, heading: str) -> str:
    """The HTML under a panel heading, up to the next heading or the panel's end."""
    start = page.index(f">{heading}")
    ends = [i for i in (page.find("<h3", start), page.find("</section>", start)) if i != -1]
    return page[start : min(ends)]


def home_of(client, user):
    client.force_login(user)
    response = client.get(reverse("trust:home"), follow=True)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("person", ["coordinator", "qa_lead", "trust_lead", "leader"])
def test_each_home_shows_what_is_overdue_and_what_is_due_next(
    client, reports_world, person, request
):
    page = home_of(client, request.getfixturevalue(person))
    overdue = section(page, "Reports overdue")
    due_next = section(page, "Due in the next 30 days")
    assert "20 Nov 2026" in overdue and "Overdue" in overdue
    assert "10 Dec 2026" not in overdue
    assert "10 Dec 2026" in due_next and "Not started" in due_next
    assert "20 Nov 2026" not in due_next
    assert "28 Mar 2027" not in page  # the final report is not due yet
    assert "10 Nov 2026" not in overdue  # submitted: with the hub, not overdue


def test_the_qa_lead_sees_reviews_waiting_too_long_first(client, reports_world, qa_lead):
    page = home_of(client, qa_lead)
    late = section(page, "Waiting more than 5 working days")
    assert reports_world.get_absolute_url() in late and "10 Nov 2026" in late
    assert "Nothing else is waiting for review." in section(page, "To review next")


def test_a_recent_submission_waits_without_being_late(
    client, commission, coordinator, leader, trust_lead, qa_lead
):
    set_interims(commission, coordinator, days(-3))
    report = submitted_report(commission, leader, trust_lead)
    page = home_of(client, qa_lead)
    assert report.get_absolute_url() in section(page, "To review next")
    assert "No review is overdue." in section(page, "Waiting more than 5 working days")


def test_the_trust_lead_also_sees_what_is_with_the_hub(client, reports_world, trust_lead):
    page = home_of(client, trust_lead)
    assert reports_world.get_absolute_url() in section(page, "With the hub for review")


def test_a_coordinator_who_does_not_review_gets_no_review_panel(
    client, reports_world, coordinator
):
    assert "Reports waiting for your review" not in home_of(client, coordinator)


def test_homes_say_when_nothing_is_due(client, commission, coordinator, trust_lead):
    set_interims(commission, coordinator, days(45))
    page = home_of(client, trust_lead)
    assert "No report is overdue." in page
    assert "No report is due in the next 30 days." in page


@pytest.mark.parametrize("n", [1, 12])
def test_home_panels_run_the_same_queries_however_many_reports(
    client, commission, coordinator, qa_lead, trust_lead, leader, django_assert_max_num_queries, n
):
    """n overdue and n due next; past ten each, the panel says there are more."""
    set_interims(
        commission,
        coordinator,
        *(datetime.date(2026, 9, 2) + datetime.timedelta(days=i) for i in range(n)),
        *(days(1 + i) for i in range(n)),
    )
    drafted_report(commission, leader)
    # (person, rows shown per section, most queries for the whole page)
    budgets = [(coordinator, 10, 20), (qa_lead, 10, 21), (trust_lead, 10, 19), (leader, 5, 16)]
    for person, shown, most in budgets:
        client.force_login(person)
        url = client.get(reverse("trust:home")).url
        with django_assert_max_num_queries(most):
            page = client.get(url).content.decode()
        assert ("More in the report list" in page) is (n > shown)
        for heading in ("Reports overdue", "Due in the next 30 days"):
            assert section(page, heading).count('class="list-group-item') == min(n, shown)
