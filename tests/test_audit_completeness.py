"""Every change to an audited model leaves a history row, so nothing may write one behind
django-simple-history's back.

History is written from ``post_save``/``post_delete``; ``QuerySet.update()``,
``bulk_update()`` and a plain ``bulk_create()`` send no signal, so they would change an
audited row without a trace. The rule: on an audited model, write through ``save()`` /
``delete()`` (or ``simple_history.utils.bulk_create_with_history``). A conditional
``UPDATE ... WHERE`` claim stays the right tool on bookkeeping models that are not audited
(``PdfJob``, ``Reminder``, ``SchoolImport``, ``Notification``...).

The check below reads the project's source (tests and migrations aside: a test may set up a
past state directly, a migration works on historical models) and fails on any such call
whose receiver is an audited model (``Visit.objects.filter(...).update(...)``) or one of
the related managers that hold audited rows (``commission.allocations.update(...)``). It is
a syntax check, not type inference: a queryset kept in a variable first would slip past, so
keep such writes spelled out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import registered_models

ROOT = Path(__file__).resolve().parent.parent
OUR_APPS = {"trust", "brokerage", "deployments", "reporting"}
WRITES_WITHOUT_HISTORY = {"update", "bulk_update", "bulk_create"}

# What the product audits (issue 7): change this list and the models together.
AUDITED = {
    "brokerage.SupportRequest",
    "brokerage.Commission",
    "brokerage.FundingAllocation",
    "brokerage.ReportingDeadline",
    "deployments.ActionPlan",
    "deployments.Objective",
    "deployments.Visit",
    "reporting.ImpactReport",
    "reporting.SpendLine",
}


def audited_models():
    return [m for m in registered_models.values() if m._meta.app_label in OUR_APPS]


def audited_names() -> tuple[set[str], set[str]]:
    """The audited models' class names, and the names of related managers that hold them
    (e.g. ``allocations`` on a commission, ``visits`` on a deployment)."""
    models = set(audited_models())
    accessors = set()
    for model in apps.get_models():
        for rel in model._meta.related_objects:
            if rel.related_model in models and (rel.one_to_many or rel.many_to_many):
                accessors.add(rel.get_accessor_name())
    return {m.__name__ for m in models}, accessors


def writes_without_history(source: str, models: set[str], accessors: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in WRITES_WITHOUT_HISTORY
        ):
            continue
        receiver = node.func.value
        chain = []
        while True:
            if isinstance(receiver, ast.Call):
                receiver = receiver.func
            elif isinstance(receiver, ast.Subscript):
                receiver = receiver.value
            elif isinstance(receiver, ast.Attribute):
                chain.append(receiver.attr)
                receiver = receiver.value
            else:
                break
        root = receiver.id if isinstance(receiver, ast.Name) else ""
        if root in models or accessors.intersection(chain):
            found.append(f"line {node.lineno}: {ast.unparse(node)[:120]}")
    return found


def project_sources():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0].startswith(".") or "migrations" in parts or "tests" in parts:
            continue
        yield path


def test_the_audited_models_are_the_ones_the_product_names():
    assert {m._meta.label for m in audited_models()} == AUDITED


def test_no_code_writes_an_audited_model_without_history():
    models, accessors = audited_names()
    assert {"Visit", "Commission", "SupportRequest"} <= models
    assert {"allocations", "deadlines", "visits", "objectives"} <= accessors
    offenders = {}
    sources = list(project_sources())
    assert len(sources) > 40  # the scan does reach the apps
    for path in sources:
        found = writes_without_history(path.read_text(), models, accessors)
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


@pytest.mark.parametrize(
    "source",
    [
        "Visit.objects.filter(pk=1, x__isnull=True).update(x=now)",
        "Commission.objects.select_for_update().filter(pk=1).update(end=day)",
        "commission.allocations.filter(stream=s).update(amount=1)",
        "self.deployment.visits.all().update(mode='virtual')",
        "ReportingDeadline.objects.bulk_create(rows)",
        "Objective.objects.bulk_update(rows, ['rag'])",
    ],
)
def test_the_check_catches_a_write_behind_historys_back(source):
    models, accessors = audited_names()
    assert writes_without_history(source, models, accessors)


@pytest.mark.parametrize(
    "source",
    [
        "PdfJob.objects.filter(pk=1, status='pending').update(status='done')",
        "Reminder.objects.filter(pk=1).update(state='sent')",
        "counts.update({'a': 1})",
        "data.update(overrides)",
        "bulk_create_with_history(rows, ReportingDeadline, default_user=actor)",
        "visit.save(update_fields=['summary'])",
    ],
)
def test_the_check_lets_bookkeeping_and_plain_dicts_be(source):
    models, accessors = audited_names()
    assert writes_without_history(source, models, accessors) == []


@pytest.mark.parametrize("label", sorted(AUDITED))
def test_every_audited_model_has_a_history_admin(label):
    model = apps.get_model(label)
    assert isinstance(admin.site._registry.get(model), SimpleHistoryAdmin), label
