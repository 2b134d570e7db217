"""A printable certificate (DECISIONS §10), drawn with reportlab: one landscape A4 page with the
course, the learner's name, the date, the issuing tenant and the verification URL."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

if TYPE_CHECKING:
    from tracking.insight import VerifiedCertificate


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def certificate_pdf(verified: VerifiedCertificate, *, verification_url: str) -> bytes:
    """The certificate as PDF bytes. Titles too long for the page are cut with an ellipsis."""
    buffer = io.BytesIO()
    width, height = landscape(A4)
    page = canvas.Canvas(buffer, pagesize=(width, height))
    page.setTitle(f"Certificate: {verified.course_title}")
    page.setAuthor(verified.tenant_name)

    page.setStrokeColor(colors.HexColor("#2c5282"))
    page.setLineWidth(3)
    page.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    page.setLineWidth(0.8)
    page.rect(16 * mm, 16 * mm, width - 32 * mm, height - 32 * mm)

    centre = width / 2
    page.setFillColor(colors.HexColor("#2c5282"))
    page.setFont("Helvetica-Bold", 34)
    page.drawCentredString(centre, height - 52 * mm, "Certificate of completion")
    page.setFillColor(colors.black)
    page.setFont("Helvetica", 15)
    page.drawCentredString(centre, height - 70 * mm, "This certifies that")
    page.setFont("Helvetica-Bold", 26)
    page.drawCentredString(centre, height - 86 * mm, _fit(verified.learner_name or "the certificate holder", 60))
    page.setFont("Helvetica", 15)
    page.drawCentredString(centre, height - 102 * mm, "has completed the course")
    page.setFont("Helvetica-Bold", 22)
    page.drawCentredString(centre, height - 117 * mm, _fit(verified.course_title, 70))
    page.setFont("Helvetica", 13)
    issued = verified.certificate.issued_at
    page.drawCentredString(centre, height - 135 * mm, f"Issued on {issued:%d %B %Y} by {_fit(verified.tenant_name, 60)}")

    page.setFont("Helvetica", 9)
    page.setFillColor(colors.HexColor("#4a5568"))
    page.drawCentredString(centre, 30 * mm, f"Certificate {verified.certificate.id}")
    page.drawCentredString(centre, 24 * mm, f"Verify at {verification_url}")
    page.linkURL(verification_url, (centre - 90 * mm, 21 * mm, centre + 90 * mm, 28 * mm))
    page.showPage()
    page.save()
    return buffer.getvalue()
