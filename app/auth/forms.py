"""What the sign-in, password and profile forms accept."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import Email, EqualTo, InputRequired, Length

LANGUAGES = [
    ("en", "English"),
    ("id", "Bahasa Indonesia"),
    ("ms", "Bahasa Malaysia"),
    ("th", "ไทย (Thai)"),
    ("vi", "Tiếng Việt (Vietnamese)"),
    ("km", "ខ្មែរ (Khmer)"),
    ("lo", "ລາວ (Lao)"),
    ("my", "မြန်မာ (Burmese)"),
    ("bn", "বাংলা (Bengali)"),
    ("ur", "اردو (Urdu)"),
    ("si", "සිංහල (Sinhala)"),
    ("ta", "தமிழ் (Tamil)"),
    ("ne", "नेपाली (Nepali)"),
    ("zh", "中文 (Chinese)"),
    ("ar", "العربية (Arabic)"),
    ("fa", "فارسی (Persian)"),
]
NAME = [InputRequired(), Length(max=120)]
LENGTH_ADVICE = "At least 12 characters. A few unrelated words make a strong, memorable one."


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[InputRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=1024)])
    remember = BooleanField("Keep me signed in on this device")


class TwoFactorForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app, or a recovery code",
        validators=[InputRequired(), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text"},
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[InputRequired(), Length(max=1024)],
        description=LENGTH_ADVICE,
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[InputRequired(), EqualTo("password", message="The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(
        "Current password",
        validators=[InputRequired()],
        render_kw={"autocomplete": "current-password"},
    )


class AcceptInvitationForm(NewPasswordForm):
    display_name = StringField("Your name, as it should appear on certificates", validators=NAME)


class ResetRequestForm(FlaskForm):
    email = EmailField("Email", validators=[InputRequired(), Email(), Length(max=254)])


class ProfileForm(FlaskForm):
    display_name = StringField("Name, as it should appear on certificates", validators=NAME)
    language = SelectField(
        "Preferred language", choices=[SelectChoice(code, name) for code, name in LANGUAGES]
    )


class EmailChangeForm(FlaskForm):
    email = EmailField("New email address", validators=[InputRequired(), Email(), Length(max=254)])
    password = PasswordField("Current password", validators=[InputRequired()])


class RegistrationForm(NewPasswordForm):
    display_name = StringField("Your name, as it should appear on certificates", validators=NAME)
    email = EmailField("Work email", validators=[InputRequired(), Email(), Length(max=254)])
    country = SelectField("Country", coerce=int)


class TwoFactorSetupForm(FlaskForm):
    code = StringField(
        "Code shown by your authenticator app",
        validators=[InputRequired(), Length(max=10)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
