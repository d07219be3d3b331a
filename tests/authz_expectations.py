"""Who may call which route: the expectations behind ``tests/test_authz_matrix.py``.

Every route of ``app.url_map`` (rule + method, HEAD/OPTIONS and static left out) needs an entry
in ``EXPECTATIONS``; the matrix test fails for a route without one, and for an entry whose route
no longer exists. A later issue that adds routes adds their entries here (and, when its URLs
carry ids, a builder in ``BUILDERS`` that makes the object the URL points at).

An entry maps ``(METHOD, rule)`` to one ``Case``, a list of them (object-level cases: "A's own
token" and "B's token" are two cases of one route), or just a shorthand string. A case says,
per role, what status the request gets:

- a shorthand (``ACCESS``): ``"public"``, ``"user"``, ``"instructor"``, ``"staff"``, ``"admin"``;
  the roles it lets in get the case's ``ok`` status, the others ``LOGIN`` or 403;
- or a dict ``role -> status | set of statuses | LOGIN`` naming all five roles.

``LOGIN`` is how anonymous visitors are refused: a GET of an HTML page redirects to the login
page, anything else (API, HTML POST) answers 401.

The matrix runs twice, the second time with Stripe and Jitsi configured; ``configured`` holds
a case's per-role outcome there when it differs (the Stripe webhook: 404 while Stripe is off,
400 for an unsigned delivery once it is on). Object-level cases name B's objects in
``foreign`` (``ids``, ``course_code``, ``booked_course``...): a refused role's answer must
hold none of them, nor the victim's name, e-mail address or street.

HTML POSTs are sent with a valid CSRF token and API calls with the role's Bearer token, so the
matrix tests authorisation, not CSRF. Each (route, case, role) runs as its own test in its own
rolled-back transaction, so destructive requests (log out, delete account) harm nothing.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from courses.certificates import services as certificate_services
from courses.models import Course, Enrolment, Session
from courses.webinars.join import room_for
from media.files.storage import cover_key, file_key, get_storage
from media.ingest.covers import make_cover
from media.models import FileFormat, MediaFile, MediaItem, MediaKind
from tests.media.imports import samples as import_samples
from tests.media.ingest import samples as media_samples
from vhs.accounts.models import ApiToken, Role, User
from vhs.db import db
from vhs.payments.models import Payment
from vhs.uow import unit_of_work

ROLES: tuple[str, ...] = ("anonymous", "resident", "instructor", "staff", "admin")
SIGNED_IN: tuple[str, ...] = ROLES[1:]

LOGIN = "login"
OK = "ok"

Outcome = int | Collection[int] | str

# Shorthand -> per-role outcome; ``OK`` stands for the case's ``ok`` status.
ACCESS: dict[str, dict[str, Outcome]] = {
    "public": dict.fromkeys(ROLES, OK),
    "user": {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN, OK)},
    "instructor": {
        "anonymous": LOGIN,
        "resident": 403,
        "instructor": OK,
        "staff": OK,
        "admin": OK,
    },
    "staff": {"anonymous": LOGIN, "resident": 403, "instructor": 403, "staff": OK, "admin": OK},
    "admin": {"anonymous": LOGIN, "resident": 403, "instructor": 403, "staff": 403, "admin": OK},
}


class Objects:
    """What one matrix request refers to; each named object is built on first use.

    ``user`` is the acting account (None for anonymous), ``victim`` another resident with
    data of their own (name, address, a token), ``account`` the account the request is about:
    the acting user, or the victim for anonymous requests. Further objects (``own_token_id``,
    ``reset_token``, later ``course_id``...) come from ``BUILDERS`` by attribute access.
    """

    def __init__(
        self,
        app: Flask,
        role: str,
        user: User | None,
        victim: User,
        password: str,
        configured: bool = False,
    ):
        self.app = app
        self.role = role
        self.user = user
        self.victim = victim
        self.account = user or victim
        self.password = password
        self.configured = configured  # Stripe and Jitsi are configured

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in BUILDERS:
            raise AttributeError(f"no builder for {name!r}: add one to BUILDERS")
        with self.app.app_context(), unit_of_work():
            value = BUILDERS[name](self)
        setattr(self, name, value)
        return value


Builder = Callable[[Objects], Any]
BUILDERS: dict[str, Builder] = {}


def builds(name: str) -> Callable[[Builder], Builder]:
    """Register how to make the object ``Objects.<name>`` (runs in an app context)."""

    def register(func: Builder) -> Builder:
        BUILDERS[name] = func
        return func

    return register


PathSpec = str | Callable[[Objects], str]
DataSpec = Mapping[str, Any] | Callable[[Objects], Mapping[str, Any]]


@dataclass(frozen=True)
class Case:
    """One request to a route, and the status each role gets for it."""

    access: str | Mapping[str, Outcome]
    ok: int | Collection[int] = 200
    path: PathSpec | None = None  # the concrete URL; defaults to the rule (no parameters)
    data: DataSpec | None = None  # form fields (HTML) or JSON body (API)
    query: DataSpec | None = None
    note: str = ""
    # Extra assertions on a response that got the ``ok`` status (object-level checks).
    check: Callable[[Any, Objects], None] | None = None
    # Request headers, or a builder of them (a reading app's Basic header is the role's own).
    headers: Mapping[str, str] | Callable[[Objects], Mapping[str, str]] = field(
        default_factory=dict
    )
    # Object-level cases (A asks for B's object): what only B, or only staff, may learn; ids
    # and texts (course codes, titles). A role refused by ``access`` gets a body that holds
    # none of them, nor the victim's name, e-mail address or street (``Objects.foreign``).
    foreign: Callable[[Objects], Collection[int | str]] | None = None
    # The per-role outcome with Stripe and Jitsi configured, where it differs from ``access``.
    configured: str | Mapping[str, Outcome] | None = None

    def outcome(self, role: str, configured: bool = False) -> Outcome:
        """What ``role`` gets: a status, a set of statuses, or ``LOGIN``."""
        access = self.configured if configured and self.configured is not None else self.access
        table = ACCESS[access] if isinstance(access, str) else access
        outcome = table[role]
        return self.ok if outcome == OK else outcome

    def refuses(self, role: str) -> bool:
        """Whether ``role`` is refused (sent to log in, 403, 404...) rather than served."""
        outcome = self.outcome(role)
        if outcome == LOGIN:
            return True
        statuses = {outcome} if isinstance(outcome, int) else set(outcome)
        return all(400 <= status < 500 for status in statuses)


Entry = str | Case | list[Case]


# --- what belongs to someone else (object-level cases) ---------------------------------------

Foreign = Callable[[Objects], list[int | str]]


def foreign(*parts: Foreign) -> Foreign:
    """B's fingerprint for ``Case.foreign``: the parts' ids and texts, one list."""
    return lambda o: [item for part in parts for item in part(o)]


def ids(*attrs: str) -> Foreign:
    """The ids ``Objects.<attr>`` (the victim's objects, or a draft's)."""
    return lambda o: [getattr(o, attr) for attr in attrs]


def course_code(attr: str) -> Foreign:
    """The code of the course ``Objects.<attr>`` (a draft only staff may see)."""
    return lambda o: [db.session.get(Course, getattr(o, attr)).code]


def booked_course(attr: str) -> Foreign:
    """Which course the booking ``Objects.<attr>`` is for: its id and code."""

    def parts(o: Objects) -> list[int | str]:
        course = db.session.get(Enrolment, getattr(o, attr)).course
        return [course.id, course.code]

    return parts


def paid_for(attr: str) -> Foreign:
    """What the payment ``Objects.<attr>`` is for (its text names the course) and its purpose."""

    def parts(o: Objects) -> list[int | str]:
        payment = db.session.get(Payment, getattr(o, attr))
        return [payment.description, payment.purpose_id]

    return parts


def token_prefix(attr: str) -> Foreign:
    """The visible prefix of the API token ``Objects.<attr>``."""
    return lambda o: [db.session.get(ApiToken, getattr(o, attr)).prefix]


def room_of(attr: str) -> Foreign:
    """The Jitsi room of the session ``Objects.<attr>`` (whoever knows it can walk in)."""
    return lambda o: [db.session.get(Session, getattr(o, attr)).jitsi_room]


# --- builders for objects that URLs point at -------------------------------------------------


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    assert user is not None
    return user


def _token_id(user_id: int, name: str) -> int:
    from vhs.accounts.services import create_api_token

    token, _plaintext = create_api_token(_user(user_id), name)
    return token.id


@builds("own_token_id")
def _own_token_id(o: Objects) -> int:
    return _token_id(o.account.id, "own")


@builds("victim_token_id")
def _victim_token_id(o: Objects) -> int:
    token = db.session.execute(
        db.select(ApiToken).where(ApiToken.user_id == o.victim.id).limit(1)
    ).scalar_one_or_none()
    return token.id if token is not None else _token_id(o.victim.id, "victim")


@builds("verify_token")
def _verify_token(o: Objects) -> str:
    from vhs.accounts.services import make_token

    user = _user(o.account.id)
    return make_token("verify", user, email=user.email)


@builds("reset_token")
def _reset_token(o: Objects) -> str:
    from vhs.accounts.services import make_token

    return make_token("reset", _user(o.account.id))


@builds("email_change_token")
def _email_change_token(o: Objects) -> str:
    from vhs.accounts.services import make_token

    return make_token("email_change", _user(o.account.id), new_email=f"neu-{o.role}@example.org")


@builds("grantee_id")
def _grantee_id(o: Objects) -> int:
    """A fresh resident whose role an administrator changes."""
    user = User(
        email=f"grantee-{o.role}@example.org",
        name="Gerda Grant",
        role=Role.RESIDENT,
        password_hash=None,
        locale="de",
        session_token="grantee",
    )
    db.session.add(user)
    db.session.flush()
    return user.id


# --- object-level checks ---------------------------------------------------------------------


def only_own_data(resp: Any, o: Objects) -> None:
    """A data export names the acting account and nobody else."""
    body = resp.get_data(as_text=True)
    assert o.account.email in body, "the export lacks the account's own e-mail address"
    assert o.victim.email not in body, "the export leaks another account's e-mail address"
    assert o.victim.name not in body, "the export leaks another account's name"
    assert o.victim.street not in body, "the export leaks another account's address"


def only_own_tokens(resp: Any, o: Objects) -> None:
    """A token list holds the acting account's tokens only."""
    ids = {t["id"] for t in resp.get_json()}
    assert o.victim_token_id not in ids, "another account's token is listed"


def refused_as_unsigned(configured: str, *, unconfigured: str) -> Callable[[Any, Objects], None]:
    """A webhook refusal names its reason: the signature once the service is configured."""

    def check(resp: Any, o: Objects) -> None:
        reason = configured if o.configured else unconfigured
        assert reason in resp.get_data(as_text=True), f"expected a refusal for {reason!r}"

    return check


def is_me(resp: Any, o: Objects) -> None:
    """``/api/v1/me`` is the caller."""
    assert resp.get_json()["id"] == o.account.id


# --- the expectations ------------------------------------------------------------------------

EXPECTATIONS: dict[tuple[str, str], Entry] = {
    # core pages
    ("GET", "/"): "public",
    ("GET", "/privacy"): "public",
    ("GET", "/healthz"): "public",
    ("GET", "/readyz"): "public",
    ("POST", "/language"): Case("public", ok=302, data={"lang": "en", "next": "/privacy"}),
    # accounts: anonymous flows (open to everyone; a signed-in visitor may use them too)
    ("GET", "/account/register"): "public",
    ("POST", "/account/register"): Case(
        "public",
        ok=302,
        data=lambda o: {
            "name": "Neu Angemeldet",
            "email": f"neu-{o.role}@example.org",
            "password": "ein-langes-passwort",
            "password_confirm": "ein-langes-passwort",
            "accept_privacy": "y",
        },
    ),
    ("GET", "/account/login"): "public",
    ("POST", "/account/login"): Case(
        "public", ok=302, data=lambda o: {"email": o.account.email, "password": o.password}
    ),
    ("POST", "/account/logout"): Case("public", ok=302),
    ("GET", "/account/forgot"): "public",
    ("POST", "/account/forgot"): Case("public", ok=302, data=lambda o: {"email": o.account.email}),
    ("GET", "/account/reset/<token>"): Case(
        "public", path=lambda o: f"/account/reset/{o.reset_token}"
    ),
    ("POST", "/account/reset/<token>"): Case(
        "public",
        ok=302,
        path=lambda o: f"/account/reset/{o.reset_token}",
        data={"password": "ganz-neues-passwort", "password_confirm": "ganz-neues-passwort"},
    ),
    ("GET", "/account/verify/<token>"): Case(
        "public", ok=302, path=lambda o: f"/account/verify/{o.verify_token}"
    ),
    ("GET", "/account/email/confirm/<token>"): Case(
        "public", ok=302, path=lambda o: f"/account/email/confirm/{o.email_change_token}"
    ),
    # accounts: the signed-in person's own pages
    ("GET", "/account"): "user",
    ("POST", "/account"): Case("user", ok=302, data={"name": "Neuer Name", "locale": "de"}),
    ("POST", "/account/verify/resend"): Case("user", ok=302),
    ("POST", "/account/password"): Case(
        "user",
        ok=302,
        data=lambda o: {"current_password": o.password, "new_password": "ganz-neues-passwort"},
    ),
    ("POST", "/account/email"): Case(
        "user",
        ok=302,
        data=lambda o: {"new_email": f"anders-{o.role}@example.org", "password": o.password},
    ),
    ("POST", "/account/tokens"): Case("user", ok=201, data={"token_name": "Skript"}),
    ("POST", "/account/tokens/<int:token_id>/revoke"): [
        Case("user", ok=302, path=lambda o: f"/account/tokens/{o.own_token_id}/revoke"),
        Case(
            {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN, 404)},
            path=lambda o: f"/account/tokens/{o.victim_token_id}/revoke",
            note="someone else's token",
            foreign=foreign(ids("victim_token_id"), token_prefix("victim_token_id")),
        ),
    ],
    ("GET", "/account/export"): Case("user", check=only_own_data),
    ("GET", "/account/delete"): "user",
    ("POST", "/account/delete"): Case(
        # The last administrator cannot erase their account (409).
        {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN[:-1], 302), "admin": {302, 409}},
        data=lambda o: {"password": o.password, "confirm": "y"},
    ),
    # administration
    ("GET", "/admin/users"): "admin",
    ("POST", "/admin/users/<int:user_id>/role"): [
        Case(
            "admin",
            ok=302,
            path=lambda o: f"/admin/users/{o.grantee_id}/role",
            data={"role": "instructor"},
        ),
    ],
    # API: the caller's own account
    ("GET", "/api/v1/openapi.json"): "public",
    ("GET", "/api/v1/me"): Case("user", check=is_me),
    ("PATCH", "/api/v1/me"): Case("user", data={"name": "Per API"}, check=is_me),
    ("GET", "/api/v1/me/tokens"): Case("user", check=only_own_tokens),
    ("POST", "/api/v1/me/tokens"): Case("user", ok=201, data={"name": "Skript"}),
    ("DELETE", "/api/v1/me/tokens/<int:token_id>"): [
        Case("user", ok=204, path=lambda o: f"/api/v1/me/tokens/{o.own_token_id}"),
        Case(
            {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN, 404)},
            path=lambda o: f"/api/v1/me/tokens/{o.victim_token_id}",
            note="someone else's token",
            foreign=foreign(ids("victim_token_id"), token_prefix("victim_token_id")),
        ),
    ],
    ("GET", "/api/v1/me/export"): Case("user", check=only_own_data),
    # API: staff and administrators
    ("GET", "/api/v1/users"): Case("staff", query={"q": "example"}),
    ("PUT", "/api/v1/users/<int:user_id>/role"): [
        Case(
            "admin",
            path=lambda o: f"/api/v1/users/{o.grantee_id}/role",
            data={"role": "instructor"},
        ),
        Case(
            {**ACCESS["admin"], "admin": 409},
            path=lambda o: f"/api/v1/users/{o.account.id}/role",
            data={"role": "resident"},
            note="one's own role",
        ),
    ],
}


# --- staff pages (/staff: courses/staff_views.py) --------------------------------------------
# Staff and administrators get the page (200) or the write's redirect (302) with data that
# works; residents and instructors 403; anonymous visitors the login page (GET) or 401 (POST).


def _staff_course(published: bool = True, **kw: Any) -> Any:
    from courses.models import CourseStatus
    from tests.courses import factories

    status = CourseStatus.PUBLISHED if published else CourseStatus.DRAFT
    return factories.new_course(status=status, **kw)


@builds("staff_term_id")
def _staff_term_id(o: Objects) -> int:
    from tests.courses import factories

    return factories.new_term(name=f"Matrix {o.role}").id


@builds("staff_category_id")
def _staff_category_id(o: Objects) -> int:
    from tests.courses import factories

    return factories.new_category().id


@builds("staff_course_id")
def _staff_course_id(o: Objects) -> int:
    """A published course with sessions, one booking, and a sister course in the same term."""
    return _staff_course(True).id


@builds("staff_draft_course_id")
def _staff_draft_course_id(o: Objects) -> int:
    return _staff_course(False, sessions=2).id


@builds("staff_session_id")
def _staff_session_id(o: Objects) -> int:
    from courses.models import Course

    course = db.session.get(Course, o.staff_course_id)
    return course.sessions[0].id


