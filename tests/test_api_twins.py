"""Every HTML write route has an API twin under /api/v1, or a reason in ALLOWED_HTML_ONLY.

What a staff member, an instructor or a resident can do on a page must be possible through the
API with the same service and the same rules. The list of HTML write routes comes from
``app.url_map`` (any rule outside /api/ that accepts POST, PUT, PATCH or DELETE), so a new form
without a twin fails here, naming its endpoint and rule.

To add a twin: one line in ``TWINS`` (HTML endpoint -> API endpoint, as ``app.url_map`` names
them; ``flask routes`` lists both). Only when a route must stay HTML-only does it go to
``ALLOWED_HTML_ONLY``, with the reason as its value.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# HTML endpoint -> its API twin (an endpoint of /api/v1 that accepts a write method).
TWINS: dict[str, str] = {
    # --- reduction checks (courses/enrolment/reductions.py) ---
    "staff.reduction": "courses_api.EnrolmentReduction",  # POST verify / reject
    # --- the office: teaching units, instructor rates and fee statements (courses/office) ---
    "staff.override_units": "courses_staff_api.TeachingUnits",  # PUT
    "staff.clear_units_override": "courses_staff_api.TeachingUnits",  # PUT with null
    "staff.set_rate": "courses_staff_api.put_rate",
    "staff.issue_statement": "courses_staff_api.Statements",  # POST
    # --- accounts and GDPR (vhs/accounts) ---
    "accounts.profile": "accounts_api.Me",  # PATCH /api/v1/me
    "accounts.delete": "accounts_api.Me",  # DELETE /api/v1/me (password + confirm)
    "accounts.change_password": "accounts_api.change_password",
    "accounts.change_email": "accounts_api.change_email",
    "accounts.resend_verification": "accounts_api.resend_verification",
    "accounts.create_token": "accounts_api.Tokens",
    "accounts.revoke_token": "accounts_api.TokenItem",
    "admin.grant_role": "accounts_api.UserRole",
    "calendar.regenerate": "calendar_api.MyCalendarToken",  # POST
    "calendar.revoke": "calendar_api.MyCalendarToken",  # DELETE
    # --- payments ---
    "payments.mark_paid": "payments_api.mark_paid",
    "payments.refund": "payments_api.refund",
    # --- courses: residents ---
    "courses.enrol": "courses_api.CourseEnrolments",
    "courses.cancel": "courses_api.EnrolmentItem",
    "courses_pay.pay": "courses_api.EnrolmentPayment",
    "courses.add_reading_item": "courses_api.ReadingList",
    "courses.update_reading_item": "courses_api.ReadingListEntry",  # PATCH
    "courses.remove_reading_item": "courses_api.ReadingListEntry",  # DELETE
    # --- courses: instructors ---
    "teaching.message": "courses_api.CourseMessages",
    "webinars.mark_attendance": "webinars_api.SessionAttendance",  # PATCH
    # --- courses: staff ---
    "staff.terms": "courses_staff_api.Terms",
    "staff.edit_term": "courses_staff_api.TermItem",
    "staff.categories": "courses_staff_api.Categories",
    "staff.edit_category": "courses_staff_api.CategoryItem",
    "staff.new_course": "courses_staff_api.StaffCourses",
    "staff.edit_course": "courses_staff_api.StaffCourseItem",
    "staff.publish_course": "courses_staff_api.publish",
    "staff.complete_course": "courses_staff_api.complete",
    "staff.cancel_course": "courses_staff_api.cancel",
    "staff.copy_course": "courses_staff_api.copy",
    "staff.add_session": "courses_staff_api.add_session",
    "staff.generate_sessions": "courses_staff_api.generate",
    "staff.edit_session": "courses_staff_api.patch_session",
    "staff.cancel_session": "courses_staff_api.cancel_session",
    "staff.book": "courses_api.CourseEnrolments",  # with `user_id`
    "staff.cancel_enrolment": "courses_api.EnrolmentItem",  # with `override`
    "staff.move_enrolment": "courses_api.EnrolmentMove",
    "webinars.replace_room": "webinars_api.replace_room",
    "webinars.issue_certificate": "webinars_api.StaffCertificates",
    "webinars.revoke_certificate": "webinars_api.revoke",
    # --- library: patrons ---
    "library.apply": "library_api.MyCard",
    "library.change_pin": "library_api.MyPin",
    "library.pay_fee": "library_api.pay_fee",
    "library.borrow": "library_api.Borrow",
    "library.return_loan": "library_api.LoanItem",
    "library.renew": "library_api.renew",
    "library.place_hold": "library_api.PlaceHold",
    "library.cancel_hold": "library_api.HoldItem",
    "library.history": "library_api.MyHistory",
    # OPDS acquisition links (reading apps): the same borrowing and returning as JSON.
    "opds.borrow": "library_api.Borrow",
    "opds.borrow_v2": "library_api.Borrow",
    "opds.revoke": "library_api.LoanItem",
    "opds.revoke_v2": "library_api.LoanItem",
    # --- library: the desk ---
    "library_staff.issue": "library_staff_api.StaffCards",
    "library_staff.register_person": "library_staff_api.StaffCards",
    "library_staff.confirm": "library_staff_api.StaffCard",  # PATCH state=active
    "library_staff.block": "library_staff_api.StaffCard",  # PATCH state=blocked
    "library_staff.unblock": "library_staff_api.StaffCard",  # PATCH state=active
    "library_staff.validity": "library_staff_api.StaffCard",  # PATCH valid_until
    "library_staff.reset_pin": "library_staff_api.StaffCard",  # PATCH reset_pin
    "library_staff.take_fee": "library_staff_api.StaffCard",  # PATCH fee_paid
    "library_staff.add_licence": "library_staff_api.ItemLicences",
    "library_staff.edit_licence": "library_staff_api.LicenceItem",
    "library_staff.revoke_loan": "library_staff_api.revoke",
    "library_staff.dedicate": "library_staff_api.LicenceDedications",
    "library_staff.end_dedication": "library_staff_api.end",
    "library_staff.add_distributor": "library_staff_api.Distributors",
    "library_staff.edit_distributor": "library_staff_api.DistributorItem",  # PATCH
    "library_staff.delete_distributor": "library_staff_api.DistributorItem",  # DELETE
    "library_staff.sync_distributor": "library_staff_api.sync",
    "library_staff.watermarks": "library_staff_api.watermark_in_file",
    # --- media catalogue ---
    "media_staff.new": "media_staff_api.StaffMedia",
    "media_staff.edit": "media_staff_api.StaffMediaItem",
    "media_staff.publish": "media_staff_api.publish",
    "media_staff.withdraw": "media_staff_api.withdraw",
    "media_staff.file_upload": "media_staff_api.upload_file",
    "media_staff.file_apply_metadata": "media_staff_api.accept_metadata",
    "media_staff.file_remove": "media_staff_api.delete_file",
    "media_staff.cover_upload": "media_staff_api.put_cover",
    "media_staff.import_start": "media_staff_api.start_import",
}

# HTML write routes that stay without a twin, each with the reason. Keep it short and honest.
ALLOWED_HTML_ONLY: dict[str, str] = {
    # Signing in and out is what a browser session is; API clients authenticate with a
    # personal token (`POST /api/v1/me/tokens`, `flask users token`) and need neither.
    "accounts.login": "password login form that starts a browser session",
    "library.card_login": "card number + PIN login form that starts a browser session",
    "accounts.logout": "ends the browser session; API tokens are revoked with DELETE",
    # Account recovery and creation happen before there is anything to authenticate an API
    # call with; they are rate-limited pages whose proof is a mailed link opened in a browser.
    "accounts.register": "creates the account an API token would belong to",
    "accounts.forgot": "password reset by mailed link, for someone who cannot sign in",
    "accounts.reset": "the reset link's own form (the signed token is the credential)",
    # A CSRF-only UI convenience: the language of an anonymous visitor's session. Accounts set
    # their language with `PATCH /api/v1/me` (`locale`); API clients send Accept-Language.
    "main.set_language": "session language switch in the page header",
    # Not HTML pages at all: machine-to-machine deliveries, verified by signature or secret.
    "webhooks.stripe_webhook": "Stripe's signed webhook",
    "jitsi_webhooks.jitsi_webhook": "Jitsi's signed webhook",
    "jitsi_webhooks.event_sync_room_created": "Prosody's event_sync POST (shared secret/HMAC)",
    "jitsi_webhooks.event_sync_room_destroyed": "Prosody's event_sync POST (shared secret/HMAC)",
    "jitsi_webhooks.event_sync_occupant_joined": "Prosody's event_sync POST (shared secret/HMAC)",
    "jitsi_webhooks.event_sync_occupant_left": "Prosody's event_sync POST (shared secret/HMAC)",
    "library.odl_notify": "a distributor's ODL loan status notification (token in the URL)",
}


def html_write_routes(app: Flask) -> dict[str, str]:
    """HTML endpoint -> "METHODS rule", for every rule outside /api/ accepting a write method."""
    found = {}
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) & WRITES
        if methods and not rule.rule.startswith("/api/"):
            found[rule.endpoint] = f"{', '.join(sorted(methods))} {rule.rule}"
    return found


def api_write_endpoints(app: Flask) -> dict[str, set[str]]:
    """API endpoint -> the write methods its rule accepts."""
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) & WRITES
        if methods and rule.rule.startswith("/api/v1/"):
            found.setdefault(rule.endpoint, set()).update(methods)
    return found


def missing_twins(
    app: Flask,
    twins: Mapping[str, str] = TWINS,
    allowed: Mapping[str, str] = ALLOWED_HTML_ONLY,
) -> list[str]:
    """The HTML write routes with neither a twin nor a reason, as "endpoint (METHODS rule)"."""
    return [
        f"{endpoint} ({route})"
        for endpoint, route in sorted(html_write_routes(app).items())
        if endpoint not in twins and endpoint not in allowed
    ]


def test_every_html_write_route_has_an_api_twin(app: Flask) -> None:
    missing = missing_twins(app)
    assert not missing, (
        "HTML write routes without an API twin: add the twin under /api/v1 and a line to "
        "TWINS in tests/test_api_twins.py (or, if it must stay HTML-only, a reason in "
        "ALLOWED_HTML_ONLY):\n  " + "\n  ".join(missing)
    )


def test_every_twin_is_an_api_write_route(app: Flask) -> None:
    api = api_write_endpoints(app)
    wrong = [
        f"{html_endpoint} -> {api_endpoint}"
        for html_endpoint, api_endpoint in sorted(TWINS.items())
        if api_endpoint not in api
    ]
    assert not wrong, "twins that are not write routes under /api/v1/:\n  " + "\n  ".join(wrong)


def test_the_lists_name_only_existing_routes_and_do_not_overlap(app: Flask) -> None:
    html = html_write_routes(app)
    stale = sorted((set(TWINS) | set(ALLOWED_HTML_ONLY)) - set(html))
    assert not stale, f"entries for HTML write routes that no longer exist: {stale}"
    both = sorted(set(TWINS) & set(ALLOWED_HTML_ONLY))
    assert not both, f"routes with a twin cannot also be allowed HTML-only: {both}"
    assert all(reason.strip() for reason in ALLOWED_HTML_ONLY.values())


def test_a_route_without_a_twin_is_named_with_its_methods_and_rule() -> None:
    """The check itself: on a small app, only the twinless HTML form is reported, by name."""
    probe = Flask(__name__)
    view = lambda **_kw: ""  # noqa: E731
    probe.add_url_rule(
        "/staff/things/<int:thing_id>/archive", "staff.archive", view, methods=["POST"]
    )
    probe.add_url_rule("/staff/things", "staff.things", view, methods=["GET", "POST"])
    probe.add_url_rule("/staff/report", "staff.report", view)  # read-only: no twin needed
    probe.add_url_rule("/login", "accounts.login", view, methods=["GET", "POST"])
    probe.add_url_rule("/api/v1/things", "api.Things", view, methods=["POST"])
    assert missing_twins(probe, {"staff.things": "api.Things"}, ALLOWED_HTML_ONLY) == [
        "staff.archive (POST /staff/things/<int:thing_id>/archive)"
    ]
    assert api_write_endpoints(probe) == {"api.Things": {"POST"}}
