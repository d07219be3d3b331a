"""The Teilnahmebescheinigung as a PDF (fpdf2, embedded DejaVu font: umlauts render)."""

from __future__ import annotations

import re
from datetime import date

from flask import Response, current_app
from flask_babel import force_locale, ngettext, pgettext
from flask_babel import gettext as _
from fpdf import FPDF

from courses.labels import format_units, units_plural
from courses.webinars.models import Certificate
from vhs.accounts.models import User
from vhs.i18n import fmt_date
from vhs.payments.pdf import FONTS


def verify_url(code: str) -> str:
    """The public address that confirms a certificate."""
    base = current_app.config["VHS"].public_base_url.rstrip("/")
    return f"{base}/certificates/verify/{code}"


def certificate_response(certificate: Certificate, holder: User) -> Response:
    """The certificate as an inline PDF in its holder's language, kept in no cache."""
    data = certificate_pdf(certificate, holder.locale)
    code = re.sub(r"[^A-Za-z0-9-]", "", certificate.details.get("course_code", "kurs"))
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'inline; filename="teilnahmebescheinigung-{code}.pdf"'
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def _day(iso: str | None) -> str:
    return fmt_date(date.fromisoformat(iso), "long") if iso else ""


def _pdf() -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_margins(25, 20, 25)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_font("DejaVu", size=11)
    return pdf


def _line(pdf: FPDF, text: str, size: int = 11, style: str = "", height: float = 6.5) -> None:
    pdf.set_font("DejaVu", style, size)
    pdf.multi_cell(0, height, text, align="C", new_x="LMARGIN", new_y="NEXT")


def certificate_pdf(certificate: Certificate, locale: str = "de") -> bytes:
    """Render a certificate from what it froze when issued, in the holder's language."""
    with force_locale(locale if locale in ("de", "en") else "de"):
        return _render(certificate)


def _render(certificate: Certificate) -> bytes:
    settings = current_app.config["VHS"]
    d = certificate.details
    pdf = _pdf()
    title = _("Certificate of attendance")
    pdf.set_title(f"{title} {d.get('course_code', '')}")
    pdf.set_author(settings.org_name)
    pdf.add_page()

    pdf.set_font("DejaVu", "B", 26)
    pdf.cell(0, 12, settings.certificate_logo_text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(0, 6, settings.org_name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 5, settings.org_address, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(22)

    _line(pdf, title, 22, "B", 11)
    if certificate.revoked:
        _line(pdf, _("REVOKED – this certificate is no longer valid."), 12, "B")
    pdf.ln(10)
    _line(pdf, d.get("name", ""), 18, "B", 9)
    pdf.ln(4)
    _line(pdf, _("has taken part in the course"))
    pdf.ln(2)
    _line(pdf, f"{d.get('course_code', '')} · {d.get('course_title', '')}", 14, "B", 8)
    pdf.ln(2)
    first, last = d.get("first_day"), d.get("last_day")
    if first and last and first != last:
        _line(pdf, _("from %(first)s to %(last)s", first=_day(first), last=_day(last)))
    elif first:
        _line(pdf, _("on %(day)s", day=_day(first)))
    pdf.ln(8)

    facts = []
    units = d.get("teaching_units") or 0
    if units:
        facts.append(
            ngettext(
                "Scope: %(units)s teaching unit of 45 minutes",
                "Scope: %(units)s teaching units of 45 minutes",
                units_plural(units),
                units=format_units(units),
            )
        )
    total = int(d.get("sessions_total") or 0)
    if total:
        facts.append(
            _(
                "Attendance: %(present)d of %(total)d sessions",
                present=int(d.get("sessions_attended") or 0),
                total=total,
            )
        )
    names = d.get("instructors") or []
    if names:
        facts.append(
            ngettext(
                "Instructor: %(names)s",
                "Instructors: %(names)s",
                len(names),
                names=", ".join(names),
            )
        )
    for fact in facts:
        _line(pdf, fact)
    pdf.ln(14)
    _line(
        pdf,
        _(
            "%(place)s, %(date)s",
            place=settings.org_name,
            date=fmt_date(certificate.issued_at, "long"),
        ),
    )
    _line(pdf, pgettext("certificate", "Date of issue"), 9)

    pdf.set_y(-55)
    pdf.set_font("DejaVu", "", 9)
    pdf.multi_cell(
        0,
        5,
        _(
            "This certificate was issued electronically and is valid without a signature. "
            "Verification code: %(code)s – check it at %(url)s",
            code=certificate.code,
            url=verify_url(certificate.code),
        ),
        align="L",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())