@builds("staff_enrolment_id")
def _staff_enrolment_id(o: Objects) -> int:
    from tests.courses import factories

    return factories.new_enrolment(o.staff_course_id).id


@builds("staff_move_target_code")
def _staff_move_target_code(o: Objects) -> str:
    from courses.models import Course

    course = db.session.get(Course, o.staff_course_id)
    return _staff_course(True, term=course.term_id).code


def _staff_course_form(o: Objects) -> dict[str, Any]:
    return {
        "term_id": str(o.staff_term_id),
        "category_id": str(o.staff_category_id),
        "code": f"999-{o.role[:3]}",
        "title": "Matrixkurs",
        "language": "de",
        "format": "in_person",
        "fee_cents": "79,50",
        "capacity": "12",
        "min_participants": "1",
        "cancellation_days": "7",
    }


_STAFF_TERM_FORM = {
    "name": "Herbst 2027",
    "starts_on": "2027-09-01",
    "ends_on": "2028-01-31",
    "enrolment_opens_at": "2027-06-01T08:00",
    "status": "draft",
}
_STAFF_SESSION_FORM = {"day": "2027-03-30", "start": "18:00", "end": "19:30"}


def _staff_category_form(o: Objects) -> dict[str, Any]:
    return {
        "name_de": "Matrix",
        "name_en": "Matrix",
        "slug": f"matrix-{o.role}",
        "parent_id": "",
        "position": "0",
    }


def _course_path(suffix: str, attr: str = "staff_course_id") -> PathSpec:
    return lambda o: f"/staff/courses/{getattr(o, attr)}{suffix}"


EXPECTATIONS.update(
    {
        ("GET", "/staff"): "staff",
        ("GET", "/staff/terms"): "staff",
        ("POST", "/staff/terms"): Case("staff", ok=302, data=_STAFF_TERM_FORM),
        ("GET", "/staff/terms/<int:term_id>/edit"): Case(
            "staff", path=lambda o: f"/staff/terms/{o.staff_term_id}/edit"
        ),
        ("POST", "/staff/terms/<int:term_id>/edit"): Case(
            "staff",
            ok=302,
            path=lambda o: f"/staff/terms/{o.staff_term_id}/edit",
            data=_STAFF_TERM_FORM,
        ),
        ("GET", "/staff/categories"): "staff",
        ("POST", "/staff/categories"): Case("staff", ok=302, data=_staff_category_form),
        ("GET", "/staff/categories/<int:category_id>/edit"): Case(
            "staff", path=lambda o: f"/staff/categories/{o.staff_category_id}/edit"
        ),
        ("POST", "/staff/categories/<int:category_id>/edit"): Case(
            "staff",
            ok=302,
            path=lambda o: f"/staff/categories/{o.staff_category_id}/edit",
            data=_staff_category_form,
        ),
        ("GET", "/staff/courses"): Case("staff", query={"q": "271", "status": "published"}),
        ("GET", "/staff/courses/new"): "staff",
        ("POST", "/staff/courses/new"): Case("staff", ok=302, data=_staff_course_form),
        ("GET", "/staff/courses/<int:course_id>/edit"): Case("staff", path=_course_path("/edit")),
        ("POST", "/staff/courses/<int:course_id>/edit"): Case(
            "staff", ok=302, path=_course_path("/edit"), data=_staff_course_form
        ),
        ("POST", "/staff/courses/<int:course_id>/publish"): Case(
            "staff", ok=302, path=_course_path("/publish", "staff_draft_course_id")
        ),
        ("POST", "/staff/courses/<int:course_id>/complete"): Case(
            "staff", ok=302, path=_course_path("/complete")
        ),
        ("GET", "/staff/courses/<int:course_id>/cancel"): Case(
            "staff", path=_course_path("/cancel")
        ),
        ("POST", "/staff/courses/<int:course_id>/cancel"): Case(
            "staff", ok=302, path=_course_path("/cancel"), data={"reason": "Krankheit"}
        ),
        ("POST", "/staff/courses/<int:course_id>/copy"): Case(
            "staff",
            ok=302,
            path=_course_path("/copy"),
            data=lambda o: {"copy-term_id": str(o.staff_term_id)},
        ),
        ("GET", "/staff/courses/<int:course_id>/sessions"): Case(
            "staff", path=_course_path("/sessions")
        ),
        ("POST", "/staff/courses/<int:course_id>/sessions"): Case(
            "staff",
            ok=302,
            path=_course_path("/sessions"),
            data={f"one-{k}": v for k, v in _STAFF_SESSION_FORM.items()},
        ),
        ("POST", "/staff/courses/<int:course_id>/sessions/generate"): Case(
            "staff",
            ok=302,
            path=_course_path("/sessions/generate"),
            data={
                "gen-weekday": "2",
                "gen-start": "18:00",
                "gen-end": "19:30",
                "gen-count": "3",
                "gen-first_date": "2027-02-02",
                "gen-interval_weeks": "1",
            },
        ),
        ("GET", "/staff/sessions/<int:session_id>/edit"): Case(
            "staff", path=lambda o: f"/staff/sessions/{o.staff_session_id}/edit"
        ),
        ("POST", "/staff/sessions/<int:session_id>/edit"): Case(
            "staff",
            ok=302,
            path=lambda o: f"/staff/sessions/{o.staff_session_id}/edit",
            data=_STAFF_SESSION_FORM,
        ),
        ("POST", "/staff/sessions/<int:session_id>/cancel"): Case(
            "staff",
            ok=302,
            path=lambda o: f"/staff/sessions/{o.staff_session_id}/cancel",
            data={"cancel-reason": "Raum belegt"},
        ),
        ("GET", "/staff/courses/<int:course_id>/enrolments"): Case(
            "staff", path=_course_path("/enrolments")
        ),
        ("POST", "/staff/courses/<int:course_id>/enrolments"): Case(
            "staff",
            ok=302,
            path=_course_path("/enrolments"),
            data=lambda o: {"book-email": o.victim.email, "book-reduction_reason": ""},
        ),
        ("POST", "/staff/enrolments/<int:enrolment_id>/cancel"): Case(
            "staff", ok=302, path=lambda o: f"/staff/enrolments/{o.staff_enrolment_id}/cancel"
        ),
        ("GET", "/staff/enrolments/<int:enrolment_id>/move"): Case(
            "staff", path=lambda o: f"/staff/enrolments/{o.staff_enrolment_id}/move"
        ),
        ("POST", "/staff/enrolments/<int:enrolment_id>/move"): [
            Case(
                "staff",
                path=lambda o: f"/staff/enrolments/{o.staff_enrolment_id}/move",
                data=lambda o: {"course_id": o.staff_move_target_code},
                note="first step: what happens to the money",
            ),
            Case(
                "staff",
                ok=302,
                path=lambda o: f"/staff/enrolments/{o.staff_enrolment_id}/move",
                data=lambda o: {"course_id": o.staff_move_target_code, "confirmed": "y"},
                note="confirmed",
            ),
        ],
        ("GET", "/staff/reports/below-minimum"): Case("staff", query={"days": "30"}),
    }
)


# --- resident pages (courses/views.py) and instructors' pages (courses/teaching_views.py) -----
# Object-level cases: a draft is invisible to everyone but staff; one's own booking can be
# cancelled, someone else's is "not found" (staff may cancel any); instructor A never sees
# instructor B's participants, while staff see every course's.


@builds("published_course_id")
def _published_course_id(o: Objects) -> int:
    """A free, published course with places, taught by nobody in the matrix."""
    from tests.courses import factories

    return factories.new_course(title="Matrix-Kurs").id


@builds("draft_course_id")
def _draft_course_id(o: Objects) -> int:
    from tests.courses import factories

    return factories.new_course(status="draft", title="Matrix-Entwurf").id


def _taught_course(instructor_id: int, victim_id: int) -> int:
    """A course taught by ``instructor_id`` on which the victim holds a seat."""
    from tests.courses import factories

    course = factories.new_course(instructors=[instructor_id], title="Matrix-Unterricht")
    factories.new_enrolment(course, victim_id)
    return course.id


@builds("taught_course_id")
def _taught_course_id(o: Objects) -> int:
    """A course the acting instructor, staff member or admin teaches (residents cannot)."""
    from tests.courses import factories

    teaches = o.user is not None and o.role in ("instructor", "staff", "admin")
    instructor_id = o.user.id if teaches else factories.new_user("instructor").id
    return _taught_course(instructor_id, o.victim.id)


@builds("others_course_id")
def _others_course_id(o: Objects) -> int:
    """A course taught by another instructor (instructor B)."""
    from tests.courses import factories

    return _taught_course(factories.new_user("instructor", name="Ines Andere").id, o.victim.id)


@builds("own_enrolment_id")
def _own_enrolment_id(o: Objects) -> int:
    from tests.courses import factories

    return factories.new_enrolment(factories.new_course(), o.account.id).id


@builds("victim_enrolment_id")
def _victim_enrolment_id(o: Objects) -> int:
    from tests.courses import factories

    course = factories.new_course(title="Bernds Fremdkurs")
    return factories.new_enrolment(course, o.victim.id).id


def shows_participants(resp: Any, o: Objects) -> None:
    """A participant list (page or CSV) names the course's participants."""
    assert o.victim.email in resp.get_data(as_text=True), "the participant is missing"


def only_own_bookings(resp: Any, o: Objects) -> None:
    """ "Meine Kurse" lists the acting account's bookings and nobody else's."""
    assert "Bernds Fremdkurs" not in resp.get_data(as_text=True), "another person's booking"


def _my_courses_path(o: Objects) -> str:
    o.victim_enrolment_id  # the victim has a booking that must not show up
    return "/me/courses"


def _teaching_path(attr: str, suffix: str = "") -> PathSpec:
    return lambda o: f"/teaching/courses/{getattr(o, attr)}{suffix}"


_NOT_FOUND_BUT_STAFF: dict[str, Outcome] = {
    "anonymous": 404,
    "resident": 404,
    "instructor": 404,
    "staff": OK,
    "admin": OK,
}
# Instructor B asking for instructor A's course: refused (403, code not_instructor).
_OTHERS_COURSE: dict[str, Outcome] = {**ACCESS["instructor"], "instructor": 403}
_MESSAGE = {"subject": "Raumänderung", "body": "Wir treffen uns in Raum 2.04."}

EXPECTATIONS.update(
    {
        ("GET", "/courses"): Case("public", query={"q": "Englisch", "max_price": "50,00"}),
        ("GET", "/courses/<int:course_id>"): [
            Case("public", path=lambda o: f"/courses/{o.published_course_id}"),
            Case(
                _NOT_FOUND_BUT_STAFF,
                path=lambda o: f"/courses/{o.draft_course_id}",
                note="a draft",
                foreign=course_code("draft_course_id"),
            ),
        ],
        ("POST", "/courses/<int:course_id>/enrol"): [
            Case("user", ok=302, path=lambda o: f"/courses/{o.published_course_id}/enrol"),
            Case(
                {
                    "anonymous": LOGIN,
                    "resident": 302,
                    "instructor": 409,
                    "staff": 409,
                    "admin": 409,
                },
                path=lambda o: f"/courses/{o.taught_course_id}/enrol",
                note="one's own course",
            ),
            Case(
                {
                    "anonymous": LOGIN,
                    "resident": 404,
                    "instructor": 404,
                    "staff": 409,
                    "admin": 409,
                },
                path=lambda o: f"/courses/{o.draft_course_id}/enrol",
                note="a draft",
                foreign=course_code("draft_course_id"),
            ),
        ],
        ("POST", "/enrolments/<int:enrolment_id>/cancel"): [
            Case("user", ok=302, path=lambda o: f"/enrolments/{o.own_enrolment_id}/cancel"),
            Case(
                {
                    "anonymous": LOGIN,
                    "resident": 404,
                    "instructor": 404,
                    "staff": 302,
                    "admin": 302,
                },
                path=lambda o: f"/enrolments/{o.victim_enrolment_id}/cancel",
                note="someone else's booking",
                foreign=booked_course("victim_enrolment_id"),
            ),
        ],
        ("GET", "/me/courses"): Case("user", path=_my_courses_path, check=only_own_bookings),
        ("GET", "/teaching"): "instructor",
        ("GET", "/teaching/courses/<int:course_id>"): [
            Case("instructor", path=_teaching_path("taught_course_id"), check=shows_participants),
            Case(
                _OTHERS_COURSE,
                path=_teaching_path("others_course_id"),
                check=shows_participants,
                note="another instructor's course",
                foreign=foreign(),
            ),
        ],
        ("GET", "/teaching/courses/<int:course_id>/participants.csv"): [
            Case(
                "instructor",
                path=_teaching_path("taught_course_id", "/participants.csv"),
                check=shows_participants,
            ),
            Case(
                _OTHERS_COURSE,
                path=_teaching_path("others_course_id", "/participants.csv"),
                check=shows_participants,
                note="another instructor's course",
                foreign=foreign(),
            ),
        ],
        ("POST", "/teaching/courses/<int:course_id>/message"): [
            Case(
                "instructor",
                ok=302,
                path=_teaching_path("taught_course_id", "/message"),
                data=_MESSAGE,
            ),
            Case(
                _OTHERS_COURSE,
                ok=302,
                path=_teaching_path("others_course_id", "/message"),
                data=_MESSAGE,
                note="another instructor's course",
                foreign=foreign(),
            ),
        ],
    }
)


# --- course API, paying for bookings, payments (courses/api.py, courses/payment_views.py,
# vhs/payments) -----------------------------------------------------------------------------


def _factories() -> Any:
    from tests.courses import factories

    return factories


def _pending_enrolment_for(user_id: int) -> int:
    f = _factories()
    course = f.new_course(capacity=50, fee_cents=5000)
    return f.new_enrolment(course, user_id).id


@builds("api_course_id")
def _api_course_id(o: Objects) -> int:
    return _factories().new_course(capacity=50).id


@builds("api_draft_course_id")
def _api_draft_course_id(o: Objects) -> int:
    from courses.models import CourseStatus

    return _factories().new_course(status=CourseStatus.DRAFT).id


@builds("own_taught_course_id")
def _own_taught_course_id(o: Objects) -> int:
    """A course the acting account teaches (instructors, staff, admins)."""
    return _factories().new_course(instructors=[o.account.id]).id


@builds("own_pending_enrolment_id")
def _own_pending_enrolment_id(o: Objects) -> int:
    return _pending_enrolment_for(o.account.id)


@builds("victim_pending_enrolment_id")
def _victim_pending_enrolment_id(o: Objects) -> int:
    return _pending_enrolment_for(o.victim.id)


def _manual_payment_for(enrolment_id: int) -> int:
    from courses.enrolment.payments import pay_enrolment
    from courses.models import Enrolment
    from vhs.payments.models import Provider

    enrolment = db.session.get(Enrolment, enrolment_id)
    return pay_enrolment(enrolment, enrolment.user, Provider.MANUAL).id


@builds("own_payment_id")
def _own_payment_id(o: Objects) -> int:
    return _manual_payment_for(o.own_pending_enrolment_id)


@builds("victim_payment_id")
def _victim_payment_id(o: Objects) -> int:
    return _manual_payment_for(o.victim_pending_enrolment_id)


@builds("paid_payment_id")
def _paid_payment_id(o: Objects) -> int:
    """A manual payment already received (so it can be refunded)."""
    from vhs.payments import services as payments
    from vhs.payments.models import Payment

    payment = db.session.get(Payment, _manual_payment_for(o.victim_pending_enrolment_id))
    admin = _factories().new_user(Role.STAFF)
    payments.mark_paid_manually(payment, admin)
    return payment.id


@builds("api_session_id")
def _api_session_id(o: Objects) -> int:
    from courses.models import Course

    return db.session.get(Course, o.api_course_id).sessions[0].id


@builds("api_category_id")
def _api_category_id(o: Objects) -> int:
    return _factories().new_category().id


@builds("api_other_term_id")
def _api_other_term_id(o: Objects) -> int:
    return _factories().new_term(name=f"Herbst {o.role}").id


def _own_or_staff(ok: int) -> dict[str, Outcome]:
    """Someone else's object: invisible (404) except to staff."""
    return {"anonymous": LOGIN, "resident": 404, "instructor": 404, "staff": ok, "admin": ok}


_NOT_OWN = {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN, 404)}
_TEACHES = {"anonymous": LOGIN, "resident": 403, "instructor": 403, "staff": 200, "admin": 200}


def _not_listed(key: str) -> Callable[[Any, Objects], None]:
    def check(resp: Any, o: Objects) -> None:
        ids = {item["id"] for item in resp.get_json()}
        assert getattr(o, key) not in ids, "someone else's item is listed"

    return check


