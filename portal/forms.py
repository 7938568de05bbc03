"""The portal's forms (Flask-WTF: every one carries a CSRF token), rendered by GOV.UK Frontend WTForms widgets."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovFileInput,
    GovPasswordInput,
    GovRadioInput,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, MultipleFileField, PasswordField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length


class SignInForm(FlaskForm):
    email = StringField(
        "Email address", widget=GovTextInput(), validators=[InputRequired("Enter your email address"), Length(max=254)]
    )
    password = PasswordField(
        "Password", widget=GovPasswordInput(), validators=[InputRequired("Enter your password"), Length(max=1000)]
    )
    submit = SubmitField("Sign in", widget=GovSubmitInput())


class SignOutForm(FlaskForm):
    submit = SubmitField("Sign out", widget=GovSubmitInput())


class UploadForm(FlaskForm):
    files = MultipleFileField(
        "Upload your return",
        widget=GovFileInput(multiple=True),
        description="One Excel workbook (.xlsx), or the three CSV files: cases, contacts and breaches. "
        "Each file can be up to 200 MB.",
    )
    declaration = BooleanField(
        "I declare that this return is complete and accurate to the best of my knowledge",
        widget=GovCheckboxInput(),
        validators=[DataRequired("Confirm that the return is complete and accurate")],
    )
    declared_by = StringField(
        "Your full name", widget=GovTextInput(), validators=[InputRequired("Enter your full name"), Length(max=200)]
    )
    submit = SubmitField("Send return", widget=GovSubmitInput())


class DecisionForm(FlaskForm):
    decision = RadioField(
        "What do you decide?",
        widget=GovRadioInput(),
        choices=[
            ("applied", "Apply the credit"),
            ("waived", "Waive the credit"),
            ("reinvested", "Reinvest the credit in the service"),
        ],
        validators=[InputRequired("Choose what to do with the credit")],
    )
    reason = TextAreaField(
        "Reason",
        widget=GovTextArea(),
        description="Kept in the audit trail with your name. Do not include anyone's personal details.",
        validators=[InputRequired("Give the reason for the decision"), Length(max=2000)],
    )
    submit = SubmitField("Record decision", widget=GovSubmitInput())


class SignOffForm(FlaskForm):
    confirm = BooleanField(
        "I have checked this build and sign it off for the ministry",
        widget=GovCheckboxInput(),
        validators=[DataRequired("Confirm that you have checked the build")],
    )
    submit = SubmitField("Sign off this build", widget=GovSubmitInput())


class AccountActionForm(FlaskForm):
    """Disable, enable, unlock or reset the password of an account: the button pressed says which."""


class RebuildForm(FlaskForm):
    submit = SubmitField("Rebuild the quarter", widget=GovSubmitInput())
