"""Admins write and publish courses here, in the same Markdown as courses/."""

from __future__ import annotations

import posixpath

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import undefer

from app import policy
from app.authoring.archive import ArchiveRefused, tree_from_zip, zip_of_files
from app.authoring.importer import import_course_source
from app.authoring.media import publishable
from app.authoring.parse import body_of, read_course_tree, resolve_link
from app.authoring.render import render_markdown
from app.extensions import db
from app.focal.forms import ActionForm
from app.models import Course, CourseVersion, SourceFile
from app.services import drafts
from app.services.errors import DomainError, NotFound
from app.studio.forms import (
    EditForm,
    GiftForm,
    MediaForm,
    NewCourseForm,
    NewItemForm,
    NewModuleForm,
    PathForm,
    RenameForm,
    ZipForm,
)
from app.web import options

bp = Blueprint("studio", __name__, url_prefix="/admin/courses")


@bp.before_request
@login_required
def admins_only():
    if not policy.can_author(current_user):
        abort(403)


def course_or_404(slug: str) -> Course:
    found = db.session.scalar(select(Course).where(Course.slug == slug))
    if found is None:
        abort(404)
    return found


@bp.get("/")
def course_list():
    """Drafts, published and archived courses, with who changed what and when."""
    return render_template(
        "studio/list.html",
        rows=drafts.course_rows(db.session),
        new_form=NewCourseForm(),
        zip_form=ZipForm(),
    )


@bp.post("/new")
def create():
    form = NewCourseForm()
    if form.validate_on_submit():
        try:
            course = drafts.new_course(
                db.session, slug=form.slug.data, title=form.title.data, by=current_user
            )
        except DomainError as error:
            flash(str(error), "error")
        else:
            db.session.commit()
            return redirect(url_for("studio.editor", slug=course.slug))
    else:
        flash("; ".join(e for errors in form.errors.values() for e in errors), "error")
    return redirect(url_for("studio.course_list"))


@bp.post("/import")
def import_zip():
    """Import a zip of a course folder: the same check and import as `flask courses import`."""
    form = ZipForm()
    if not form.validate_on_submit():
        flash("Choose a zip file to import.", "error")
        return redirect(url_for("studio.course_list"))
    upload = form.file.data
    fallback = posixpath.splitext(posixpath.basename(upload.filename or "course"))[0].lower()
    try:
        slug, tree = tree_from_zip(upload.read(), fallback_slug=fallback)
    except ArchiveRefused as refused:
        return render_template("studio/import_result.html", refusal=str(refused), problems=[]), 400
    source, problems = read_course_tree(slug, tree, slug)
    if source is None:
        return render_template("studio/import_result.html", refusal=None, problems=problems), 400
    outcome = import_course_source(db.session, source, by=current_user)
    db.session.commit()
    flash(outcome.describe(), "success")
    return redirect(url_for("studio.course", slug=slug))


@bp.get("/<slug>")
def course(slug: str):
    """One course: its versions (download, republish), its draft, archive."""
    found = course_or_404(slug)
    return render_template(
        "studio/course.html",
        course=found,
        versions=drafts.versions_of(db.session, found),
        has_draft=drafts.has_draft(db.session, found),
        action_form=ActionForm(),
    )


@bp.post("/<slug>/draft")
def start(slug: str):
    found = course_or_404(slug)
    if ActionForm().validate_on_submit():
        try:
            drafts.start_draft(db.session, found, by=current_user)
        except DomainError as error:
            flash(str(error), "error")
            return redirect(url_for("studio.course", slug=slug))
        db.session.commit()
    return redirect(url_for("studio.editor", slug=slug))


@bp.get("/<slug>/edit")
def editor(slug: str):
    """The draft's files as modules and items, with every structure action and the checker."""
    found = course_or_404(slug)
    files = drafts.draft_files(db.session, found)
    if not files:
        flash("Start a draft to edit this course.", "info")
        return redirect(url_for("studio.course", slug=slug))
    _, problems = drafts.check_draft(db.session, found)
    modules = sorted({f.path.split("/", 1)[0] for f in files if "/" in f.path} - {"media"})
    item_form = NewItemForm()
    item_form.module.choices = options((m, m) for m in modules)
    gift_form = GiftForm()
    gift_form.quiz.choices = options(
        (f.path, f.path) for f in files if f.data is None and "type: quiz" in f.content
    )
    return render_template(
        "studio/editor.html",
        course=found,
        files=files,
        modules=modules,
        problems=problems,
        module_form=NewModuleForm(),
        item_form=item_form,
        rename_form=RenameForm(),
        path_form=PathForm(),
        media_form=MediaForm(),
        gift_form=gift_form,
        action_form=ActionForm(),
    )