EXPECTATIONS.update(
    {
        # course API: catalogue and bookings
        ("GET", "/api/v1/courses"): Case("public", query={"q": "englisch"}),
        ("GET", "/api/v1/courses/<int:course_id>"): [
            Case("public", path=lambda o: f"/api/v1/courses/{o.api_course_id}"),
            Case(
                {"anonymous": 404, "resident": 404, "instructor": 404, "staff": 200, "admin": 200},
                path=lambda o: f"/api/v1/courses/{o.api_draft_course_id}",
                note="a draft is invisible to the public",
                foreign=course_code("api_draft_course_id"),
            ),
        ],
        ("POST", "/api/v1/courses/<int:course_id>/enrolments"): Case(
            "user", ok=201, path=lambda o: f"/api/v1/courses/{o.api_course_id}/enrolments", data={}
        ),
        ("GET", "/api/v1/courses/<int:course_id>/enrolments"): [
            Case(
                _TEACHES,
                path=lambda o: f"/api/v1/courses/{o.api_course_id}/enrolments",
                note="a course the caller does not teach",
                foreign=foreign(),
            ),
            Case(
                "user",
                path=lambda o: f"/api/v1/courses/{o.own_taught_course_id}/enrolments",
                note="the caller's own course",
            ),
        ],
        ("POST", "/api/v1/courses/<int:course_id>/messages"): [
            Case(
                {**_TEACHES, "staff": 201, "admin": 201},
                path=lambda o: f"/api/v1/courses/{o.api_course_id}/messages",
                data={"subject": "Hallo", "body": "Text"},
            ),
            Case(
                "user",
                ok=201,
                path=lambda o: f"/api/v1/courses/{o.own_taught_course_id}/messages",
                data={"subject": "Hallo", "body": "Text"},
            ),
        ],
        ("GET", "/api/v1/me/enrolments"): Case(
            "user", check=_not_listed("victim_pending_enrolment_id")
        ),
        ("GET", "/api/v1/enrolments/<int:enrolment_id>"): [
            Case("user", path=lambda o: f"/api/v1/enrolments/{o.own_pending_enrolment_id}"),
            Case(
                _own_or_staff(200),
                path=lambda o: f"/api/v1/enrolments/{o.victim_pending_enrolment_id}",
                note="someone else's booking",
                foreign=booked_course("victim_pending_enrolment_id"),
            ),
        ],
        ("DELETE", "/api/v1/enrolments/<int:enrolment_id>"): [
            Case("user", path=lambda o: f"/api/v1/enrolments/{o.own_pending_enrolment_id}"),
            Case(
                _own_or_staff(200),
                path=lambda o: f"/api/v1/enrolments/{o.victim_pending_enrolment_id}",
                note="someone else's booking",
                foreign=booked_course("victim_pending_enrolment_id"),
            ),
        ],
        ("POST", "/api/v1/enrolments/<int:enrolment_id>/payment"): [
            Case(
                "user",
                ok=201,
                path=lambda o: f"/api/v1/enrolments/{o.own_pending_enrolment_id}/payment",
                data={"provider": "manual"},
            ),
            Case(
                _own_or_staff(201),
                path=lambda o: f"/api/v1/enrolments/{o.victim_pending_enrolment_id}/payment",
                data={"provider": "manual"},
                note="someone else's booking",
                foreign=booked_course("victim_pending_enrolment_id"),
            ),
        ],
        ("POST", "/api/v1/enrolments/<int:enrolment_id>/move"): Case(
            "staff",
            ok=201,
            path=lambda o: f"/api/v1/enrolments/{o.victim_pending_enrolment_id}/move",
            data=lambda o: {"course_id": o.api_course_id},
        ),
        # course API: planning (staff)
        ("GET", "/api/v1/terms"): "public",
        ("POST", "/api/v1/terms"): Case(
            "staff",
            ok=201,
            data={
                "name": "Herbst 2027",
                "starts_on": "2027-08-30",
                "ends_on": "2027-12-18",
                "enrolment_opens_at": "2027-06-01T08:00:00+02:00",
            },
        ),
        ("PATCH", "/api/v1/terms/<int:term_id>"): Case(
            "staff", path=lambda o: f"/api/v1/terms/{o.api_other_term_id}", data={"name": "Neu"}
        ),
        ("GET", "/api/v1/categories"): "public",
        ("POST", "/api/v1/categories"): Case(
            "staff",
            ok=201,
            data=lambda o: {"slug": f"neu-{o.role}", "name_de": "Neu", "name_en": "New"},
        ),
        ("POST", "/api/v1/staff/courses"): Case(
            "staff",
            ok=201,
            data=lambda o: {
                "term_id": o.api_other_term_id,
                "category_id": o.api_category_id,
                "code": "999-001",
                "title": "Neu",
                "capacity": 10,
            },
        ),
        ("GET", "/api/v1/staff/courses/<int:course_id>"): Case(
            "staff", path=lambda o: f"/api/v1/staff/courses/{o.api_draft_course_id}"
        ),
        ("PATCH", "/api/v1/staff/courses/<int:course_id>"): Case(
            "staff",
            path=lambda o: f"/api/v1/staff/courses/{o.api_draft_course_id}",
            data={"title": "Geändert"},
        ),
        ("POST", "/api/v1/staff/courses/<int:course_id>/publish"): Case(
            "staff", path=lambda o: f"/api/v1/staff/courses/{o.api_draft_course_id}/publish"
        ),
        ("POST", "/api/v1/staff/courses/<int:course_id>/cancel"): Case(
            "staff",
            path=lambda o: f"/api/v1/staff/courses/{o.api_course_id}/cancel",
            data={"reason": "Krank"},
        ),
        ("POST", "/api/v1/staff/courses/<int:course_id>/copy"): Case(
            "staff",
            ok=201,
            path=lambda o: f"/api/v1/staff/courses/{o.api_course_id}/copy",
            data=lambda o: {"term_id": o.api_other_term_id},
        ),
        ("POST", "/api/v1/staff/courses/<int:course_id>/sessions"): Case(
            "staff",
            ok=201,
            path=lambda o: f"/api/v1/staff/courses/{o.api_draft_course_id}/sessions",
            data={"starts_at": "2027-03-02T18:00:00+01:00", "ends_at": "2027-03-02T19:30:00+01:00"},
        ),
        ("POST", "/api/v1/staff/courses/<int:course_id>/sessions/generate"): Case(
            "staff",
            ok=201,
            path=lambda o: f"/api/v1/staff/courses/{o.api_draft_course_id}/sessions/generate",
            data={
                "first_date": "2027-03-02",
                "weekday": 2,
                "start": "18:00",
                "end": "19:30",
                "count": 2,
            },
        ),
        ("PATCH", "/api/v1/staff/sessions/<int:session_id>"): Case(
            "staff",
            path=lambda o: f"/api/v1/staff/sessions/{o.api_session_id}",
            data={"room": "2.12"},
        ),
        ("POST", "/api/v1/staff/sessions/<int:session_id>/cancel"): Case(
            "staff", path=lambda o: f"/api/v1/staff/sessions/{o.api_session_id}/cancel", data={}
        ),
        ("GET", "/api/v1/staff/reports/below-minimum"): Case("staff", query={"days": 60}),
        # paying for a booking (HTML)
        ("GET", "/enrolments/<int:enrolment_id>/pay"): [
            Case("user", path=lambda o: f"/enrolments/{o.own_pending_enrolment_id}/pay"),
            Case(
                _own_or_staff(200),
                path=lambda o: f"/enrolments/{o.victim_pending_enrolment_id}/pay",
                note="someone else's booking",
                foreign=booked_course("victim_pending_enrolment_id"),
            ),
        ],
        ("POST", "/enrolments/<int:enrolment_id>/pay"): [
            Case(
                "user",
                ok=302,
                path=lambda o: f"/enrolments/{o.own_pending_enrolment_id}/pay",
                data={"provider": "manual"},
            ),
            Case(
                _own_or_staff(302),
                path=lambda o: f"/enrolments/{o.victim_pending_enrolment_id}/pay",
                data={"provider": "manual"},
                note="someone else's booking",
                foreign=booked_course("victim_pending_enrolment_id"),
            ),
        ],
        ("GET", "/enrolments/<int:enrolment_id>/paid"): [
            Case("user", path=lambda o: f"/enrolments/{o.own_pending_enrolment_id}/paid"),
            Case(
                _own_or_staff(200),
                path=lambda o: f"/enrolments/{o.victim_pending_enrolment_id}/paid",
                note="someone else's booking",
                foreign=booked_course("victim_pending_enrolment_id"),
            ),
        ],
        # payments (HTML)
        ("GET", "/me/payments"): "user",
        ("GET", "/payments/<int:payment_id>"): [
            Case("user", path=lambda o: f"/payments/{o.own_payment_id}"),
            Case(
                _own_or_staff(200),
                path=lambda o: f"/payments/{o.victim_payment_id}",
                note="someone else's payment",
                foreign=paid_for("victim_payment_id"),
            ),
        ],
        ("GET", "/payments/<int:payment_id>/receipt"): [
            Case("user", path=lambda o: f"/payments/{o.own_payment_id}/receipt"),
            Case(
                _own_or_staff(200),
                path=lambda o: f"/payments/{o.victim_payment_id}/receipt",
                note="someone else's invoice",
                foreign=paid_for("victim_payment_id"),
            ),
        ],
        ("GET", "/payments/<int:payment_id>/receipt.pdf"): [
            Case("user", path=lambda o: f"/payments/{o.own_payment_id}/receipt.pdf"),
            Case(
                _own_or_staff(200),
                path=lambda o: f"/payments/{o.victim_payment_id}/receipt.pdf",
                note="someone else's invoice",
                foreign=paid_for("victim_payment_id"),
            ),
        ],
        ("GET", "/staff/payments"): Case("staff", query={"status": "pending"}),
        ("GET", "/staff/payments.csv"): "staff",
        ("GET", "/staff/payments/<int:payment_id>"): Case(
            "staff", path=lambda o: f"/staff/payments/{o.victim_payment_id}"
        ),
        ("POST", "/staff/payments/<int:payment_id>/mark-paid"): Case(
            "staff", ok=302, path=lambda o: f"/staff/payments/{o.victim_payment_id}/mark-paid"
        ),
        ("POST", "/staff/payments/<int:payment_id>/refund"): Case(
            "staff",
            ok=302,
            path=lambda o: f"/staff/payments/{o.paid_payment_id}/refund",
            data={"amount": "10,00", "reason": "Kulanz"},
        ),
        # payments (API)
        ("GET", "/api/v1/me/payments"): Case("user", check=_not_listed("victim_payment_id")),
        ("GET", "/api/v1/payments/<int:payment_id>"): [
            Case("user", path=lambda o: f"/api/v1/payments/{o.own_payment_id}"),
            Case(
                _own_or_staff(200),
                path=lambda o: f"/api/v1/payments/{o.victim_payment_id}",
                note="someone else's payment",
                foreign=paid_for("victim_payment_id"),
            ),
        ],
        ("GET", "/api/v1/staff/payments"): "staff",
        ("POST", "/api/v1/staff/payments/<int:payment_id>/mark-paid"): Case(
            "staff", path=lambda o: f"/api/v1/staff/payments/{o.victim_payment_id}/mark-paid"
        ),
        ("POST", "/api/v1/staff/payments/<int:payment_id>/refunds"): Case(
            "staff",
            ok=201,
            path=lambda o: f"/api/v1/staff/payments/{o.paid_payment_id}/refunds",
            data={"amount_cents": 1000, "reason": "Kulanz"},
        ),
        # Stripe's webhook: machines only. Off by default (404); configured, an unsigned
        # delivery is refused for its signature.
        ("POST", "/webhooks/stripe"): Case(
            dict.fromkeys(ROLES, 404),
            ok={400, 404},
            data={},
            configured=dict.fromkeys(ROLES, 400),
            check=refused_as_unsigned("invalid signature", unconfigured="disabled"),
        ),
    }
)


# --- calendars (vhs/calendar: feeds, tokens; courses/calendar_*: course files, exports) ------
# A feed URL needs no login: the token is the secret. The object-level cases: a token shows its
# owner's sessions and nobody else's, a replaced token answers 404, a draft's files stay hidden.


@builds("feed_token")
def _feed_token(o: Objects) -> str:
    """The acting account's feed token; it is booked on one course, two strangers on others."""
    from tests.courses import factories
    from vhs.calendar.services import ensure_token, token_of

    own = factories.new_course(title=f"Eigener Kurs {o.role}", sessions=2)
    factories.new_enrolment(own, o.account.id, status="confirmed")
    if o.account.id != o.victim.id:
        victims = factories.new_course(title="Fremdkurs des Opfers", sessions=1)
        factories.new_enrolment(victims, o.victim.id, status="confirmed")
    strangers = factories.new_course(title="Fremdkurs eines Dritten", sessions=1)
    factories.new_enrolment(strangers, factories.new_user().id, status="confirmed")
    return token_of(ensure_token(_user(o.account.id)))


@builds("replaced_feed_token")
def _replaced_feed_token(o: Objects) -> str:
    """A token of the acting account that has since been replaced by a new one."""
    from vhs.calendar.services import ensure_token, regenerate_token, token_of

    old = token_of(ensure_token(_user(o.account.id)))
    regenerate_token(_user(o.account.id))
    return old


@builds("victim_feed_url")
def _victim_feed_url(o: Objects) -> str:
    from vhs.calendar.services import address_of, ensure_token

    return address_of(ensure_token(_user(o.victim.id))).url


@builds("calendar_course_id")
def _calendar_course_id(o: Objects) -> int:
    return _staff_course(True, sessions=2).id


@builds("calendar_draft_course_id")
def _calendar_draft_course_id(o: Objects) -> int:
    return _staff_course(False, sessions=2).id


def _first_session(course_id: int) -> int:
    from courses.models import Course

    return db.session.get(Course, course_id).sessions[0].id


@builds("calendar_session_id")
def _calendar_session_id(o: Objects) -> int:
    return _first_session(o.calendar_course_id)


@builds("calendar_draft_session_id")
def _calendar_draft_session_id(o: Objects) -> int:
    return _first_session(o.calendar_draft_course_id)


def only_own_feed_items(resp: Any, o: Objects) -> None:
    """A feed holds its owner's sessions and nobody else's."""
    body = resp.get_data(as_text=True)
    assert resp.mimetype == "text/calendar"
    assert f"Eigener Kurs {o.role}" in body, "the feed lacks its owner's course"
    assert "Fremdkurs" not in body, "the feed shows someone else's course"


def own_feed_address(resp: Any, o: Objects) -> None:
    """The API answers with the caller's feed address, never another account's."""
    assert resp.get_json()["url"] != o.victim_feed_url


_HIDDEN_DRAFT = {
    "anonymous": 404,
    "resident": 404,
    "instructor": 404,
    "staff": 200,
    "admin": 200,
}

EXPECTATIONS.update(
    {
        ("GET", "/calendar/<token>.ics"): [
            Case(
                "public",
                path=lambda o: f"/calendar/{o.feed_token}.ics",
                check=only_own_feed_items,
                note="the account's own token",
            ),
            Case(
                dict.fromkeys(ROLES, 404),
                path=lambda o: f"/calendar/{o.replaced_feed_token}.ics",
                note="a replaced token",
            ),
            Case(dict.fromkeys(ROLES, 404), path="/calendar/" + "x" * 43 + ".ics", note="unknown"),
        ],
        ("POST", "/account/calendar/regenerate"): Case("user", ok=302),
        ("POST", "/account/calendar/revoke"): Case("user", ok=302),
        ("GET", "/api/v1/me/calendar"): Case("user", check=own_feed_address),
        ("POST", "/api/v1/me/calendar/token"): Case("user", ok=201, check=own_feed_address),
        ("DELETE", "/api/v1/me/calendar/token"): Case("user", ok=204),
        ("GET", "/courses/<int:course_id>.ics"): [
            Case("public", path=lambda o: f"/courses/{o.calendar_course_id}.ics"),
            Case(
                _HIDDEN_DRAFT,
                path=lambda o: f"/courses/{o.calendar_draft_course_id}.ics",
                note="a draft",
                foreign=course_code("calendar_draft_course_id"),
            ),
        ],
        ("GET", "/sessions/<int:session_id>.ics"): [
            Case("public", path=lambda o: f"/sessions/{o.calendar_session_id}.ics"),
            Case(
                _HIDDEN_DRAFT,
                path=lambda o: f"/sessions/{o.calendar_draft_session_id}.ics",
                note="a draft's session",
                foreign=course_code("calendar_draft_course_id"),
            ),
        ],
        ("GET", "/staff/exports"): "staff",
        ("GET", "/staff/exports/sessions.ics"): "staff",
        ("GET", "/staff/exports/sessions.csv"): "staff",
        ("GET", "/api/v1/exports/sessions.ics"): "staff",
        ("GET", "/api/v1/exports/sessions.csv"): "staff",
    }
)


# --- webinars, attendance and certificates (courses/webinar_views.py, webinar_api.py) ---------
# Object-level cases: a participant of course A cannot join course B's session (403), nor can
# an instructor who does not teach B; instructor B never sees instructor A's attendance
# (403 not_instructor); certificates are the participant's own (someone else's course: 403).


def _running_course(instructor_id: int | None, participant_id: int) -> Any:
    """An online course whose session started five minutes ago (the room is open)."""
    from datetime import timedelta

    from tests.courses import factories
    from tests.courses.webinars.helpers import online_course

    course = online_course(
        starts_in=timedelta(minutes=-5),
        instructors=[instructor_id] if instructor_id else [],
        title="Matrix-Webinar",
    )
    factories.new_enrolment(course, participant_id, status="confirmed")
    return course


def _teaches(o: Objects) -> bool:
    return o.user is not None and o.role in ("instructor", "staff", "admin")


