"""What the authoring pages accept."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Regexp

SLUG_RULE = Regexp(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$", message="Lowercase letters, digits and hyphens, e.g. children."
)


class NewCourseForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired(), Length(max=200)])
    slug = StringField(
        "Address (slug)",
        validators=[InputRequired(), Length(max=100), SLUG_RULE],
        description="Part of the course's web address; it cannot change later.",
    )


class ZipForm(FlaskForm):
    file = FileField(
        "Zip of a course folder (course.md and its module folders)", validators=[FileRequired()]
    )


class EditForm(FlaskForm):
    content = TextAreaField("Markdown", render_kw={"rows": 28, "spellcheck": "true"})
    revision = HiddenField(validators=[InputRequired()])


class NewModuleForm(FlaskForm):
    title = StringField("Module title", validators=[InputRequired(), Length(max=200)])
    slug = StringField("Module slug", validators=[InputRequired(), Length(max=100), SLUG_RULE])


class NewItemForm(FlaskForm):
    module = SelectField("In module")
    kind = SelectField(
        "Kind", choices=[SelectChoice("lesson", "Lesson"), SelectChoice("quiz", "Quiz")]
    )
    title = StringField("Title", validators=[InputRequired(), Length(max=200)])
    slug = StringField("Slug", validators=[InputRequired(), Length(max=100), SLUG_RULE])


class RenameForm(FlaskForm):
    path = HiddenField(validators=[InputRequired()])
    slug = StringField("New slug", validators=[InputRequired(), Length(max=100), SLUG_RULE])


class PathForm(FlaskForm):
    """Move or delete: the path, and for a move its direction."""

    path = HiddenField(validators=[InputRequired()])
    direction = IntegerField(default=0)


class MediaForm(FlaskForm):
    file = FileField("Image (PNG, JPEG, WebP or GIF, up to 2 MiB)", validators=[FileRequired()])


class GiftForm(FlaskForm):
    quiz = SelectField("Add the questions to")
    file = FileField(
        "Question bank in Moodle's GIFT format (.gift or .txt)", validators=[FileRequired()]
    )