def _preview_html(found: Course, path: str, content: str) -> str:
    """The HTML learners would get for this text: the same renderer, the same sanitiser."""
    files = {f.path: f for f in drafts.draft_files(db.session, found)}

    def resolve(href: str) -> str | None:
        target = resolve_link(path, href)
        if target and target.startswith("media/") and target in files:
            return url_for("studio.draft_media", slug=found.slug, name=target[6:])
        if target and target in files and target.endswith(".md"):
            return url_for("studio.edit_file", slug=found.slug, path=target)
        return None

    return render_markdown(body_of(content), resolve).html


@bp.route("/<slug>/edit/<path:path>", methods=["GET", "POST"])
def edit_file(slug: str, path: str):
    """Edit one file: save (the checker runs), or preview without saving."""
    found = course_or_404(slug)
    try:
        draft = drafts.draft_file(db.session, found, path)
    except NotFound:
        abort(404)
    if draft.data is not None:
        abort(404)
    form = EditForm()
    conflict = None
    if request.method == "GET":
        form.content.data = draft.content
        form.revision.data = str(draft.revision)
    elif form.validate_on_submit():
        if request.form.get("action") == "save":
            try:
                drafts.save_file(
                    db.session,
                    found,
                    path,
                    form.content.data or "",
                    revision=int(form.revision.data),
                    by=current_user,
                )
            except drafts.EditConflict as error:
                db.session.rollback()
                conflict = error.current
            else:
                db.session.commit()
                flash("Saved.", "success")
                return redirect(url_for("studio.edit_file", slug=slug, path=path))
    _, problems = drafts.check_draft(db.session, found)
    mine = [p for p in problems if p.path == path]
    text = form.content.data or ""
    return render_template(
        "studio/edit.html",
        course=found,
        path=path,
        form=form,
        draft=draft,
        conflict=conflict,
        problems=mine,
        other_problems=len(problems) - len(mine),
        problem_lines={p.line for p in mine},
        lines=text.replace("\r\n", "\n").split("\n"),
        preview=_preview_html(found, path, text),
    ), (409 if conflict else 200)


@bp.post("/<slug>/preview/<path:path>")
def live_preview(slug: str, path: str):
    """The preview of unsaved text, for the editor's live preview (an enhancement)."""
    found = course_or_404(slug)
    form = EditForm(meta={"csrf": True})
    if not form.validate_on_submit() and "csrf_token" in form.errors:
        abort(400)
    return jsonify(html=_preview_html(found, path, form.content.data or ""))


@bp.get("/<slug>/media/<name>")
def draft_media(slug: str, name: str):
    """An image of the draft, for the author's preview."""
    found = course_or_404(slug)
    try:
        draft = drafts.draft_file(db.session, found, f"media/{name}")
    except NotFound:
        abort(404)
    image = publishable(draft.raw)
    return Response(image.data, mimetype=image.content_type)


def _structure_action(slug: str, action) -> Response:  # noqa: ANN001
    found = course_or_404(slug)
    try:
        message = action(found)
    except (DomainError, NotFound) as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        if message:
            flash(message, "success")
    return redirect(url_for("studio.editor", slug=slug))


def _refused(form, slug: str) -> Response:  # noqa: ANN001
    """Back to the editor with what was wrong with the form."""
    flash("; ".join(e for errors in form.errors.values() for e in errors), "error")
    return redirect(url_for("studio.editor", slug=slug))


@bp.post("/<slug>/modules")
def add_module(slug: str):
    form = NewModuleForm()
    if not form.validate_on_submit():
        return _refused(form, slug)
    return _structure_action(
        slug,
        lambda c: (
            "Module added: "
            + drafts.create_module(
                db.session, c, slug=form.slug.data, title=form.title.data, by=current_user
            )
        ),
    )


@bp.post("/<slug>/items")
def add_item(slug: str):
    form = NewItemForm()
    form.module.choices = options((m, m) for m in request.form.getlist("module"))
    if not form.validate_on_submit():
        return _refused(form, slug)
    return _structure_action(
        slug,
        lambda c: (
            "Added: "
            + drafts.create_item(
                db.session,
                c,
                module=form.module.data,
                slug=form.slug.data,
                kind=form.kind.data,
                title=form.title.data,
                by=current_user,
            )
        ),  # fmt: skip
    )


@bp.post("/<slug>/rename")
def rename(slug: str):
    form = RenameForm()
    if not form.validate_on_submit():
        return _refused(form, slug)
    return _structure_action(
        slug,
        lambda c: (
            "Renamed to "
            + drafts.rename(
                db.session, c, path=form.path.data, slug=form.slug.data, by=current_user
            )
        ),
    )