@builds("webinar_own_session_id")
def _webinar_own_session_id(o: Objects) -> int:
    """A running webinar the acting account takes part in (residents) or teaches (others)."""
    from tests.courses import factories
    from tests.courses.webinars.helpers import first_session

    if _teaches(o):
        course = _running_course(o.user.id, o.victim.id)
    else:
        course = _running_course(factories.new_user("instructor").id, o.account.id)
    return first_session(course).id


@builds("webinar_others_session_id")
def _webinar_others_session_id(o: Objects) -> int:
    """Course B's running webinar: another instructor, the victim takes part (the room is
    open already); the acting account is a confirmed participant of course A only."""
    from tests.courses import factories
    from tests.courses.webinars.helpers import first_session

    _running_course(factories.new_user("instructor").id, o.account.id)  # course A
    other = factories.new_user("instructor", name="Ines Andere").id
    session = first_session(_running_course(other, o.victim.id))
    room_for(session)  # a refusal must not hand out the room's name
    return session.id


def _past_class(instructor_id: int, participant_id: int) -> Any:
    from datetime import timedelta

    from tests.courses import factories
    from tests.courses.webinars.helpers import online_course

    course = online_course(
        starts_in=timedelta(hours=-2), instructors=[instructor_id], title="Matrix-Anwesenheit"
    )
    factories.new_enrolment(course, participant_id, status="confirmed")
    return course


@builds("taught_past_session_id")
def _taught_past_session_id(o: Objects) -> int:
    """A session two hours ago of a course the acting instructor/staff member teaches."""
    from tests.courses import factories
    from tests.courses.webinars.helpers import first_session

    teacher = o.user.id if _teaches(o) else factories.new_user("instructor").id
    return first_session(_past_class(teacher, o.victim.id)).id


@builds("others_past_session_id")
def _others_past_session_id(o: Objects) -> int:
    """Instructor B's session (two hours ago)."""
    from tests.courses import factories
    from tests.courses.webinars.helpers import first_session

    other = factories.new_user("instructor", name="Ines Andere").id
    return first_session(_past_class(other, o.victim.id)).id


def _completed_course(participant_id: int, attended: bool = True) -> Any:
    """A completed course of two past sessions; the participant attended both (by hand)."""
    from datetime import timedelta

    from courses.models import CourseStatus
    from tests.courses import factories
    from tests.courses.webinars.helpers import attend, online_course

    course = online_course(
        starts_in=timedelta(days=-20),
        sessions=2,
        instructors=[factories.new_user("instructor").id],
        title="Matrix-Zertifikatskurs",
    )
    factories.new_enrolment(course, participant_id, status="confirmed")
    if attended:
        for s in course.sessions:
            attend(s, participant_id, manual=True)
    course.status = CourseStatus.COMPLETED
    db.session.flush()
    return course


@builds("certificate_course_id")
def _certificate_course_id(o: Objects) -> int:
    """A completed course the acting account (or the victim) attended: a certificate is due."""
    return _completed_course(o.account.id).id


@builds("others_certificate_course_id")
def _others_certificate_course_id(o: Objects) -> int:
    """A completed course only the victim took part in."""
    return _completed_course(o.victim.id).id


@builds("issuable_course_id")
def _issuable_course_id(o: Objects) -> int:
    """A completed course where the victim took part but did not attend enough."""
    return _completed_course(o.victim.id, attended=False).id


def _issue(course: Any, user_id: int) -> Any:
    pass

    return certificate_services._create_certificate(course, _user(user_id), None, 2, 2)


@builds("certificate_id")
def _certificate_id(o: Objects) -> int:
    """The victim's certificate."""
    course = _completed_course(o.victim.id)
    return _issue(course, o.victim.id).id


@builds("certificate_code")
def _certificate_code(o: Objects) -> str:
    return _issue(_completed_course(o.victim.id), o.victim.id).code


@builds("revoked_certificate_code")
def _revoked_certificate_code(o: Objects) -> str:
    from vhs.db import utcnow

    certificate = _issue(_completed_course(o.victim.id), o.victim.id)
    certificate.revoked_at = utcnow()
    return certificate.code


def shows_victim_name(resp: Any, o: Objects) -> None:
    """An attendance page lists the course's participants by name."""
    assert o.victim.name in resp.get_data(as_text=True), "the participant is missing"


def says_revoked(resp: Any, o: Objects) -> None:
    """Verification of a revoked certificate says so."""
    body = resp.get_data(as_text=True)
    assert ("widerrufen" in body) or ("revoked" in body) or ('"valid": false' in body)


def gives_a_room(resp: Any, o: Objects) -> None:
    """The join answer names a room (page: the embed; API: room and URL)."""
    if resp.mimetype == "application/json":
        assert resp.get_json()["room"]
    else:
        assert 'id="jitsi-meeting"' in resp.get_data(as_text=True)


def reports_the_room(resp: Any, o: Objects) -> None:
    """The room-now answer says what it knows (the session is over: Prosody is not asked)."""
    assert resp.get_json()["status"] in ("not_running", "not_configured")


def _pdf_is_theirs(resp: Any, o: Objects) -> None:
    assert resp.mimetype == "application/pdf"


_JOIN_OWN: dict[str, Outcome] = {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN, OK)}
_JOIN_OTHERS: dict[str, Outcome] = {**ACCESS["staff"], "instructor": 403}
_NOT_THEIRS: dict[str, Outcome] = {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN, 403)}


def _session_path(attr: str, prefix: str = "", suffix: str = "") -> PathSpec:
    return lambda o: f"{prefix}/sessions/{getattr(o, attr)}{suffix}"


def _mark(o: Objects) -> dict[str, str]:
    return {f"mark_{o.victim.id}": "present"}


EXPECTATIONS.update(
    {
        ("GET", "/sessions/<int:session_id>/join"): [
            Case(
                _JOIN_OWN,
                path=_session_path("webinar_own_session_id", suffix="/join"),
                check=gives_a_room,
            ),
            Case(
                _JOIN_OTHERS,
                path=_session_path("webinar_others_session_id", suffix="/join"),
                note="another course's session",
                foreign=room_of("webinar_others_session_id"),
            ),
        ],
        ("GET", "/api/v1/sessions/<int:session_id>/join"): [
            Case(
                _JOIN_OWN,
                path=_session_path("webinar_own_session_id", "/api/v1", "/join"),
                check=gives_a_room,
            ),
            Case(
                _JOIN_OTHERS,
                path=_session_path("webinar_others_session_id", "/api/v1", "/join"),
                note="another course's session",
                foreign=room_of("webinar_others_session_id"),
            ),
        ],
        ("POST", "/staff/sessions/<int:session_id>/room/replace"): Case(
            "staff",
            ok=302,
            path=_session_path("webinar_others_session_id", "/staff", "/room/replace"),
        ),
        ("GET", "/teaching/sessions/<int:session_id>/attendance"): [
            Case(
                "instructor",
                path=_session_path("taught_past_session_id", "/teaching", "/attendance"),
                check=shows_victim_name,
            ),
            Case(
                _OTHERS_COURSE,
                path=_session_path("others_past_session_id", "/teaching", "/attendance"),
                check=shows_victim_name,
                note="another instructor's course",
                foreign=foreign(),
            ),
        ],
        ("POST", "/teaching/sessions/<int:session_id>/attendance"): [
            Case(
                "instructor",
                ok=302,
                path=_session_path("taught_past_session_id", "/teaching", "/attendance"),
                data=_mark,
            ),
            Case(
                _OTHERS_COURSE,
                ok=302,
                path=_session_path("others_past_session_id", "/teaching", "/attendance"),
                data=_mark,
                note="another instructor's course",
                foreign=foreign(),
            ),
        ],
        ("GET", "/api/v1/sessions/<int:session_id>/room"): [
            Case(
                "instructor",
                path=_session_path("taught_past_session_id", "/api/v1", "/room"),
                check=reports_the_room,
            ),
            Case(
                _OTHERS_COURSE,
                path=_session_path("others_past_session_id", "/api/v1", "/room"),
                check=reports_the_room,
                note="another instructor's course",
                foreign=foreign(),
            ),
        ],
        ("GET", "/teaching/courses/<int:course_id>/attendance"): [
            Case(
                "instructor",
                path=_teaching_path("taught_course_id", "/attendance"),
                check=shows_victim_name,
            ),
            Case(
                _OTHERS_COURSE,
                path=_teaching_path("others_course_id", "/attendance"),
                check=shows_victim_name,
                note="another instructor's course",
                foreign=foreign(),
            ),
        ],
        ("GET", "/teaching/courses/<int:course_id>/attendance.csv"): [
            Case(
                "instructor",
                path=_teaching_path("taught_course_id", "/attendance.csv"),
                check=shows_participants,
            ),
            Case(
                _OTHERS_COURSE,
                path=_teaching_path("others_course_id", "/attendance.csv"),
                check=shows_participants,
                note="another instructor's course",
                foreign=foreign(),
            ),
        ],
        ("GET", "/api/v1/courses/<int:course_id>/attendance"): [
            Case(
                "instructor",
                path=lambda o: f"/api/v1/courses/{o.taught_course_id}/attendance",
                check=shows_participants,
            ),
            Case(
                _OTHERS_COURSE,
                path=lambda o: f"/api/v1/courses/{o.others_course_id}/attendance",
                check=shows_participants,
                note="another instructor's course",
                foreign=foreign(),
            ),
        ],
        ("GET", "/courses/<int:course_id>/certificate.pdf"): [
            Case(
                "user",
                path=lambda o: f"/courses/{o.certificate_course_id}/certificate.pdf",
                check=_pdf_is_theirs,
            ),
            Case(
                _NOT_THEIRS,
                path=lambda o: f"/courses/{o.others_certificate_course_id}/certificate.pdf",
                note="a course one did not take part in",
                foreign=foreign(),
            ),
        ],
        ("GET", "/certificates/verify/<code>"): [
            Case("public", path=lambda o: f"/certificates/verify/{o.certificate_code}"),
            Case(
                "public",
                path=lambda o: f"/certificates/verify/{o.revoked_certificate_code}",
                check=says_revoked,
                note="revoked",
            ),
            Case(dict.fromkeys(ROLES, 404), path="/certificates/verify/AAAA-BBBB", note="unknown"),
        ],
        ("GET", "/api/v1/certificates/verify/<code>"): [
            Case("public", path=lambda o: f"/api/v1/certificates/verify/{o.certificate_code}"),
            Case(
                dict.fromkeys(ROLES, 404), path="/api/v1/certificates/verify/AAAA", note="unknown"
            ),
        ],
        ("GET", "/staff/courses/<int:course_id>/certificates"): Case(
            "staff", path=lambda o: f"/staff/courses/{o.certificate_course_id}/certificates"
        ),
        ("POST", "/staff/courses/<int:course_id>/certificates"): Case(
            "staff",
            ok=302,
            path=lambda o: f"/staff/courses/{o.issuable_course_id}/certificates",
            data=lambda o: {"user_id": o.victim.id},
        ),
        ("POST", "/staff/certificates/<int:certificate_id>/revoke"): Case(
            "staff",
            ok=302,
            path=lambda o: f"/staff/certificates/{o.certificate_id}/revoke",
            data={"reason": "Anwesenheit falsch erfasst"},
        ),
        ("GET", "/staff/certificates/<int:certificate_id>.pdf"): Case(
            "staff", path=lambda o: f"/staff/certificates/{o.certificate_id}.pdf"
        ),
        # Without a webhook secret Jitsi's endpoint accepts nothing; with one, an unsigned
        # delivery is refused for its signature.
        ("POST", "/webhooks/jitsi"): Case(
            dict.fromkeys(ROLES, 401),
            ok=401,
            data={},
            check=refused_as_unsigned("signature", unconfigured="no webhook secret"),
        ),
        # Prosody's event_sync module: nothing without its secret; with it, a request without
        # the Bearer secret is refused for its credentials.
        **{
            ("POST", f"/webhooks/jitsi/event-sync/events/{event}"): Case(
                dict.fromkeys(ROLES, 401),
                ok=401,
                data={},
                check=refused_as_unsigned("credentials", unconfigured="not configured"),
            )
            for event in ("room/created", "room/destroyed", "occupant/joined", "occupant/left")
        },
    }
)


# --- media catalogue (media/catalogue: views.py, api.py, staff_views.py) --------------------
# The public catalogue is open to everyone; a draft or withdrawn item is "not found" to all but
# staff and administrators; stocking (pages and API) is for staff only.

_HIDDEN_ITEM = {"anonymous": 404, "resident": 404, "instructor": 404, "staff": 200, "admin": 200}


def _media_item(o: Objects, state: str) -> int:
    # Imported here, like the other blocks' factories: the media block stays self-contained.
    from media.catalogue.services import refresh_search_text
    from media.models import Contributor, MediaItem, MediaKind, PublicationState
    from vhs.db import utcnow

    item = MediaItem(
        kind=MediaKind.EBOOK,
        title=f"Matrix-Krimi ({o.role}, {state})",
        language="de",
        state=PublicationState(state),
        published_at=utcnow() if state != "draft" else None,
        contributors=[Contributor(name="Anna Berg", role="author", position=0)],
    )
    refresh_search_text(item)
    db.session.add(item)
    db.session.flush()
    return item.id


@builds("media_item_id")
def _media_item_id(o: Objects) -> int:
    return _media_item(o, "published")


@builds("media_draft_id")
def _media_draft_id(o: Objects) -> int:
    return _media_item(o, "draft")


@builds("media_withdrawn_id")
def _media_withdrawn_id(o: Objects) -> int:
    return _media_item(o, "withdrawn")


_MEDIA_FORM = {"kind": "ebook", "title": "Matrix-Medium", "language": "de", "min_age": ""}
_MEDIA_JSON = {"kind": "ebook", "title": "Matrix-Medium", "subjects": ["Krimi"]}


def _media_page(attr: str, suffix: str = "") -> PathSpec:
    return lambda o: f"/media/{getattr(o, attr)}{suffix}"


def _media_staff(attr: str, suffix: str) -> PathSpec:
    return lambda o: f"/staff/media/{getattr(o, attr)}{suffix}"


def _media_api(attr: str, suffix: str = "") -> PathSpec:
    return lambda o: f"/api/v1/media/{getattr(o, attr)}{suffix}"


def _media_staff_api(attr: str, suffix: str = "") -> PathSpec:
    return lambda o: f"/api/v1/staff/media/{getattr(o, attr)}{suffix}"


EXPECTATIONS.update(
    {
        ("GET", "/media"): Case("public", query={"q": "Krimis", "kind": "ebook", "audience": "12"}),
        ("GET", "/media/<int:item_id>"): [
            Case("public", path=_media_page("media_item_id")),
            Case(_HIDDEN_ITEM, path=_media_page("media_draft_id"), note="draft"),
            Case(_HIDDEN_ITEM, path=_media_page("media_withdrawn_id"), note="withdrawn"),
        ],
        ("GET", "/api/v1/media"): Case("public", query={"q": "krimi", "language": "ger"}),
        ("GET", "/api/v1/media/<int:item_id>"): [
            Case("public", path=_media_api("media_item_id")),
            Case(_HIDDEN_ITEM, path=_media_api("media_draft_id"), note="draft"),
            Case(_HIDDEN_ITEM, path=_media_api("media_withdrawn_id"), note="withdrawn"),
        ],
        ("POST", "/api/v1/staff/media"): Case("staff", ok=201, data=_MEDIA_JSON),
        ("PATCH", "/api/v1/staff/media/<int:item_id>"): Case(
            "staff", path=_media_staff_api("media_draft_id"), data={"title": "Matrix neu"}
        ),
        ("POST", "/api/v1/staff/media/<int:item_id>/publish"): Case(
            "staff", path=_media_staff_api("media_draft_id", "/publish")
        ),
        ("POST", "/api/v1/staff/media/<int:item_id>/withdraw"): Case(
            "staff", path=_media_staff_api("media_item_id", "/withdraw")
        ),
        ("GET", "/staff/media"): Case("staff", query={"q": "Matrix", "state": "draft"}),
        ("GET", "/staff/media/new"): "staff",
        ("POST", "/staff/media/new"): Case("staff", ok=302, data=_MEDIA_FORM),
        ("GET", "/staff/media/<int:item_id>/edit"): Case(
            "staff", path=_media_staff("media_draft_id", "/edit")
        ),
        ("POST", "/staff/media/<int:item_id>/edit"): Case(
            "staff", ok=302, path=_media_staff("media_draft_id", "/edit"), data=_MEDIA_FORM
        ),
        ("POST", "/staff/media/<int:item_id>/publish"): Case(
            "staff", ok=302, path=_media_staff("media_draft_id", "/publish")
        ),
        ("GET", "/staff/media/<int:item_id>/withdraw"): Case(
            "staff", path=_media_staff("media_item_id", "/withdraw")
        ),
        ("POST", "/staff/media/<int:item_id>/withdraw"): Case(
            "staff", ok=302, path=_media_staff("media_item_id", "/withdraw")
        ),
    }
)


# --- media files (issue 11) --------------------------------------------------------------------


@builds("media_files_item_id")
def _media_files_item_id(o: Objects) -> int:
    """A draft item to attach files to."""
    item = MediaItem(kind=MediaKind.EBOOK, title=f"Matrix {o.role}")
    db.session.add(item)
    db.session.flush()
    return item.id


