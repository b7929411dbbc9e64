"""What the admin pages accept."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional, Regexp


class RoleForm(FlaskForm):
    role = SelectField(
        "Role",
        choices=[
            SelectChoice("learner", "Learner"),
            SelectChoice("focal_point", "Focal point"),
            SelectChoice("admin", "Administrator"),
        ],
    )
    country = SelectField("Country", coerce=int)


class CountryForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired(), Length(max=120)])
    code = StringField(
        "ISO 3166-1 alpha-2 code",
        validators=[InputRequired(), Regexp(r"^[A-Za-z]{2}$", message="Two letters, e.g. TH.")],
    )
    code3 = StringField(
        "ISO 3166-1 alpha-3 code (optional)",
        validators=[Optional(), Regexp(r"^[A-Za-z]{3}$", message="Three letters, e.g. THA.")],
    )


class RenameCountryForm(FlaskForm):
    name = StringField("New name", validators=[InputRequired(), Length(max=120)])


class RevokeForm(FlaskForm):
    reason = SelectField(
        "Reason",
        choices=[
            SelectChoice("issued_in_error", "Issued in error"),
            SelectChoice("identity", "Identity could not be confirmed"),
            SelectChoice("misconduct", "Assessment misconduct"),
            SelectChoice("other", "Other"),
        ],
    )
