"""The portal's forms (Flask-WTF: every one carries a CSRF token), rendered by GOV.UK Frontend WTForms widgets."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovFileInput,
    GovPasswordInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import (
    BooleanField,
    MultipleFileField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
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


class QueryForm(FlaskForm):
    """A provider's answer to a warning or an error found in a version: the rule, some rows or none, and why."""

    rule = RadioField(
        "Which finding are you answering?",
        widget=GovRadioInput(),
        choices=[],
        validators=[InputRequired("Choose the finding you are answering")],
    )
    rows = StringField(
        "Rows (optional)",
        widget=GovTextInput(),
        description="The row numbers your answer is about, separated by commas, for example 4, 17, 230. "
        "Leave it empty to answer for every row the rule found.",
        validators=[Length(max=2000)],
    )
    explanation = TextAreaField(
        "Your explanation",
        widget=GovTextArea(),
        description="Say why the data is right as it is. The contract manager reads it and decides. "
        "Do not include anyone's personal details.",
        validators=[InputRequired("Enter your explanation"), Length(max=2000)],
    )
    submit = SubmitField("Send your answer", widget=GovSubmitInput())


class QueryDecisionForm(FlaskForm):
    decision = RadioField(
        "Do you accept the explanation?",
        widget=GovRadioInput(),
        choices=[("accepted", "Accept it"), ("rejected", "Reject it")],
        validators=[InputRequired("Choose whether you accept the explanation")],
    )
    reason = TextAreaField(
        "Reason",
        widget=GovTextArea(),
        description="The provider reads it. Kept in the thread with your name.",
        validators=[InputRequired("Enter the reason for your decision"), Length(max=2000)],
    )
    submit = SubmitField("Record decision", widget=GovSubmitInput())


class ToleranceForm(FlaskForm):
    rule = SelectField(
        "Rule",
        widget=GovSelect(),
        choices=[],
        validators=[InputRequired("Choose the rule")],
    )
    records = StringField(
        "Up to this many records",
        widget=GovTextInput(),
        description="A whole number. Leave it empty to give a percentage instead.",
        validators=[Length(max=10)],
    )
    percent = StringField(
        "Or up to this percentage of the table's records",
        widget=GovTextInput(),
        description="For example 2.5. Leave it empty when you gave a number of records.",
        validators=[Length(max=12)],
    )
    reason = TextAreaField(
        "Reason",
        widget=GovTextArea(),
        description="The provider reads it. Kept with your name.",
        validators=[InputRequired("Enter the reason for the tolerance"), Length(max=2000)],
    )
    submit = SubmitField("Grant the tolerance", widget=GovSubmitInput())


class ReturnSignOffForm(FlaskForm):
    confirm = BooleanField(
        "I declare that this return is an accurate account of the provider's work",
        widget=GovCheckboxInput(),
        validators=[DataRequired("Confirm that the return is an accurate account of the provider's work")],
    )
    submit = SubmitField("Sign off the return", widget=GovSubmitInput())