@builds("media_file_ids")
def _media_file_ids(o: Objects) -> tuple[int, int]:
    """An item with a stored PDF: (item id, file id)."""
    data = media_samples.pdf(title=f"Matrix {o.role}")
    sha256 = hashlib.sha256(data).hexdigest()
    get_storage().put(file_key(sha256), io.BytesIO(data), content_type="application/pdf")
    item = MediaItem(kind=MediaKind.DOCUMENT, title=f"Matrix-Datei {o.role}")
    item.files.append(
        MediaFile(
            format=FileFormat.PDF,
            media_type="application/pdf",
            size_bytes=len(data),
            sha256=sha256,
            pages=3,
        )
    )
    db.session.add(item)
    db.session.flush()
    return item.id, item.files[0].id


@builds("media_cover_sha256")
def _media_cover_sha256(o: Objects) -> str:
    cover = make_cover(media_samples.png(120, 180, color="purple"))
    for width, jpeg in cover.thumbnails.items():
        get_storage().put(
            cover_key(cover.sha256, width), io.BytesIO(jpeg), content_type="image/jpeg"
        )
    return cover.sha256


_SAMPLES = Path(tempfile.gettempdir()) / f"vhs-matrix-samples-{os.getpid()}"


def _sample_path(name: str, make: Callable[[], bytes]) -> str:
    """A sample file on disk: the test client opens a path anew for every request it sends."""
    path = _SAMPLES / name
    if not path.exists():
        _SAMPLES.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make())
    return str(path)


def _closed(resp: Any, o: Objects) -> None:
    """A file response holds its file open until closed (a server closes it after sending)."""
    resp.close()


def _media_files_path(suffix: str = "") -> PathSpec:
    return lambda o: f"/staff/media/{o.media_file_ids[0]}/files{suffix}"


def _one_media_file(prefix: str = "", suffix: str = "") -> PathSpec:
    return lambda o: (
        f"{prefix}/staff/media/{o.media_file_ids[0]}/files/{o.media_file_ids[1]}{suffix}"
    )


EXPECTATIONS.update(
    {
        ("GET", "/staff/media/<int:item_id>/files"): Case("staff", path=_media_files_path()),
        ("POST", "/staff/media/<int:item_id>/files"): Case(
            "staff",
            ok=302,
            path=lambda o: f"/staff/media/{o.media_files_item_id}/files",
            data=lambda o: {"file": (_sample_path("upload.pdf", media_samples.pdf), "m.pdf")},
        ),
        ("GET", "/staff/media/<int:item_id>/files/<int:file_id>/metadata"): Case(
            "staff", path=_one_media_file(suffix="/metadata")
        ),
        ("POST", "/staff/media/<int:item_id>/files/<int:file_id>/metadata"): Case(
            "staff", ok=302, path=_one_media_file(suffix="/metadata"), data={"fields": "title"}
        ),
        ("GET", "/staff/media/<int:item_id>/files/<int:file_id>/remove"): Case(
            "staff", path=_one_media_file(suffix="/remove")
        ),
        ("POST", "/staff/media/<int:item_id>/files/<int:file_id>/remove"): Case(
            "staff", ok=302, path=_one_media_file(suffix="/remove")
        ),
        ("POST", "/staff/media/<int:item_id>/files/cover"): Case(
            "staff",
            ok=302,
            path=lambda o: f"/staff/media/{o.media_files_item_id}/files/cover",
            data=lambda o: {"cover": (_sample_path("cover.png", media_samples.png), "c.png")},
        ),
        ("GET", "/staff/media/files/<int:file_id>"): Case(
            "staff", path=lambda o: f"/staff/media/files/{o.media_file_ids[1]}", check=_closed
        ),
        ("GET", "/media/covers/<sha256>-<int:size>.jpg"): [
            Case(
                "public",
                path=lambda o: f"/media/covers/{o.media_cover_sha256}-160.jpg",
                check=_closed,
            ),
            Case(dict.fromkeys(ROLES, 404), path=f"/media/covers/{'0' * 64}-160.jpg", note="none"),
        ],
        # The upload bodies are optional in the API document so that a request without one
        # meets the role check; staff sending none get 422 (the part is required).
        ("GET", "/api/v1/staff/media/<int:item_id>/files"): Case(
            "staff", path=lambda o: f"/api/v1/staff/media/{o.media_file_ids[0]}/files"
        ),
        ("POST", "/api/v1/staff/media/<int:item_id>/files"): Case(
            "staff", ok=422, path=lambda o: f"/api/v1/staff/media/{o.media_files_item_id}/files"
        ),
        ("DELETE", "/api/v1/staff/media/<int:item_id>/files/<int:file_id>"): Case(
            "staff", ok=204, path=_one_media_file("/api/v1")
        ),
        ("GET", "/api/v1/staff/media/<int:item_id>/files/<int:file_id>/metadata"): Case(
            "staff", path=_one_media_file("/api/v1", "/metadata")
        ),
        ("POST", "/api/v1/staff/media/<int:item_id>/files/<int:file_id>/metadata"): Case(
            "staff", path=_one_media_file("/api/v1", "/metadata"), data={"fields": ["title"]}
        ),
        ("PUT", "/api/v1/staff/media/<int:item_id>/cover"): Case(
            "staff", ok=422, path=lambda o: f"/api/v1/staff/media/{o.media_files_item_id}/cover"
        ),
    }
)


# --- library cards (library/patrons: views.py, staff_views.py, api.py) ------------------------
# A patron reaches only their own card: its URLs (/me/library, /api/v1/me/card) carry no id.
# The desk (/staff/library, /api/v1/staff/library) is for staff and administrators. Without a
# configured fee there is nothing to pay (409 `nothing_to_pay`), for patrons and desk alike.

_CARD_PIN = "4711"
_CARD_PIN_HASH: dict[str, str] = {}


def _library_card(user_id: int, state: str = "active") -> int:
    from datetime import date, timedelta

    from library import rules
    from library.models import CardState, LibraryCard
    from library.patrons.services import new_card_number
    from vhs.accounts.services import hash_password
    from vhs.db import utcnow

    if _CARD_PIN not in _CARD_PIN_HASH:
        _CARD_PIN_HASH[_CARD_PIN] = hash_password(_CARD_PIN)
    applied = state == "applied"
    # One card per account: a sweep over all roles asks for the victim's card again.
    card = db.session.execute(
        db.select(LibraryCard).where(LibraryCard.user_id == user_id)
    ).scalar_one_or_none() or LibraryCard(user_id=user_id, number=new_card_number())
    card.pin_hash = _CARD_PIN_HASH[_CARD_PIN]
    card.state = CardState(state)
    card.valid_until = None if applied else date.today() + timedelta(days=200)
    card.issued_at = None if applied else utcnow()
    card.blocked_reason = "Matrix" if state == "blocked" else ""
    assert rules.normalise_card_number(card.number) == card.number
    db.session.add(card)
    db.session.flush()
    return card.id


@builds("own_card_id")
def _own_card_id(o: Objects) -> int:
    """The acting account's active card (the victim's, for anonymous requests)."""
    return _library_card(o.account.id)


@builds("own_card_number")
def _own_card_number(o: Objects) -> str:
    from library.models import LibraryCard

    return db.session.get(LibraryCard, o.own_card_id).number


@builds("victim_card_id")
def _victim_card_id(o: Objects) -> int:
    return _library_card(o.victim.id)


@builds("victim_applied_card_id")
def _victim_applied_card_id(o: Objects) -> int:
    return _library_card(o.victim.id, "applied")


@builds("victim_blocked_card_id")
def _victim_blocked_card_id(o: Objects) -> int:
    return _library_card(o.victim.id, "blocked")


def card_number_of(attr: str) -> Foreign:
    """The number of the card ``Objects.<attr>``."""

    def parts(o: Objects) -> list[int | str]:
        from library.models import LibraryCard

        return [db.session.get(LibraryCard, getattr(o, attr)).number]

    return parts


# --- lending (issue 12: library/circulation) ---------------------------------------------------
# Availability is public; borrowing and holds need an account (refusals about the card are the
# service's 409s, so every builder gives the acting account a card); a loan or hold of someone
# else's is "not found" to everyone, staff included (staff end loans through their own routes);
# the licence pages and API are for staff only.


def _card_for(user_id: int) -> None:
    from datetime import date, timedelta

    from library.models import CardState, LibraryCard

    exists = db.session.execute(
        db.select(LibraryCard.id).where(LibraryCard.user_id == user_id)
    ).first()
    if exists is None:
        db.session.add(
            LibraryCard(
                user_id=user_id,
                number=f"M{user_id:09d}",
                state=CardState.ACTIVE,
                valid_until=date.today() + timedelta(days=365),
            )
        )
        db.session.flush()


def _lending_item(o: Objects, *, copies: int, title: str) -> int:
    from library.models import Licence
    from media.models import PublicationState
    from vhs.db import utcnow

    item = MediaItem(
        kind=MediaKind.EBOOK,
        title=f"{title} ({o.role})",
        state=PublicationState.PUBLISHED,
        published_at=utcnow(),
    )
    db.session.add(item)
    db.session.flush()
    db.session.add(
        Licence(item_id=item.id, concurrency=copies, active_loans=0, reserved=0, max_loan_days=21)
    )
    db.session.flush()
    if o.user is not None:
        _card_for(o.user.id)
    return item.id


def _borrow(user_id: int, item_id: int) -> int:
    from library.circulation.services import borrow

    _card_for(user_id)
    return borrow(_user(user_id), item_id).id


@builds("lending_item_id")
def _lending_item_id(o: Objects) -> int:
    """A published item with five free copies; the acting account has a card."""
    return _lending_item(o, copies=5, title="Matrix-Ausleihe")


@builds("lent_item_id")
def _lent_item_id(o: Objects) -> int:
    """A published item whose one copy the victim has borrowed (so holds are possible)."""
    item_id = _lending_item(o, copies=1, title="Matrix-Vormerkung")
    _borrow(o.victim.id, item_id)
    return item_id


@builds("own_loan_id")
def _own_loan_id(o: Objects) -> int:
    return _borrow(o.account.id, _lending_item(o, copies=1, title="Matrix-Eigene-Ausleihe"))


@builds("victim_loan_id")
def _victim_loan_id(o: Objects) -> int:
    return _borrow(o.victim.id, _lending_item(o, copies=1, title="Matrix-Fremde-Ausleihe"))


def _hold(user_id: int, o: Objects, title: str) -> int:
    from library.circulation.services import place_hold

    item_id = _lending_item(o, copies=1, title=title)
    lender = User(
        email=f"lender-{title}-{o.role}@example.org".lower(),
        name="Lena Leihe",
        role=Role.RESIDENT,
        locale="de",
        session_token=f"lender-{title}",
    )
    db.session.add(lender)
    db.session.flush()
    _borrow(lender.id, item_id)
    _card_for(user_id)
    return place_hold(_user(user_id), item_id).id


@builds("own_hold_id")
def _own_hold_id(o: Objects) -> int:
    return _hold(o.account.id, o, "Matrix-Eigene-Vormerkung")


@builds("victim_hold_id")
def _victim_hold_id(o: Objects) -> int:
    return _hold(o.victim.id, o, "Matrix-Fremde-Vormerkung")


@builds("staff_loan_id")
def _staff_loan_id(o: Objects) -> int:
    """A loan of the victim's, for staff to end."""
    return _borrow(o.victim.id, _lending_item(o, copies=1, title="Matrix-Widerruf"))


@builds("licence_id")
def _licence_id(o: Objects) -> int:
    from library.models import Licence

    item_id = _lending_item(o, copies=2, title="Matrix-Lizenz")
    return db.session.execute(db.select(Licence.id).where(Licence.item_id == item_id)).scalar_one()


def loan_of(attr: str) -> Foreign:
    """What B's loan or hold reveals: its id and the item's title."""

    def parts(o: Objects) -> list[int | str]:
        from library.models import Hold, Loan

        obj = db.session.get(Loan, getattr(o, attr)) or db.session.get(Hold, getattr(o, attr))
        return [obj.id, obj.item.title]

    return parts


def _with_own_card(value: Any) -> Callable[[Objects], Any]:
    """``value`` (a path or a body), once the acting account has a card."""
    return lambda o: (o.own_card_id, value)[1]


def is_own_card(resp: Any, o: Objects) -> None:
    """``/api/v1/me/card`` is the caller's card."""
    assert resp.get_json()["number"] == o.own_card_number


def _desk(attr: str, suffix: str = "") -> PathSpec:
    return lambda o: f"/staff/library/cards/{getattr(o, attr)}{suffix}"


def _desk_api(attr: str) -> PathSpec:
    return lambda o: f"/api/v1/staff/library/cards/{getattr(o, attr)}"


_NOTHING_TO_PAY = {
    "anonymous": LOGIN,
    "resident": 403,
    "instructor": 403,
    "staff": 409,
    "admin": 409,
}
_PERSON_FORM = {
    "name": "Matrix Ohnemail",
    "street": "Am Markt 1",
    "postal_code": "58636",
    "city": "Iserlohn",
    "locale": "de",
    "pin": "",
    "pin_confirm": "",
}
_VICTIMS_CARD = foreign(ids("victim_card_id"), card_number_of("victim_card_id"))

EXPECTATIONS.update(
    {
        # the patron's own card
        ("GET", "/me/library"): [
            Case("user", note="no card yet"),
            Case("user", path=_with_own_card("/me/library"), note="with a card"),
        ],
        ("POST", "/me/library/apply"): Case(
            "user", ok=302, data={"pin": "2580", "pin_confirm": "2580"}
        ),
        ("POST", "/me/library/pin"): [
            Case(
                "user",
                ok=302,
                data=_with_own_card(
                    {"current": _CARD_PIN, "new_pin": "97531", "new_pin_confirm": "97531"}
                ),
            ),
            Case(
                {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN, 404)},
                data={"current": _CARD_PIN, "new_pin": "97531", "new_pin_confirm": "97531"},
                note="no card",
            ),
        ],
        ("POST", "/me/library/fee"): Case(
            {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN, 409)},
            data=_with_own_card({"provider": "manual"}),
        ),
        ("GET", "/login/card"): "public",
        # The web login with a card opens residents' accounts only (a PIN is weaker than a
        # password); anonymous visitors log in as the victim, a resident.
        ("POST", "/login/card"): Case(
            {"anonymous": 302, "resident": 302, "instructor": 401, "staff": 401, "admin": 401},
            ok=302,
            data=lambda o: {"number": o.own_card_number, "pin": _CARD_PIN},
        ),
        ("GET", "/api/v1/me/card"): [
            Case("user", path=_with_own_card("/api/v1/me/card"), check=is_own_card),
            Case(
                {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN, 404)},
                note="no card, while another has one",
                path=lambda o: (o.victim_card_id, "/api/v1/me/card")[1],
                foreign=_VICTIMS_CARD,
            ),
        ],
        ("POST", "/api/v1/me/card"): Case("user", ok=201, data={"pin": "2580"}),
        ("PUT", "/api/v1/me/card/pin"): Case(
            "user",
            ok=204,
            path=_with_own_card("/api/v1/me/card/pin"),
            data={"current": _CARD_PIN, "pin": "97531"},
        ),
        # the desk
        ("GET", "/staff/library/cards"): Case("staff", query={"q": "Fremdmann", "state": "active"}),
        ("GET", "/staff/library/cards/new"): Case("staff", query={"q": "Bernd"}),
        ("GET", "/staff/library/cards/new/<int:user_id>"): Case(
            "staff", path=lambda o: f"/staff/library/cards/new/{o.victim.id}", foreign=ids()
        ),
        ("POST", "/staff/library/cards/new/<int:user_id>"): Case(
            "staff",
            ok=201,
            path=lambda o: f"/staff/library/cards/new/{o.victim.id}",
            data={"pin": "", "pin_confirm": ""},
            foreign=ids(),
        ),
        ("GET", "/staff/library/cards/new/person"): "staff",
        ("POST", "/staff/library/cards/new/person"): Case("staff", ok=201, data=_PERSON_FORM),
        ("GET", "/staff/library/cards/<int:card_id>"): Case(
            "staff", path=_desk("victim_card_id"), foreign=_VICTIMS_CARD
        ),
        ("POST", "/staff/library/cards/<int:card_id>/confirm"): Case(
            "staff", ok=302, path=_desk("victim_applied_card_id", "/confirm")
        ),
        ("POST", "/staff/library/cards/<int:card_id>/validity"): Case(
            "staff",
            ok=302,
            path=_desk("victim_card_id", "/validity"),
            data=lambda o: {"valid_until": _in_days(100)},
            foreign=_VICTIMS_CARD,
        ),
        ("GET", "/staff/library/cards/<int:card_id>/block"): Case(
            "staff", path=_desk("victim_card_id", "/block"), foreign=_VICTIMS_CARD
        ),
        ("POST", "/staff/library/cards/<int:card_id>/block"): Case(
            "staff",
            ok=302,
            path=_desk("victim_card_id", "/block"),
            data={"reason": "Matrix"},
            foreign=_VICTIMS_CARD,
        ),
        ("POST", "/staff/library/cards/<int:card_id>/unblock"): Case(
            "staff", ok=302, path=_desk("victim_blocked_card_id", "/unblock")
        ),
        ("POST", "/staff/library/cards/<int:card_id>/pin"): Case(
            "staff",
            path=_desk("victim_card_id", "/pin"),
            data={"pin": "", "pin_confirm": ""},
            foreign=_VICTIMS_CARD,
        ),
        ("POST", "/staff/library/cards/<int:card_id>/fee"): Case(
            _NOTHING_TO_PAY, path=_desk("victim_card_id", "/fee"), foreign=_VICTIMS_CARD
        ),
        ("GET", "/api/v1/staff/library/cards"): Case("staff", query={"q": "Fremdmann"}),
        ("POST", "/api/v1/staff/library/cards"): Case(
            "staff", ok=201, data=lambda o: {"user_id": o.victim.id}, foreign=ids()
        ),
        ("GET", "/api/v1/staff/library/cards/<int:card_id>"): Case(
            "staff", path=_desk_api("victim_card_id"), foreign=_VICTIMS_CARD
        ),
        ("PATCH", "/api/v1/staff/library/cards/<int:card_id>"): Case(
            "staff",
            path=_desk_api("victim_card_id"),
            data={"state": "blocked", "blocked_reason": "Matrix"},
            foreign=_VICTIMS_CARD,
        ),
    }
)


