"""Invoice/receipt PDFs with fpdf2 and an embedded DejaVu font (umlauts, €)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from fpdf import FPDF

from vhs.i18n import fmt_date, money
from vhs.payments.labels import CREDIT_NOTE_KIND_LABELS, reason_label
from vhs.payments.models import CreditNote, CreditNoteKind, Invoice, InvoiceStatus, Provider

FONTS = Path(__file__).resolve().parent.parent / "fonts"


def _pdf() -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_font("DejaVu", size=10)
    return pdf


def letter(pdf_title: str, heading: str, recipient: list[str | None]) -> FPDF:
    """A new A4 document on the VHS's letterhead: the organisation's name and address, the
    recipient's address lines (empty ones left out) and ``heading`` in bold; the body goes on
    in 10-point DejaVu. Invoices, credit notes and instructors' fee statements share it."""
    settings = current_app.config["VHS"]
    pdf = _pdf()
    pdf.set_title(pdf_title)
    pdf.set_author(settings.org_name)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 14)
    pdf.cell(0, 8, settings.org_name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 5, settings.org_address, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(0, 5, "\n".join(filter(None, recipient)), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("DejaVu", "B", 13)
    pdf.cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    return pdf


def invoice_pdf(invoice: Invoice) -> bytes:
    """Render an invoice: issuer, recipient, number, lines, total, VAT note, payment method."""
    settings = current_app.config["VHS"]
    payment = invoice.payment
    title = (
        _("Invoice")
        if payment.provider is Provider.MANUAL and payment.status.value == "pending"
        else _("Invoice and receipt")
    )
    if invoice.status is InvoiceStatus.CANCELLED:
        title += " – " + _("CANCELLED")
    pdf = letter(
        f"{_('Invoice')} {invoice.number}",
        f"{title} {invoice.number}",
        [invoice.recipient_name, invoice.recipient_address],
    )
    pdf.cell(
        0,
        6,
        f"{_('Date of issue')}: {fmt_date(invoice.issued_at, 'dd.MM.yyyy')}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(4)
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(140, 7, _("Description"), border="B")
    pdf.cell(0, 7, _("Amount"), border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    for line in invoice.lines:
        pdf.cell(140, 7, str(line.get("description", ""))[:90])
        pdf.cell(
            0,
            7,
            money(int(line.get("amount_cents", 0)), "de"),
            align="R",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(140, 8, _("Total"), border="T")
    pdf.cell(
        0,
        8,
        money(invoice.amount_cents, "de"),
        border="T",
        align="R",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("DejaVu", "", 9)
    pdf.ln(4)
    pdf.multi_cell(
        0,
        5,
        str(_("Exempt from VAT under § 4 No. 22 a of the German VAT Act (UStG).")),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    if payment.provider is Provider.MANUAL:
        method = _(
            "Bank transfer to IBAN %(iban)s (BIC %(bic)s), reference %(ref)s.",
            iban=settings.org_iban,
            bic=settings.org_bic,
            ref=invoice.number,
        )
    else:
        method = _("Paid online by card or SEPA direct debit (Stripe).")
    pdf.multi_cell(0, 5, f"{_('Payment method')}: {method}", new_x="LMARGIN", new_y="NEXT")
    if payment.succeeded_at:
        pdf.multi_cell(
            0,
            5,
            _(
                "Received on %(date)s with thanks.",
                date=fmt_date(payment.succeeded_at, "dd.MM.yyyy"),
            ),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    if payment.refunded_cents:
        pdf.multi_cell(
            0,
            5,
            _("Refunded: %(amount)s", amount=money(payment.refunded_cents, "de")),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    return bytes(pdf.output())


def credit_note_pdf(note: CreditNote) -> bytes:
    """Render a credit note / cancellation invoice: issuer, recipient, its number, the original
    invoice's number and date, the amount credited and the reason."""
    title = str(CREDIT_NOTE_KIND_LABELS[note.kind])
    heading = f"{title} {note.number}"
    pdf = letter(heading, heading, [note.recipient_name, note.recipient_address])
    for line in (
        f"{_('Date of issue')}: {fmt_date(note.issued_at, 'dd.MM.yyyy')}",
        _(
            "Refers to invoice %(number)s of %(date)s.",
            number=note.invoice_number,
            date=fmt_date(note.invoice_issued_at, "dd.MM.yyyy"),
        ),
        f"{_('Reason')}: {reason_label(note.reason)}" if note.reason else "",
    ):
        if line:
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(140, 7, _("Description"), border="B")
    pdf.cell(0, 7, _("Amount"), border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(140, 7, note.description[:90])
    pdf.cell(0, 7, money(-note.amount_cents, "de"), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(140, 8, _("Total credited"), border="T")
    pdf.cell(
        0,
        8,
        money(-note.amount_cents, "de"),
        border="T",
        align="R",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("DejaVu", "", 9)
    pdf.ln(4)
    pdf.multi_cell(
        0,
        5,
        str(_("Exempt from VAT under § 4 No. 22 a of the German VAT Act (UStG).")),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if note.kind is CreditNoteKind.CANCELLATION:
        text = _("The invoice named above is cancelled; nothing is owed for it.")
    else:
        text = _("The amount is paid back the way it was paid.")
    pdf.multi_cell(0, 5, str(text), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
