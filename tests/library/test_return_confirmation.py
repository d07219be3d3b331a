"""Returning early asks first, and works without JavaScript: a link to a confirmation page,
whose plain HTML form (with its own CSRF token) is what gives the loan back."""

from __future__ import annotations

import re
from html import unescape

import sqlalchemy as sa
from flask import Flask

from library.models import Loan, LoanEnd
from tests.library.seed import give_card, item_with_licence
from vhs.db import db


def form_of(html: str, action: str) -> dict[str, str]:
    """The fields a browser would send with the page's form posting to ``action``."""
    match = re.search(
        rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S
    )
    assert match, f"no plain POST form to {action}"
    return {
        name: unescape(value)
        for name, value in re.findall(
            r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', match.group(1)
        )
    }


def loan_row(app: Flask, loan_id: int) -> Loan:
    with app.app_context():
        loan = db.session.execute(sa.select(Loan).where(Loan.id == loan_id)).scalar_one()
        db.session.expunge(loan)
        return loan


def test_return_early_is_a_link_then_a_form(app: Flask, client, login, make_user) -> None:
    item_id, _ = item_with_licence(app, "Deichgraf")
    user = make_user()
    give_card(app, user)
    login(user)
    client.submit(f"/library/media/{item_id}/loans", {"days": "7"})
    account = client.get("/library/account").get_data(as_text=True)
    link = re.search(r'<a class="button" href="(/library/loans/(\d+)/return)"', account)
    assert link, "the return is offered as a plain link"
    confirm_path, loan_id = link.group(1), int(link.group(2))

    page = client.get(confirm_path)  # following the link asks, and changes nothing
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Jetzt zurückgeben" in html
    assert loan_row(app, loan_id).ended_at is None
    assert 'href="/library/account"' in html  # "Keep it" goes back

    fields = form_of(html, confirm_path)
    assert fields.get("csrf_token")
    refused = client.post(confirm_path, data={})  # a forged post without the token
    assert refused.status_code == 400 and loan_row(app, loan_id).ended_at is None

    done = client.post(confirm_path, data=fields)  # the page's own form, as a browser sends it
    assert done.status_code == 302 and done.location.endswith("/library/account")
    loan = loan_row(app, loan_id)
    assert loan.end_reason is LoanEnd.RETURNED and loan.user_id is None