def _in_days(days: int) -> str:
    from datetime import date, timedelta

    return (date.today() + timedelta(days=days)).isoformat()


_LICENCE_FORM = {"concurrency": "1", "max_loan_days": "21", "streaming_allowed": "y"}

EXPECTATIONS.update(
    {
        ("GET", "/api/v1/media/<int:item_id>/availability"): Case(
            "public", path=lambda o: f"/api/v1/media/{o.lending_item_id}/availability"
        ),
        ("POST", "/api/v1/media/<int:item_id>/loans"): Case(
            "user",
            ok=201,
            path=lambda o: f"/api/v1/media/{o.lending_item_id}/loans",
            data={"days": 7},
        ),
        ("DELETE", "/api/v1/loans/<int:loan_id>"): [
            Case("user", path=lambda o: f"/api/v1/loans/{o.own_loan_id}"),
            Case(
                _NOT_OWN,
                path=lambda o: f"/api/v1/loans/{o.victim_loan_id}",
                note="someone else's loan",
                foreign=loan_of("victim_loan_id"),
            ),
        ],
        ("POST", "/api/v1/loans/<int:loan_id>/renewals"): [
            Case("user", ok=201, path=lambda o: f"/api/v1/loans/{o.own_loan_id}/renewals"),
            Case(
                _NOT_OWN,
                path=lambda o: f"/api/v1/loans/{o.victim_loan_id}/renewals",
                note="someone else's loan",
                foreign=loan_of("victim_loan_id"),
            ),
        ],
        ("POST", "/api/v1/media/<int:item_id>/holds"): Case(
            "user", ok=201, path=lambda o: f"/api/v1/media/{o.lent_item_id}/holds"
        ),
        ("DELETE", "/api/v1/holds/<int:hold_id>"): [
            Case("user", path=lambda o: f"/api/v1/holds/{o.own_hold_id}"),
            Case(
                _NOT_OWN,
                path=lambda o: f"/api/v1/holds/{o.victim_hold_id}",
                note="someone else's hold",
                foreign=loan_of("victim_hold_id"),
            ),
        ],
        ("GET", "/api/v1/me/loans"): "user",
        ("GET", "/api/v1/me/holds"): "user",
        # staff API
        ("GET", "/api/v1/staff/library/items/<int:item_id>/licences"): Case(
            "staff", path=lambda o: f"/api/v1/staff/library/items/{o.lending_item_id}/licences"
        ),
        ("POST", "/api/v1/staff/library/items/<int:item_id>/licences"): Case(
            "staff",
            ok=201,
            path=lambda o: f"/api/v1/staff/library/items/{o.lending_item_id}/licences",
            data={"concurrency": 2, "checkouts_total": 26},
        ),
        ("PATCH", "/api/v1/staff/library/licences/<int:licence_id>"): Case(
            "staff",
            path=lambda o: f"/api/v1/staff/library/licences/{o.licence_id}",
            data={"concurrency": 3},
        ),
        ("GET", "/api/v1/staff/library/licences/expiring"): "staff",
        ("GET", "/api/v1/staff/library/reports/holds"): "staff",
        ("POST", "/api/v1/staff/library/loans/<int:loan_id>/revoke"): Case(
            "staff", path=lambda o: f"/api/v1/staff/library/loans/{o.staff_loan_id}/revoke"
        ),
        # staff pages
        ("GET", "/staff/library/items/<int:item_id>/licences"): Case(
            "staff", path=lambda o: f"/staff/library/items/{o.lending_item_id}/licences"
        ),
        ("POST", "/staff/library/items/<int:item_id>/licences"): Case(
            "staff",
            ok=302,
            path=lambda o: f"/staff/library/items/{o.lending_item_id}/licences",
            data=_LICENCE_FORM,
        ),
        ("GET", "/staff/library/licences/<int:licence_id>/edit"): Case(
            "staff", path=lambda o: f"/staff/library/licences/{o.licence_id}/edit"
        ),
        ("POST", "/staff/library/licences/<int:licence_id>/edit"): Case(
            "staff",
            ok=302,
            path=lambda o: f"/staff/library/licences/{o.licence_id}/edit",
            data={**_LICENCE_FORM, "concurrency": "3"},
        ),
        ("POST", "/staff/library/loans/<int:loan_id>/revoke"): Case(
            "staff", ok=302, path=lambda o: f"/staff/library/loans/{o.staff_loan_id}/revoke"
        ),
        ("GET", "/staff/library/licences/expiring"): "staff",
        ("GET", "/staff/library/reports/holds"): "staff",
    }
)

EXPECTATIONS.update(
    {
        # patron pages
        ("GET", "/library/media/<int:item_id>"): Case(
            "public", path=lambda o: f"/library/media/{o.lending_item_id}"
        ),
        ("POST", "/library/media/<int:item_id>/loans"): Case(
            "user",
            ok=302,
            path=lambda o: f"/library/media/{o.lending_item_id}/loans",
            data={"days": "7"},
        ),
        ("POST", "/library/media/<int:item_id>/holds"): Case(
            "user", ok=302, path=lambda o: f"/library/media/{o.lent_item_id}/holds"
        ),
        ("GET", "/library/account"): "user",
        ("GET", "/library/loans/<int:loan_id>/return"): [
            Case("user", path=lambda o: f"/library/loans/{o.own_loan_id}/return"),
            Case(
                _NOT_OWN,
                path=lambda o: f"/library/loans/{o.victim_loan_id}/return",
                note="someone else's loan",
                foreign=loan_of("victim_loan_id"),
            ),
        ],
        ("POST", "/library/loans/<int:loan_id>/return"): [
            Case("user", ok=302, path=lambda o: f"/library/loans/{o.own_loan_id}/return"),
            Case(
                _NOT_OWN,
                path=lambda o: f"/library/loans/{o.victim_loan_id}/return",
                note="someone else's loan",
                foreign=loan_of("victim_loan_id"),
            ),
        ],
        ("POST", "/library/loans/<int:loan_id>/renew"): [
            Case("user", ok=302, path=lambda o: f"/library/loans/{o.own_loan_id}/renew"),
            Case(
                _NOT_OWN,
                path=lambda o: f"/library/loans/{o.victim_loan_id}/renew",
                note="someone else's loan",
                foreign=loan_of("victim_loan_id"),
            ),
        ],
        ("POST", "/library/holds/<int:hold_id>/cancel"): [
            Case("user", ok=302, path=lambda o: f"/library/holds/{o.own_hold_id}/cancel"),
            Case(
                _NOT_OWN,
                path=lambda o: f"/library/holds/{o.victim_hold_id}/cancel",
                note="someone else's hold",
                foreign=loan_of("victim_hold_id"),
            ),
        ],
    }
)
# --- media imports (media/imports: views.py, api.py) -------------------------------------------


@builds("media_import_run_id")
def _media_import_run_id(o: Objects) -> int:
    """A finished import run with one refused record."""
    # Imported here, like the other blocks' factories: the block stays self-contained.
    from media.imports.models import ImportRejection, ImportRun, ImportState

    run = ImportRun(
        format="marc", filename="dnb.mrc", state=ImportState.DONE, position=2, created=1
    )
    run.rejected = 1
    db.session.add(run)
    db.session.flush()
    db.session.add(
        ImportRejection(run_id=run.id, position=2, title="Ohne ISBN", reason="Titel fehlt")
    )
    db.session.flush()
    return run.id


def _marc_file() -> bytes:
    return import_samples.marc_bytes(import_samples.marc_record("Matrix-Import", isbn=None))


EXPECTATIONS.update(
    {
        ("GET", "/staff/media/imports"): "staff",
        ("POST", "/staff/media/imports"): Case(
            "staff",
            ok=302,
            data=lambda o: {"file": (_sample_path("import.mrc", _marc_file), "import.mrc")},
        ),
        ("GET", "/staff/media/imports/<int:run_id>"): Case(
            "staff", path=lambda o: f"/staff/media/imports/{o.media_import_run_id}"
        ),
        ("GET", "/staff/media/imports/<int:run_id>/report.csv"): Case(
            "staff", path=lambda o: f"/staff/media/imports/{o.media_import_run_id}/report.csv"
        ),
        # Without a body the upload meets the role check first; staff sending none get 422.
        ("POST", "/api/v1/staff/media/imports"): Case("staff", ok=422),
        ("GET", "/api/v1/staff/media/imports/<int:run_id>"): Case(
            "staff", path=lambda o: f"/api/v1/staff/media/imports/{o.media_import_run_id}"
        ),
    }
)


# --- access: signed file links, the watermark lookup (issue 12: library/access) -----------------
# A signed link works without login (reading apps, <audio>), so everyone who holds one is
# served; a signed-in account holding someone else's link is refused (403), and nobody gets a
# file of an ended loan (410). A loan's links are its patron's only (404 for anyone else's);
# the watermark lookup is for staff.


def _access_loan(o: Objects, user_id: int, title: str) -> tuple[int, int]:
    """A published item with a stored PDF and a licence, borrowed by ``user_id``: (loan, file)."""
    from library.models import Licence
    from media.models import PublicationState
    from vhs.db import utcnow

    data = media_samples.pdf(title=f"{title} {o.role}")
    sha256 = hashlib.sha256(data).hexdigest()
    get_storage().put(file_key(sha256), io.BytesIO(data), content_type="application/pdf")
    item = MediaItem(
        kind=MediaKind.DOCUMENT,
        title=f"{title} ({o.role})",
        state=PublicationState.PUBLISHED,
        published_at=utcnow(),
    )
    item.files.append(
        MediaFile(
            format=FileFormat.PDF, media_type="application/pdf", size_bytes=len(data), sha256=sha256
        )
    )
    db.session.add(item)
    db.session.flush()
    db.session.add(
        Licence(item_id=item.id, concurrency=1, active_loans=0, reserved=0, max_loan_days=21)
    )
    db.session.flush()
    return _borrow(user_id, item.id), item.files[0].id


def _file_link(user_id: int, loan_file: tuple[int, int]) -> str:
    from library.access.links import Action, sign
    from vhs.db import utcnow

    return f"/library/files/{sign(*loan_file, user_id, Action.DOWNLOAD, utcnow())}"


@builds("own_access_loan")
def _own_access_loan(o: Objects) -> tuple[int, int]:
    return _access_loan(o, o.account.id, "Matrix-Eigene-Datei")


@builds("victim_access_loan")
def _victim_access_loan(o: Objects) -> tuple[int, int]:
    return _access_loan(o, o.victim.id, "Matrix-Fremde-Datei")


@builds("own_file_link")
def _own_file_link(o: Objects) -> str:
    return _file_link(o.account.id, o.own_access_loan)


@builds("victim_file_link")
def _victim_file_link(o: Objects) -> str:
    return _file_link(o.victim.id, o.victim_access_loan)


@builds("ended_file_link")
def _ended_file_link(o: Objects) -> str:
    """A link of the account's loan, which has been returned since."""
    from library.loans.services import return_loan

    loan_file = _access_loan(o, o.account.id, "Matrix-Zurueckgegeben")
    link = _file_link(o.account.id, loan_file)
    return_loan(_user(o.account.id), loan_file[0])
    return link


@builds("watermark_code")
def _watermark_code(o: Objects) -> str:
    """The watermark of a download from the victim's loan."""
    from library.access.services import new_code
    from library.models import Watermark

    loan_id, file_id = o.victim_access_loan
    mark = Watermark(code=new_code(), loan_id=loan_id, file_id=file_id, downloads=1)
    db.session.add(mark)
    db.session.flush()
    return mark.code


def access_loan_of(attr: str) -> Foreign:
    """What B's loan reveals: its id, the file's id and the item's title."""

    def parts(o: Objects) -> list[int | str]:
        from library.models import Loan

        loan_id, file_id = getattr(o, attr)
        return [loan_id, file_id, db.session.get(Loan, loan_id).item.title]

    return parts


_OTHERS_LINK = {"anonymous": 200, **dict.fromkeys(SIGNED_IN, 403)}

EXPECTATIONS.update(
    {
        ("GET", "/library/files/<token>"): [
            Case("public", path=lambda o: o.own_file_link, check=_closed),
            Case(
                _OTHERS_LINK,
                path=lambda o: o.victim_file_link,
                note="someone else's link (anonymous: it is the victim's own)",
                check=_closed,
                foreign=access_loan_of("victim_access_loan"),
            ),
            Case(dict.fromkeys(ROLES, 410), path=lambda o: o.ended_file_link, note="returned"),
            Case(dict.fromkeys(ROLES, 403), path="/library/files/forged.token", note="forged"),
        ],
        ("GET", "/api/v1/loans/<int:loan_id>/links"): [
            Case("user", path=lambda o: f"/api/v1/loans/{o.own_access_loan[0]}/links"),
            Case(
                _NOT_OWN,
                path=lambda o: f"/api/v1/loans/{o.victim_access_loan[0]}/links",
                note="someone else's loan",
                foreign=access_loan_of("victim_access_loan"),
            ),
        ],
        ("GET", "/staff/library/watermarks"): "staff",
        ("POST", "/staff/library/watermarks"): Case(
            "staff", data=lambda o: {"code": o.watermark_code}
        ),
        ("GET", "/api/v1/staff/library/watermarks/<code>"): Case(
            "staff", path=lambda o: f"/api/v1/staff/library/watermarks/{o.watermark_code}"
        ),
    }
)


# --- reader: reading in the browser and the reading position (issue 13: library/reader) ---------
# A loan's reader page and position are its patron's only (404 for anyone else's, as access's
# links are); anonymous visitors log in first.


def _reader_loan(o: Objects, user_id: int, title: str) -> tuple[int, int]:
    """A published e-book with a stored EPUB and a licence, borrowed by ``user_id``, with a
    position saved: (loan, file)."""
    from library.models import Licence, ReadingPosition
    from media.models import PublicationState
    from vhs.db import utcnow

    data = media_samples.epub(title=f"{title} {o.role}")
    sha256 = hashlib.sha256(data).hexdigest()
    get_storage().put(file_key(sha256), io.BytesIO(data), content_type="application/epub+zip")
    item = MediaItem(
        kind=MediaKind.EBOOK,
        title=f"{title} ({o.role})",
        state=PublicationState.PUBLISHED,
        published_at=utcnow(),
    )
    item.files.append(
        MediaFile(
            format=FileFormat.EPUB,
            media_type="application/epub+zip",
            size_bytes=len(data),
            sha256=sha256,
        )
    )
    db.session.add(item)
    db.session.flush()
    db.session.add(
        Licence(item_id=item.id, concurrency=1, active_loans=0, reserved=0, max_loan_days=21)
    )
    db.session.flush()
    loan_id = _borrow(user_id, item.id)
    file_id = item.files[0].id
    db.session.add(
        ReadingPosition(loan_id=loan_id, file_id=file_id, cfi="epubcfi(/6/2!/4/1:0)", progress=0)
    )
    db.session.flush()
    return loan_id, file_id


@builds("own_reader_loan")
def _own_reader_loan(o: Objects) -> tuple[int, int]:
    return _reader_loan(o, o.account.id, "Matrix-Eigenes-Buch")


@builds("victim_reader_loan")
def _victim_reader_loan(o: Objects) -> tuple[int, int]:
    return _reader_loan(o, o.victim.id, "Matrix-Fremdes-Buch")


def _reader_path(attr: str) -> Callable[[Objects], str]:
    return lambda o: "/library/loans/{}/read/{}".format(*getattr(o, attr))


def _position_path(attr: str) -> Callable[[Objects], str]:
    return lambda o: f"/api/v1/loans/{getattr(o, attr)[0]}/position"


def _position_body(attr: str) -> Callable[[Objects], dict[str, Any]]:
    return lambda o: {
        "file_id": getattr(o, attr)[1],
        "cfi": "epubcfi(/6/4!/4/2/1:0)",
        "progress": 0.5,
    }


