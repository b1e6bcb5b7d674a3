import io

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from reporting.models import ImpactReport, PdfJob, ReportFile, SpendLine


@pytest.mark.django_db(transaction=True)
def test_seed_demo_has_reports_in_every_state_with_pdfs_and_runs_twice():
    """Transactional, so the PDF tasks queued on commit run (eagerly) as in `make run`."""
    call_command("seed_demo")
    counts = (ImpactReport.objects.count(), ReportFile.objects.count(), SpendLine.objects.count())
    call_command("seed_demo")
    assert (
        ImpactReport.objects.count(),
        ReportFile.objects.count(),
        SpendLine.objects.count(),
    ) == counts

    assert set(ImpactReport.objects.values_list("status", flat=True)) == set(
        ImpactReport.Status.values
    )
    assert not PdfJob.objects.exclude(status="done").exists()
    approved = ImpactReport.objects.filter(status="approved", deadline__kind="final").get()
    newest = approved.files.order_by("-version").first()
    with newest.file.open("rb") as handle:
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(handle.read())).pages)
    assert "Final report" in text and "Approved" in text
    # The trust lead's demo commission draws on carry-forward and new money in one report.
    returned = ImpactReport.objects.get(status="returned")
    assert returned.snapshot["funding"]["has_carry_forward"] is True
