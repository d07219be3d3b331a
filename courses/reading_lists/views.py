"""Reading-list pages: the section on the course page, and the editing page for staff and the
course's instructors (add by searching the catalogue or by number, note, order, remove)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from courses import access
from courses.blueprints import courses as bp
from courses.models import Course
from courses.reading_lists import services
from courses.reading_lists.forms import AddReadingItemForm, EditReadingItemForm
from courses.reading_lists.models import CourseReadingItem
from media.catalogue.labels import KIND_LABELS
from vhs.auth import current, require_user, user_required
from vhs.cache import track
from vhs.db import db
from vhs.errors import Conflict, Invalid
from vhs.forms import EmptyForm, apply_errors

# The course page is cached for visitors without an account per catalogue version: a change
# of the list shows at once. (Anonymous visitors see no numbers of copies, which change by the
# minute; the library's lending page shows them live.)
track("catalogue", CourseReadingItem)


@bp.app_template_global()
def reading_list_panel(course: Course) -> dict[str, Any] | None:
    """What the course page shows of the reading list (None: nothing to show)."""
    user = current()
    rows = services.reading_list(course, user)
    editor = services.can_edit(user, course)
    if not rows and not editor:
        return None
    return {
        "rows": rows,
        "can_edit": editor,
        "numbers": user is not None,
        "borrow_form": EmptyForm(formdata=None) if any(r.can_borrow for r in rows) else None,
        "kind_labels": KIND_LABELS,
    }


def _editor_page(course_id: int, add_form: AddReadingItemForm | None = None, status: int = 200):
    actor = require_user()
    course = access.get_course(course_id, actor)
    services.require_editor(actor, course)
    q = (request.args.get("q") or "")[:200]
    entries = services.entries(course, published_only=False)
    page = render_template(
        "courses/reading_lists/edit.html",
        course=course,
        entries=entries,
        edit_forms={
            e.id: EditReadingItemForm(formdata=None, note=e.note, position=e.position)
            for e in entries
        },
        add_form=add_form or AddReadingItemForm(formdata=None),
        q=q,
        found=services.find_media(q),
        kind_labels=KIND_LABELS,
    )
    return page, status


def _refused(form: Any, exc: Invalid | Conflict) -> None:
    db.session.rollback()
    apply_errors(form, Invalid(exc.detail, errors=exc.errors))
    if isinstance(exc, Conflict):
        form.form_errors.append(str(exc.detail))


@bp.route("/courses/<int:course_id>/reading-list")
@user_required
def edit_reading_list(course_id: int) -> Any:
    """The editing page of a course's reading list (staff, the course's instructors)."""
    return _editor_page(course_id)


@bp.route("/courses/<int:course_id>/reading-list", methods=["POST"])
@user_required
def add_reading_item(course_id: int) -> Any:
    """Put a medium on the list."""
    actor = require_user()
    course = access.get_course(course_id, actor)
    services.require_editor(actor, course)
    form = AddReadingItemForm()
    if form.validate_on_submit():
        try:
            services.add_item(actor, course, form.to_data())
        except (Invalid, Conflict) as exc:
            _refused(form, exc)
        else:
            flash(_("The medium is on the reading list."), "success")
            return redirect(url_for(".edit_reading_list", course_id=course_id))
    return _editor_page(course_id, form, 422)


@bp.route("/courses/<int:course_id>/reading-list/<int:entry_id>", methods=["POST"])
@user_required
def update_reading_item(course_id: int, entry_id: int) -> Any:
    """Save an entry's note and place."""
    actor = require_user()
    course = access.get_course(course_id, actor)
    services.require_editor(actor, course)
    form = EditReadingItemForm()
    if not form.validate_on_submit():
        raise Invalid(errors=form.errors)
    services.update_item(actor, course, entry_id, form.to_data())
    flash(_("The reading list has been saved."), "success")
    return redirect(url_for(".edit_reading_list", course_id=course_id))


@bp.route("/courses/<int:course_id>/reading-list/<int:entry_id>/remove", methods=["GET", "POST"])
@user_required
def remove_reading_item(course_id: int, entry_id: int) -> Any:
    """Ask, then take a medium off the list."""
    actor = require_user()
    course = access.get_course(course_id, actor)
    services.require_editor(actor, course)
    entry = services.get_entry(course, entry_id)
    form = EmptyForm()
    if request.method == "POST" and form.validate_on_submit():
        services.remove_item(actor, course, entry_id)
        flash(_("The medium is no longer on the reading list."), "success")
        return redirect(url_for(".edit_reading_list", course_id=course_id))
    return render_template(
        "courses/reading_lists/remove.html", course=course, entry=entry, form=form
    )