EXPECTATIONS.update(
    {
        ("GET", "/library/loans/<int:loan_id>/read/<int:file_id>"): [
            Case("user", path=_reader_path("own_reader_loan")),
            Case(
                _NOT_OWN,
                path=_reader_path("victim_reader_loan"),
                note="someone else's loan",
                foreign=access_loan_of("victim_reader_loan"),
            ),
        ],
        ("GET", "/api/v1/loans/<int:loan_id>/position"): [
            Case("user", path=_position_path("own_reader_loan")),
            Case(
                _NOT_OWN,
                path=_position_path("victim_reader_loan"),
                note="someone else's loan",
                foreign=access_loan_of("victim_reader_loan"),
            ),
        ],
        ("PUT", "/api/v1/loans/<int:loan_id>/position"): [
            Case(
                "user",
                path=_position_path("own_reader_loan"),
                data=_position_body("own_reader_loan"),
            ),
            Case(
                _NOT_OWN,
                path=_position_path("victim_reader_loan"),
                data=_position_body("victim_reader_loan"),
                note="someone else's loan",
                foreign=access_loan_of("victim_reader_loan"),
            ),
        ],
    }
)


# --- lending privacy (issue 12: the patron's opt-in to a "read before" list) -------------------
# No id in the URL: a patron reaches only their own card's setting. Opting out always works for
# a card holder; without a card the answer is 409 ``no_card``.
EXPECTATIONS.update(
    {
        ("POST", "/library/account/history"): [
            Case("user", ok=302, data=_with_own_card({}), note="opt out (with a card)"),
            Case(
                {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN, 409)},
                data={},
                note="no card",
            ),
        ],
        ("GET", "/api/v1/me/loans/history"): "user",
        ("PUT", "/api/v1/me/loans/history"): [
            Case("user", data=_with_own_card({"keep": False}), note="opt out (with a card)"),
            Case(
                {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN, 409)},
                data={"keep": False},
                note="no card",
            ),
        ],
    }
)


# --- course reading lists and course-bound copies (courses/reading_lists, library/dedications) --
# The list of a published course is public; changing it is for staff and the course's own
# instructors (instructor B is refused on A's course, 403 not_instructor). Dedicating copies of
# a licence to a course is for staff only.


def _reading_medium(o: Objects, title: str) -> int:
    from library.models import Licence
    from media.models import PublicationState
    from vhs.db import utcnow

    item = MediaItem(
        kind=MediaKind.EBOOK,
        title=f"{title} ({o.role})",
        state=PublicationState.PUBLISHED,
        published_at=utcnow(),
    )
    db.session.add(item)
    db.session.flush()
    db.session.add(
        Licence(item_id=item.id, concurrency=2, active_loans=0, reserved=0, max_loan_days=21)
    )
    db.session.flush()
    return item.id


@builds("reading_medium_id")
def _reading_medium_id(o: Objects) -> int:
    """A published medium with two free copies, on no list yet."""
    return _reading_medium(o, "Matrix-Lektüre")


def _reading_entry(course_id: int, o: Objects) -> tuple[int, int]:
    from courses.reading_lists.models import CourseReadingItem

    entry = CourseReadingItem(
        course_id=course_id, item_id=_reading_medium(o, "Matrix-Liste"), note="", position=1
    )
    db.session.add(entry)
    db.session.flush()
    return course_id, entry.id


@builds("own_reading_entry")
def _own_reading_entry(o: Objects) -> tuple[int, int]:
    """(course, entry): an entry on a course the acting instructor/staff member teaches."""
    return _reading_entry(o.taught_course_id, o)


@builds("others_reading_entry")
def _others_reading_entry(o: Objects) -> tuple[int, int]:
    """(course, entry): an entry on instructor B's course."""
    return _reading_entry(o.others_course_id, o)


@builds("dedication_course_id")
def _dedication_course_id(o: Objects) -> int:
    """A published course whose sessions lie ahead."""
    return _factories().new_course(title="Matrix-Kurslizenz", starts_in_days=3).id


@builds("dedication_id")
def _dedication_id(o: Objects) -> int:
    """A running dedication of one copy to a course."""
    from library.models import Licence, LicenceDedication
    from vhs.db import utcnow

    item_id = _reading_medium(o, "Matrix-Kurszuordnung")
    licence_id = db.session.execute(
        db.select(Licence.id).where(Licence.item_id == item_id)
    ).scalar_one()
    dedication = LicenceDedication(
        licence_id=licence_id,
        group_type="course",
        group_id=o.dedication_course_id,
        copies=1,
        active_loans=0,
        ends_at=utcnow().replace(year=utcnow().year + 1),
    )
    db.session.add(dedication)
    db.session.flush()
    return dedication.id


def _reading(attr: str, suffix: str = "", api: bool = True) -> PathSpec:
    """The list's URL (``attr``: a course id) or an entry's (``attr``: (course, entry))."""

    def path(o: Objects) -> str:
        value = getattr(o, attr)
        base = "/api/v1/courses" if api else "/courses"
        if isinstance(value, tuple):
            return f"{base}/{value[0]}/reading-list/{value[1]}{suffix}"
        return f"{base}/{value}/reading-list{suffix}"

    return path


EXPECTATIONS.update(
    {
        ("GET", "/api/v1/courses/<int:course_id>/reading-list"): [
            Case("public", path=_reading("published_course_id")),
            Case(
                _NOT_FOUND_BUT_STAFF,
                path=_reading("draft_course_id"),
                note="a draft",
                foreign=course_code("draft_course_id"),
            ),
        ],
        ("POST", "/api/v1/courses/<int:course_id>/reading-list"): [
            Case(
                "instructor",
                ok=201,
                path=_reading("taught_course_id"),
                data=lambda o: {"item_id": o.reading_medium_id, "note": "bis Termin 3"},
            ),
            Case(
                _OTHERS_COURSE,
                ok=201,
                path=_reading("others_course_id"),
                data=lambda o: {"item_id": o.reading_medium_id},
                note="instructor B on A's course",
            ),
        ],
        ("PATCH", "/api/v1/courses/<int:course_id>/reading-list/<int:entry_id>"): [
            Case("instructor", path=_reading("own_reading_entry"), data={"note": "neu"}),
            Case(
                _OTHERS_COURSE,
                path=_reading("others_reading_entry"),
                data={"note": "neu"},
                note="instructor B on A's course",
            ),
        ],
        ("DELETE", "/api/v1/courses/<int:course_id>/reading-list/<int:entry_id>"): [
            Case("instructor", ok=204, path=_reading("own_reading_entry")),
            Case(
                _OTHERS_COURSE,
                ok=204,
                path=_reading("others_reading_entry"),
                note="instructor B on A's course",
            ),
        ],
        ("GET", "/courses/<int:course_id>/reading-list"): [
            Case("instructor", path=_reading("taught_course_id", api=False), query={"q": "Matrix"}),
            Case(
                _OTHERS_COURSE,
                path=_reading("others_course_id", api=False),
                note="instructor B on A's course",
            ),
        ],
        ("POST", "/courses/<int:course_id>/reading-list"): [
            Case(
                "instructor",
                ok=302,
                path=_reading("taught_course_id", api=False),
                data=lambda o: {"item_id": str(o.reading_medium_id), "note": "Kapitel 1"},
            ),
            Case(
                _OTHERS_COURSE,
                ok=302,
                path=_reading("others_course_id", api=False),
                data=lambda o: {"item_id": str(o.reading_medium_id)},
                note="instructor B on A's course",
            ),
        ],
        ("POST", "/courses/<int:course_id>/reading-list/<int:entry_id>"): [
            Case(
                "instructor",
                ok=302,
                path=_reading("own_reading_entry", api=False),
                data={"note": "neu", "position": "1"},
            ),
            Case(
                _OTHERS_COURSE,
                ok=302,
                path=_reading("others_reading_entry", api=False),
                data={"note": "neu", "position": "1"},
                note="instructor B on A's course",
            ),
        ],
        ("GET", "/courses/<int:course_id>/reading-list/<int:entry_id>/remove"): [
            Case("instructor", path=_reading("own_reading_entry", "/remove", api=False)),
            Case(
                _OTHERS_COURSE,
                path=_reading("others_reading_entry", "/remove", api=False),
                note="instructor B on A's course",
            ),
        ],
        ("POST", "/courses/<int:course_id>/reading-list/<int:entry_id>/remove"): [
            Case("instructor", ok=302, path=_reading("own_reading_entry", "/remove", api=False)),
            Case(
                _OTHERS_COURSE,
                ok=302,
                path=_reading("others_reading_entry", "/remove", api=False),
                note="instructor B on A's course",
            ),
        ],
        # staff: copies of a licence for a course
        ("GET", "/api/v1/staff/library/licences/<int:licence_id>/dedications"): Case(
            "staff", path=lambda o: f"/api/v1/staff/library/licences/{o.licence_id}/dedications"
        ),
        ("POST", "/api/v1/staff/library/licences/<int:licence_id>/dedications"): Case(
            "staff",
            ok=201,
            path=lambda o: f"/api/v1/staff/library/licences/{o.licence_id}/dedications",
            data=lambda o: {"group_id": o.dedication_course_id, "copies": 1},
        ),
        ("POST", "/api/v1/staff/library/dedications/<int:dedication_id>/end"): Case(
            "staff", path=lambda o: f"/api/v1/staff/library/dedications/{o.dedication_id}/end"
        ),
        ("GET", "/staff/library/licences/<int:licence_id>/dedications"): Case(
            "staff", path=lambda o: f"/staff/library/licences/{o.licence_id}/dedications"
        ),
        ("POST", "/staff/library/licences/<int:licence_id>/dedications"): Case(
            "staff",
            ok=302,
            path=lambda o: f"/staff/library/licences/{o.licence_id}/dedications",
            data=lambda o: {"group_id": str(o.dedication_course_id), "copies": "1"},
        ),
        ("POST", "/staff/library/dedications/<int:dedication_id>/end"): Case(
            "staff", ok=302, path=lambda o: f"/staff/library/dedications/{o.dedication_id}/end"
        ),
    }
)
# --- ODL distributors (library/distributors: staff pages and API, notifications) -------------

# A feed nobody answers (port 9, discard): "sync now" records a failed sync at once.
_DEAD_FEED = "http://127.0.0.1:9/feed"


@builds("distributor_id")
def _distributor_id(o: Objects) -> int:
    """A distributor without licences (so it may be deleted)."""
    from library.distributors.services import add_distributor

    admin = User(name="System", email="", role=Role.ADMIN)
    # A feed of its own each time: the edge sweep builds one per role in one database, and
    # a feed belongs to one distributor.
    feed = f"{_DEAD_FEED}/{uuid.uuid4().hex}"
    return add_distributor(admin, {"name": "Matrix-Vertrieb", "feed_url": feed}).id


def _distributor(suffix: str = "") -> Callable[[Objects], str]:
    return lambda o: f"/staff/library/distributors/{o.distributor_id}{suffix}"


def _distributor_api(suffix: str = "") -> Callable[[Objects], str]:
    return lambda o: f"/api/v1/staff/library/distributors/{o.distributor_id}{suffix}"


_DISTRIBUTOR_FORM = {"name": "Matrix-Anbieter", "feed_url": "http://127.0.0.1:9/other"}

EXPECTATIONS.update(
    {
        ("GET", "/staff/library/distributors"): "staff",
        ("POST", "/staff/library/distributors"): Case("staff", ok=302, data=_DISTRIBUTOR_FORM),
        ("GET", "/staff/library/distributors/<int:distributor_id>/edit"): Case(
            "staff", path=_distributor("/edit")
        ),
        ("POST", "/staff/library/distributors/<int:distributor_id>/edit"): Case(
            "staff", ok=302, path=_distributor("/edit"), data=_DISTRIBUTOR_FORM
        ),
        ("GET", "/staff/library/distributors/<int:distributor_id>/delete"): Case(
            "staff", path=_distributor("/delete")
        ),
        ("POST", "/staff/library/distributors/<int:distributor_id>/delete"): Case(
            "staff", ok=302, path=_distributor("/delete")
        ),
        ("POST", "/staff/library/distributors/<int:distributor_id>/sync"): Case(
            "staff", ok=302, path=_distributor("/sync")
        ),
        ("GET", "/api/v1/staff/library/distributors"): "staff",
        ("POST", "/api/v1/staff/library/distributors"): Case(
            "staff", ok=201, data=_DISTRIBUTOR_FORM
        ),
        ("GET", "/api/v1/staff/library/distributors/<int:distributor_id>"): Case(
            "staff", path=_distributor_api()
        ),
        ("PATCH", "/api/v1/staff/library/distributors/<int:distributor_id>"): Case(
            "staff", path=_distributor_api(), data={"name": "Umbenannt"}
        ),
        ("DELETE", "/api/v1/staff/library/distributors/<int:distributor_id>"): Case(
            "staff", ok=204, path=_distributor_api()
        ),
        ("POST", "/api/v1/staff/library/distributors/<int:distributor_id>/sync"): Case(
            "staff", ok=202, path=_distributor_api("/sync")
        ),
        # A machine posts here; the signed token is the credential: a forged one is 404 for all.
        ("POST", "/library/odl/notify/<token>"): Case(
            "public", ok=404, path="/library/odl/notify/forged", note="forged token"
        ),
    }
)


# --- OPDS for reading apps (issue 13: library/opds) --------------------------------------------
# Feeds, the authentication document and the images are public. The shelf, borrowing and
# returning take HTTP Basic (card number and PIN) and never the browser session: every role
# sends its own card's Basic header, anonymous sends none and gets 401 with the document.
# Returning someone else's loan is "not found" (the app's revoke link names an item; the
# acting patron has no loan or hold on it).

_OPDS_PIN = "2468"
_OPDS_PIN_HASH: dict[str, str] = {}


