"""What the focal point pages accept."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import Email, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[InputRequired(), Email(), Length(max=254)])
    display_name = StringField("Name", validators=[InputRequired(), Length(max=120)])
    role = SelectField("Role", default="learner")
    country = SelectField("Country", coerce=int)
    courses = MultiCheckboxField("Enrol in these courses when they accept", validate_choice=True)
    due_on = DateField("Due date (optional)", validators=[Optional()])


class UploadForm(FlaskForm):
    file = FileField(
        "CSV file with the columns email, name, and optionally courses and due_date",
        validators=[FileRequired(), FileAllowed(["csv", "txt"], "Upload a .csv file.")],
    )
    country = SelectField("Country of these staff", coerce=int)


class ConfirmUploadForm(FlaskForm):
    csv_text = HiddenField(validators=[InputRequired()])
    country = HiddenField(validators=[InputRequired()])


class EnrolForm(FlaskForm):
    learners = MultiCheckboxField("Staff", coerce=int, validate_choice=True)
    everyone = BooleanField("All active staff of the country")
    course = SelectField("Course")
    due_on = DateField("Due date (optional)", validators=[Optional()])


class ActionForm(FlaskForm):
    """A POST-only button: the form exists for its CSRF token."""
