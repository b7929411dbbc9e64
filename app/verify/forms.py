"""The one form of the public check."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length


class CodeForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing; it must work from a shared link

    code = StringField(
        "Certificate code",
        validators=[InputRequired(), Length(max=40)],
        description="Sixteen characters, as printed on the certificate, e.g. 7KQ4-M2XW-9PHD-3RNA.",
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