@bp.post("/<slug>/move")
def move(slug: str):
    form = PathForm()
    if not form.validate_on_submit() or form.direction.data not in (-1, 1):
        abort(400)
    return _structure_action(
        slug,
        lambda c: drafts.move(
            db.session, c, path=form.path.data, direction=form.direction.data, by=current_user
        ),
    )


@bp.post("/<slug>/delete")
def remove(slug: str):
    form = PathForm()
    if not form.validate_on_submit():
        abort(400)
    return _structure_action(
        slug,
        lambda c: (
            drafts.remove(db.session, c, path=form.path.data, by=current_user)
            or f"Deleted {form.path.data}."
        ),
    )


@bp.post("/<slug>/media")
def upload_media(slug: str):
    form = MediaForm()
    if not form.validate_on_submit():
        flash("Choose an image to upload.", "error")
        return redirect(url_for("studio.editor", slug=slug))
    upload = form.file.data
    name = posixpath.basename(upload.filename or "").lower()
    data = upload.read(2 * 1024 * 1024 + 1)
    return _structure_action(
        slug,
        lambda c: (
            "Image added: "
            + drafts.upload_media(db.session, c, name=name, data=data, by=current_user)
        ),
    )


@bp.post("/<slug>/gift")
def import_gift(slug: str):
    """Add a GIFT question bank to a quiz of the draft; show what was imported and left out."""
    found = course_or_404(slug)
    form = GiftForm()
    form.quiz.choices = options((p, p) for p in request.form.getlist("quiz"))
    if not form.validate_on_submit():
        flash("Choose a quiz and a GIFT file.", "error")
        return redirect(url_for("studio.editor", slug=slug))
    try:
        report = drafts.import_gift(
            db.session,
            found,
            path=form.quiz.data,
            data=form.file.data.read(2 * 1024 * 1024 + 1),
            by=current_user,
        )
    except (DomainError, NotFound) as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("studio.editor", slug=slug))
    db.session.commit()
    return render_template(
        "studio/gift_result.html", course=found, path=form.quiz.data, report=report
    )


@bp.route("/<slug>/publish", methods=["GET", "POST"])
def publish(slug: str):
    """Review what changed and what learners would lose, then publish a new version."""
    found = course_or_404(slug)
    if not drafts.has_draft(db.session, found):
        return redirect(url_for("studio.course", slug=slug))
    form = ActionForm()
    if form.validate_on_submit():
        outcome = drafts.publish(db.session, found, by=current_user)
        if outcome.status == "rejected":
            db.session.rollback()
            flash("The checker found problems: fix them before publishing.", "error")
        else:
            db.session.commit()
            flash(outcome.describe(), "success")
            return redirect(url_for("studio.course", slug=slug))
    source, problems = drafts.check_draft(db.session, found)
    return render_template(
        "studio/publish.html",
        course=found,
        problems=problems,
        diffs=drafts.diff_against_published(db.session, found),
        removed=drafts.removed_items_with_progress(db.session, found, source),
        form=form,
    )


@bp.post("/<slug>/discard")
def discard(slug: str):
    found = course_or_404(slug)
    if ActionForm().validate_on_submit():
        drafts.discard(db.session, found, by=current_user)
        db.session.commit()
        flash("The draft is discarded.", "success")
    return redirect(url_for("studio.course", slug=slug))


@bp.post("/<slug>/versions/<int:number>/republish")
def republish(slug: str, number: int):
    """Roll back: version N's files become the next version."""
    found = course_or_404(slug)
    if ActionForm().validate_on_submit():
        try:
            outcome = drafts.republish(db.session, found, number=number, by=current_user)
        except NotFound:
            abort(404)
        db.session.commit()
        flash(outcome.describe(), "success")
    return redirect(url_for("studio.course", slug=slug))


@bp.get("/<slug>/versions/<int:number>.zip")
def download(slug: str, number: int):
    """Any version as a zip of its folder, byte for byte as it was imported."""
    found = course_or_404(slug)
    version = db.session.scalar(
        select(CourseVersion).where(
            CourseVersion.course_id == found.id, CourseVersion.number == number
        )
    )
    if version is None:
        abort(404)
    files = db.session.scalars(
        select(SourceFile)
        .where(SourceFile.version_id == version.id)
        .options(undefer(SourceFile.data))
    )
    data = zip_of_files(found.slug, ((f.path, f.raw) for f in files))
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{found.slug}-v{number}.zip"'},
    )


@bp.post("/<slug>/archive")
def archive(slug: str):
    found = course_or_404(slug)
    if ActionForm().validate_on_submit():
        archived = request.form.get("archived") == "1"
        drafts.set_archived(db.session, found, archived, by=current_user)
        db.session.commit()
        flash(
            "Archived: hidden from the catalogue." if archived else "Back in the catalogue.",
            "success",
        )
    return redirect(url_for("studio.course", slug=slug))
