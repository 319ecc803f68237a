"""A service's refusal reads the same on every page, form and API answer."""

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError

from icpsite.api.errors import validation_error_body
from icpsite.refusals import add_refusal_to_form, error_messages, refusal_text


class PointsForm(forms.Form):
    points = forms.IntegerField(required=False)


def test_it_keys_messages_by_field_and_puts_the_rest_under_none() -> None:
    keyed = ValidationError({"points": "Too many.", "__all__": "Not now."})
    assert error_messages(keyed) == {"points": ["Too many."], None: ["Not now."]}
    assert error_messages(ValidationError(["One.", "Two."])) == {None: ["One.", "Two."]}


def test_it_reads_as_one_line_with_or_without_field_names() -> None:
    keyed = ValidationError({"points": ["Too many.", "Whole numbers."], "kind": "Pick one."})
    assert refusal_text(keyed) == "Too many. Whole numbers. Pick one."
    assert refusal_text(keyed, name_fields=True) == (
        "points: Too many. Whole numbers. kind: Pick one."
    )
    assert refusal_text(PermissionDenied("Only managers.")) == "Only managers."
    assert refusal_text(PermissionDenied()) == "You are not allowed to do that."


def test_it_puts_each_message_on_its_field_or_on_the_form() -> None:
    form = PointsForm({"points": "3"})
    assert form.is_valid()
    add_refusal_to_form(form, ValidationError({"points": "Too many.", "kind": "Pick one."}))
    assert form.errors == {"points": ["Too many."], "__all__": ["Pick one."]}
    denied = PointsForm({})
    assert denied.is_valid()
    add_refusal_to_form(denied, PermissionDenied("Only managers."))
    assert denied.non_field_errors() == ["Only managers."]


def test_the_api_body_names_the_same_fields() -> None:
    keyed = ValidationError({"points": "Too many.", "__all__": "Not now."})
    assert validation_error_body(keyed) == {
        "points": ["Too many."],
        "non_field_errors": ["Not now."],
    }
    assert validation_error_body(ValidationError("No.")) == {"non_field_errors": ["No."]}