@builds("opds_basic")
def _opds_basic(o: Objects) -> dict[str, str]:
    """The acting account's card with a well-formed number and a PIN, as a Basic header."""
    import base64

    from library.models import CardState, LibraryCard
    from library.patrons.services import new_card_number
    from vhs.accounts.services import hash_password

    if o.user is None:
        return {}
    if _OPDS_PIN not in _OPDS_PIN_HASH:
        _OPDS_PIN_HASH[_OPDS_PIN] = hash_password(_OPDS_PIN)
    card = db.session.execute(
        db.select(LibraryCard).where(LibraryCard.user_id == o.user.id)
    ).scalar_one_or_none()
    if card is None:
        from datetime import date, timedelta

        card = LibraryCard(
            user_id=o.user.id,
            number=new_card_number(),
            state=CardState.ACTIVE,
            valid_until=date.today() + timedelta(days=365),
        )
        db.session.add(card)
    else:
        card.number = new_card_number()
    card.pin_hash = _OPDS_PIN_HASH[_OPDS_PIN]
    db.session.flush()
    token = base64.b64encode(f"{card.number}:{_OPDS_PIN}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@builds("own_lent_item_id")
def _own_lent_item_id(o: Objects) -> int:
    """An item the acting account (or, for anonymous, the victim) has borrowed."""
    item_id = _lending_item(o, copies=1, title="Matrix-OPDS-Eigene")
    _borrow(o.account.id, item_id)
    return item_id


def _basic_header(o: Objects) -> dict[str, str]:
    return o.opds_basic


def _own_state_is_private(resp: Any, o: Objects) -> None:
    """A feed with a card's Basic header shows that patron's loan (a revoke link) and is
    never cached; without one it is the public entry (a borrow link)."""
    body = resp.get_data(as_text=True)
    if o.user is None:
        assert resp.headers["Cache-Control"] == "no-cache"
        assert "/revoke" not in body and "/borrow" in body
    else:
        assert resp.headers["Cache-Control"] == "private, no-store"
        assert "/revoke" in body and "/borrow" not in body


# Who gets what with their own card's Basic header (anonymous: none).
_OPDS_PATRON = {"anonymous": 401, **dict.fromkeys(SIGNED_IN, OK)}
_OPDS_NOT_THEIRS = {"anonymous": 401, **dict.fromkeys(SIGNED_IN, 404)}


def _opds_routes() -> dict[tuple[str, str], Entry]:
    entries: dict[tuple[str, str], Entry] = {
        ("GET", "/opds/opensearch.xml"): "public",
        ("GET", "/opds/auth"): "public",
        ("GET", "/opds/logo.png"): "public",
        ("GET", "/opds/placeholder-cover.png"): "public",
    }
    for prefix in ("/opds", "/opds/v2"):
        entries.update(
            {
                ("GET", f"{prefix}/"): "public",
                ("GET", f"{prefix}/catalogue"): Case("public", query={"kind": "ebook"}),
                ("GET", f"{prefix}/search"): Case("public", query={"q": "Matrix"}),
                ("GET", f"{prefix}/subjects"): "public",
                ("GET", f"{prefix}/series"): "public",
                ("GET", f"{prefix}/works/<int:item_id>"): [
                    Case("public", path=lambda o, p=prefix: f"{p}/works/{o.lending_item_id}"),
                    # With a card's Basic header a feed answers that patron's own state: their
                    # loan (private); anonymous (no header) sees the victim's item publicly.
                    Case(
                        "public",
                        path=lambda o, p=prefix: f"{p}/works/{o.own_lent_item_id}",
                        headers=_basic_header,
                        check=_own_state_is_private,
                        note="with the patron's credentials",
                    ),
                ],
                ("GET", f"{prefix}/shelf"): Case(_OPDS_PATRON, headers=_basic_header),
            }
        )
        for method in ("GET", "PUT"):
            entries[(method, f"{prefix}/works/<int:item_id>/borrow")] = Case(
                _OPDS_PATRON,
                ok=201,
                path=lambda o, p=prefix: f"{p}/works/{o.lending_item_id}/borrow",
                headers=_basic_header,
            )
            entries[(method, f"{prefix}/loans/<int:item_id>/revoke")] = [
                Case(
                    _OPDS_PATRON,
                    path=lambda o, p=prefix: f"{p}/loans/{o.own_lent_item_id}/revoke",
                    headers=_basic_header,
                    note="own loan",
                ),
                Case(
                    _OPDS_NOT_THEIRS,
                    path=lambda o, p=prefix: f"{p}/loans/{o.lent_item_id}/revoke",
                    headers=_basic_header,
                    foreign=loan_of("victim_loan_of_lent_item"),
                    note="someone else's loan",
                ),
            ]
    return entries


@builds("victim_loan_of_lent_item")
def _victim_loan_of_lent_item(o: Objects) -> int:
    """The victim's loan of ``lent_item_id``."""
    from library.models import Loan

    return db.session.execute(
        db.select(Loan.id).where(Loan.item_id == o.lent_item_id, Loan.ended_at.is_(None))
    ).scalar_one()


EXPECTATIONS.update(_opds_routes())


# --- API twins of HTML write routes (issue 14: the whole API; tests/test_api_twins.py) ----------
# The same objects and the same per-object refusals as the pages they twin.


def _marks(o: Objects) -> dict[str, Any]:
    return {"marks": [{"user_id": o.victim.id, "present": True}]}


EXPECTATIONS.update(
    {
        # the caller's own account
        ("DELETE", "/api/v1/me"): Case(
            # The last administrator cannot erase their account (409), as on the page.
            {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN[:-1], 204), "admin": {204, 409}},
            ok=204,
            data=lambda o: {"password": o.password, "confirm": True},
        ),
        ("PUT", "/api/v1/me/password"): Case(
            "user",
            ok=204,
            data=lambda o: {"current_password": o.password, "new_password": "ein neues Passwort"},
        ),
        ("POST", "/api/v1/me/email"): Case(
            "user",
            ok=202,
            data=lambda o: {"new_email": f"neu-{o.role}@example.org", "password": o.password},
        ),
        ("POST", "/api/v1/me/verification"): Case("user", ok=202),
        # payments: the invoice PDF, own (staff: any)
        ("GET", "/api/v1/payments/<int:payment_id>/invoice.pdf"): [
            Case(
                "user",
                path=lambda o: f"/api/v1/payments/{o.own_payment_id}/invoice.pdf",
                check=_pdf_is_theirs,
            ),
            Case(
                _own_or_staff(200),
                path=lambda o: f"/api/v1/payments/{o.victim_payment_id}/invoice.pdf",
                note="someone else's invoice",
                foreign=paid_for("victim_payment_id"),
            ),
        ],
        # planning (staff)
        ("PATCH", "/api/v1/categories/<int:category_id>"): Case(
            "staff",
            path=lambda o: f"/api/v1/categories/{o.api_category_id}",
            data={"name_en": "Renamed"},
        ),
        ("POST", "/api/v1/staff/courses/<int:course_id>/complete"): Case(
            "staff", path=lambda o: f"/api/v1/staff/courses/{o.staff_course_id}/complete"
        ),
        # webinars: attendance (the course's instructors, staff), rooms (staff)
        ("GET", "/api/v1/sessions/<int:session_id>/attendance"): [
            Case(
                "instructor",
                path=_session_path("taught_past_session_id", "/api/v1", "/attendance"),
                check=shows_victim_name,
            ),
            Case(
                _OTHERS_COURSE,
                path=_session_path("others_past_session_id", "/api/v1", "/attendance"),
                check=shows_victim_name,
                note="another instructor's course",
                foreign=foreign(),
            ),
        ],
        ("PATCH", "/api/v1/sessions/<int:session_id>/attendance"): [
            Case(
                "instructor",
                path=_session_path("taught_past_session_id", "/api/v1", "/attendance"),
                data=_marks,
            ),
            Case(
                _OTHERS_COURSE,
                path=_session_path("others_past_session_id", "/api/v1", "/attendance"),
                data=_marks,
                note="another instructor's course",
                foreign=foreign(),
            ),
        ],
        ("POST", "/api/v1/staff/sessions/<int:session_id>/room/replace"): Case(
            "staff",
            ok=204,
            path=_session_path("webinar_others_session_id", "/api/v1/staff", "/room/replace"),
        ),
        # certificates
        ("GET", "/api/v1/courses/<int:course_id>/certificate.pdf"): [
            Case(
                "user",
                path=lambda o: f"/api/v1/courses/{o.certificate_course_id}/certificate.pdf",
                check=_pdf_is_theirs,
            ),
            Case(
                _NOT_THEIRS,
                path=lambda o: f"/api/v1/courses/{o.others_certificate_course_id}/certificate.pdf",
                note="a course one did not take part in",
                foreign=foreign(),
            ),
        ],
        ("GET", "/api/v1/staff/courses/<int:course_id>/certificates"): Case(
            "staff", path=lambda o: f"/api/v1/staff/courses/{o.certificate_course_id}/certificates"
        ),
        ("POST", "/api/v1/staff/courses/<int:course_id>/certificates"): Case(
            "staff",
            ok=201,
            path=lambda o: f"/api/v1/staff/courses/{o.issuable_course_id}/certificates",
            data=lambda o: {"user_id": o.victim.id},
        ),
        ("POST", "/api/v1/staff/certificates/<int:certificate_id>/revoke"): Case(
            "staff",
            path=lambda o: f"/api/v1/staff/certificates/{o.certificate_id}/revoke",
            data={"reason": "Anwesenheit falsch erfasst"},
        ),
        ("GET", "/api/v1/staff/certificates/<int:certificate_id>/certificate.pdf"): Case(
            "staff",
            path=lambda o: f"/api/v1/staff/certificates/{o.certificate_id}/certificate.pdf",
            check=_pdf_is_theirs,
        ),
        # library: the fee (cards are free unless configured: nothing to pay), watermark files
        ("POST", "/api/v1/me/card/fee/payment"): Case(
            {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN, 409)},
            data=_with_own_card({"provider": "manual"}),
        ),
        # Without a file the staff get 422 (the part is required); others never get that far.
        ("POST", "/api/v1/staff/library/watermarks"): Case("staff", ok=422),
    }
)

# --- the office (issue 14): teaching units, instructor fees and statements, term reports ------
# Staff set the teaching-units override and the fees, issue statements and read the reports;
# an instructor reads their own statements (page, PDF, CSV, API) and gets 403 for anyone
# else's (code not_your_statement); residents have no statements (403).


@builds("office_instructor_id")
def _office_instructor_id(o: Objects) -> int:
    from tests.courses import factories

    return factories.new_user("instructor", name="Hanna Honorar").id


@builds("office_course_id")
def _office_course_id(o: Objects) -> int:
    """A course whose sessions are all held, with a fee agreed for its instructor."""
    from tests.courses.office.factories import new_held_course

    return new_held_course(o.office_instructor_id).id


@builds("office_term_id")
def _office_term_id(o: Objects) -> int:
    return db.session.get(Course, o.office_course_id).term_id


@builds("own_statement_id")
def _own_statement_id(o: Objects) -> int:
    """A statement issued to the acting account where it can teach; else to someone else."""
    from tests.courses import factories
    from tests.courses.office.factories import new_statement

    teaches = o.user is not None and o.role in ("instructor", "staff", "admin")
    instructor_id = o.user.id if teaches else factories.new_user("instructor").id
    return new_statement(instructor_id).id


@builds("others_statement_id")
def _others_statement_id(o: Objects) -> int:
    """Instructor B's statement."""
    from tests.courses import factories
    from tests.courses.office.factories import new_statement

    return new_statement(factories.new_user("instructor", name="Ines Andere").id).id


def statement_number(attr: str) -> Foreign:
    """The number of the statement ``Objects.<attr>`` and its instructor's name."""

    def parts(o: Objects) -> list[int | str]:
        from courses.office.models import FeeStatement

        statement = db.session.get(FeeStatement, getattr(o, attr))
        return [statement.number, statement.instructor_name]

    return parts


def _office_course(suffix: str) -> PathSpec:
    return lambda o: f"/staff/courses/{o.office_course_id}{suffix}"


def _statement_path(attr: str, prefix: str, suffix: str = "") -> PathSpec:
    return lambda o: f"{prefix}/{getattr(o, attr)}{suffix}"


def _statement_cases(prefix: str, suffix: str = "") -> list[Case]:
    return [
        Case("instructor", path=_statement_path("own_statement_id", prefix, suffix), note="own"),
        Case(
            "staff",
            path=_statement_path("others_statement_id", prefix, suffix),
            foreign=statement_number("others_statement_id"),
            note="another instructor's",
        ),
    ]


def _term_query(o: Objects) -> dict[str, Any]:
    return {"term_id": str(o.office_term_id)}


def _statement_query(o: Objects) -> dict[str, Any]:
    return {"term_id": str(o.office_term_id), "instructor_id": str(o.office_instructor_id)}


def _statement_json(o: Objects) -> dict[str, Any]:
    return {"term_id": o.office_term_id, "instructor_id": o.office_instructor_id}


def _rate_form(o: Objects) -> dict[str, Any]:
    prefix = f"rate-{o.office_instructor_id}"
    return {f"{prefix}-kind": "per_unit", f"{prefix}-amount_cents": "36,50"}


_UNITS_FORM = {"units-teaching_units": "12,5", "units-reason": "Selbstlernphase eingerechnet"}

EXPECTATIONS.update(
    {
        ("POST", "/staff/courses/<int:course_id>/teaching-units"): Case(
            "staff", ok=302, path=_office_course("/teaching-units"), data=_UNITS_FORM
        ),
        ("GET", "/staff/courses/<int:course_id>/teaching-units/clear"): Case(
            "staff", path=_office_course("/teaching-units/clear")
        ),
        ("POST", "/staff/courses/<int:course_id>/teaching-units/clear"): Case(
            "staff", ok=302, path=_office_course("/teaching-units/clear"), data={"reason": ""}
        ),
        ("GET", "/api/v1/staff/courses/<int:course_id>/teaching-units"): Case(
            "staff", path=lambda o: f"/api/v1/staff/courses/{o.office_course_id}/teaching-units"
        ),
        ("PUT", "/api/v1/staff/courses/<int:course_id>/teaching-units"): Case(
            "staff",
            path=lambda o: f"/api/v1/staff/courses/{o.office_course_id}/teaching-units",
            data={"teaching_units": 12.5, "reason": "Selbstlernphase eingerechnet"},
        ),
        ("GET", "/staff/courses/<int:course_id>/rates"): Case(
            "staff", path=_office_course("/rates")
        ),
        ("POST", "/staff/courses/<int:course_id>/rates/<int:instructor_id>"): Case(
            "staff",
            ok=302,
            path=lambda o: f"/staff/courses/{o.office_course_id}/rates/{o.office_instructor_id}",
            data=_rate_form,
        ),
        ("GET", "/api/v1/staff/courses/<int:course_id>/rates"): Case(
            "staff", path=lambda o: f"/api/v1/staff/courses/{o.office_course_id}/rates"
        ),
        ("PUT", "/api/v1/staff/courses/<int:course_id>/rates/<int:instructor_id>"): Case(
            "staff",
            path=lambda o: (
                f"/api/v1/staff/courses/{o.office_course_id}/rates/{o.office_instructor_id}"
            ),
            data={"kind": "flat", "amount_cents": 48000},
        ),
        ("GET", "/staff/statements"): Case("staff", query=_term_query),
        ("GET", "/staff/statements/preview"): Case("staff", query=_statement_query),
        ("POST", "/staff/statements/issue"): Case("staff", ok=302, data=_statement_query),
        ("GET", "/api/v1/staff/statements"): Case("staff", query=_term_query),
        ("POST", "/api/v1/staff/statements"): Case("staff", ok=201, data=_statement_json),
        ("GET", "/api/v1/staff/statements/preview"): Case("staff", query=_statement_query),
        ("GET", "/teaching/statements"): "instructor",
        ("GET", "/api/v1/statements"): "instructor",
        ("GET", "/teaching/statements/<int:statement_id>"): _statement_cases(
            "/teaching/statements"
        ),
        ("GET", "/teaching/statements/<int:statement_id>.pdf"): _statement_cases(
            "/teaching/statements", ".pdf"
        ),
        ("GET", "/teaching/statements/<int:statement_id>.csv"): _statement_cases(
            "/teaching/statements", ".csv"
        ),
        ("GET", "/api/v1/statements/<int:statement_id>"): _statement_cases("/api/v1/statements"),
        ("GET", "/api/v1/statements/<int:statement_id>/pdf"): _statement_cases(
            "/api/v1/statements", "/pdf"
        ),
        ("GET", "/staff/reports/term"): Case("staff", query=_term_query),
        ("GET", "/staff/reports/term.csv"): Case("staff", query=_term_query),
        ("GET", "/api/v1/staff/reports/term"): Case("staff", query=_term_query),
    }
)


# --- issue 14: credit notes, reduction checks, move previews (vhs/payments, courses/enrolment) -


def _credit_note_for(enrolment_id: int) -> int:
    """A credit note on a paid booking's payment (a refund of 10 €)."""
    from vhs.payments import refunds
    from vhs.payments import services as payments

    payment = db.session.get(Payment, _manual_payment_for(enrolment_id))
    staff = _factories().new_user(Role.STAFF)
    payments.mark_paid_manually(payment, staff)
    refunds.refund_by_staff(payment, staff, 1000, "Kulanz")
    return payment.credit_notes[-1].id


@builds("own_credit_note_id")
def _own_credit_note_id(o: Objects) -> int:
    return _credit_note_for(o.own_pending_enrolment_id)


@builds("victim_credit_note_id")
def _victim_credit_note_id(o: Objects) -> int:
    return _credit_note_for(o.victim_pending_enrolment_id)


@builds("claimed_reduction_enrolment_id")
def _claimed_reduction_enrolment_id(o: Objects) -> int:
    """A booking of the victim that claims a reduction not yet checked."""
    f = _factories()
    course = f.new_course(capacity=50, fee_cents=8000, reduced_fee_cents=5600)
    return f.new_enrolment(course, o.victim.id, reduction="student").id


def _credit_note_of(attr: str) -> Foreign:
    """The number of the credit note ``Objects.<attr>``."""

    def parts(o: Objects) -> list[int | str]:
        from vhs.payments.models import CreditNote

        return [db.session.get(CreditNote, getattr(o, attr)).number]

    return parts


def _reduction_path(suffix: str = "") -> Callable[[Objects], str]:
    return lambda o: f"/staff/enrolments/{o.claimed_reduction_enrolment_id}/reduction{suffix}"


EXPECTATIONS.update(
    {
        ("GET", "/credit-notes/<int:credit_note_id>.pdf"): [
            Case("user", path=lambda o: f"/credit-notes/{o.own_credit_note_id}.pdf"),
            Case(
                _own_or_staff(200),
                path=lambda o: f"/credit-notes/{o.victim_credit_note_id}.pdf",
                note="someone else's credit note",
            ),
        ],
        ("GET", "/api/v1/credit-notes"): [
            Case("user", check=_not_listed("victim_credit_note_id"), note="own only"),
            Case(
                "user",
                query={"everyone": "true"},
                check=lambda resp, o: (
                    None
                    if o.role in ("staff", "admin")
                    else _not_listed("victim_credit_note_id")(resp, o)
                ),
                note="everyone: staff only",
            ),
        ],
        ("GET", "/api/v1/credit-notes/<int:credit_note_id>/pdf"): [
            Case("user", path=lambda o: f"/api/v1/credit-notes/{o.own_credit_note_id}/pdf"),
            Case(
                _own_or_staff(200),
                path=lambda o: f"/api/v1/credit-notes/{o.victim_credit_note_id}/pdf",
                note="someone else's credit note",
                foreign=_credit_note_of("victim_credit_note_id"),
            ),
        ],
        ("GET", "/staff/enrolments/<int:enrolment_id>/reduction"): Case(
            "staff", path=_reduction_path()
        ),
        ("POST", "/staff/enrolments/<int:enrolment_id>/reduction"): [
            Case(
                "staff",
                path=_reduction_path(),
                data={"decision": "rejected", "note": "Kein Nachweis"},
                note="first step: confirm",
            ),
            Case(
                "staff",
                ok=302,
                path=_reduction_path(),
                data={"decision": "verified", "note": "", "confirmed": "y"},
                note="confirmed",
            ),
        ],
        ("GET", "/api/v1/enrolments/<int:enrolment_id>/reduction"): Case(
            "staff",
            path=lambda o: f"/api/v1/enrolments/{o.claimed_reduction_enrolment_id}/reduction",
        ),
        ("POST", "/api/v1/enrolments/<int:enrolment_id>/reduction"): Case(
            "staff",
            path=lambda o: f"/api/v1/enrolments/{o.claimed_reduction_enrolment_id}/reduction",
            data={"decision": "rejected", "note": "Kein Nachweis"},
        ),
        ("GET", "/api/v1/enrolments/<int:enrolment_id>/move-preview"): Case(
            "staff",
            path=lambda o: f"/api/v1/enrolments/{o.victim_pending_enrolment_id}/move-preview",
            query=lambda o: {"course_id": str(o.api_course_id)},
        ),
    }
)
