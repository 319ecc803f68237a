"""Forms for the drafting pages. They turn typed text into service arguments;
the services do the validating that matters."""

from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, cast

from django import forms
from django.core.exceptions import ValidationError

from icpsite.text import text_problem
from profiles.attributes import (
    CATEGORIES,
    MAX_COMMENT_LENGTH,
    MAX_RATIONALE_LENGTH,
    MAX_VALUE_TEXT_LENGTH,
    OPERATOR_LABELS,
    Attribute,
    AttrType,
    Operator,
)
from profiles.models import CriterionKind, Profile, SignOffDecision, Team


def validate_stored_text(value: Any) -> None:
    """icpsite.text's rule as a Django validator: text a person typed is
    refused, naming the problem, when the database could not store it."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise ValidationError(f"This text {problem}.", code="invalid_text")


class StoredTextFormMixin:
    """Forms whose text fields all follow icpsite.text's rule: every
    CharField the form has, declared or made from a model field, gets
    validate_stored_text. Django's CharField refuses NUL but lets a lone
    surrogate through to the database, which then fails (a 500)."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and validate_stored_text not in field.validators:
                field.validators.append(validate_stored_text)


def split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_value(attribute: Attribute, operator: Operator, text: str) -> Any:
    """Read the value box: "200, 2000" for between, "SaaS, Software" for lists,
    one number or word otherwise, nothing for is true / is false."""
    text = (text or "").strip()
    if operator in (Operator.IS_TRUE, Operator.IS_FALSE):
        return None
    if attribute.type == AttrType.NUMBER:
        numbers = []
        for part in split_list(text.replace(" - ", ",").replace(" to ", ",")):
            cleaned = part.replace("_", "").replace(" ", "")
            try:
                number = Decimal(cleaned)
            except InvalidOperation:
                number = Decimal("NaN")
            if not number.is_finite():
                raise forms.ValidationError(f"{part!r} is not a number.")
            numbers.append(int(number) if number == number.to_integral_value() else float(number))
        if operator == Operator.BETWEEN:
            return numbers
        if len(numbers) != 1:
            raise forms.ValidationError(
                f"{attribute.label} {OPERATOR_LABELS[operator]} takes one number."
            )
        return numbers[0]
    if operator == Operator.EQ:
        return text
    return split_list(text)


def value_text(value: Any) -> str:
    """The value as the value box shows it."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


class CriterionForm(StoredTextFormMixin, forms.Form):
    revision = forms.IntegerField(widget=forms.HiddenInput)
    attribute = forms.ChoiceField()
    operator = forms.ChoiceField(choices=[(o.value, OPERATOR_LABELS[o]) for o in Operator])
    value = forms.CharField(
        required=False,
        max_length=MAX_VALUE_TEXT_LENGTH,
        widget=forms.TextInput(attrs={"aria-describedby": "value-hint"}),
    )
    points = forms.IntegerField(min_value=0, max_value=100, initial=0)
    kind = forms.ChoiceField(choices=CriterionKind.choices, initial=CriterionKind.FIT)
    category = forms.ChoiceField(
        choices=[("", "Attribute's default")] + [(c, c.title()) for c in CATEGORIES],
        required=False,
    )
    rationale = forms.CharField(label="Why", required=False, max_length=MAX_RATIONALE_LENGTH)

    def __init__(self, *args: Any, registry: dict[str, Attribute], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "criterion_%s")
        super().__init__(*args, **kwargs)
        self.registry = registry
        cast(forms.ChoiceField, self.fields["attribute"]).choices = [
            (a.key, a.label) for a in registry.values()
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        attribute = self.registry.get(data.get("attribute", ""))
        operator = data.get("operator")
        if attribute is not None and operator:
            try:
                data["parsed_value"] = parse_value(
                    attribute, Operator(operator), data.get("value", "")
                )
            except forms.ValidationError as exc:
                self.add_error("value", exc)
        return data


class VersionSettingsForm(StoredTextFormMixin, forms.Form):
    revision = forms.IntegerField(widget=forms.HiddenInput)
    rationale = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    threshold_a = forms.IntegerField(label="Tier A from", min_value=1, max_value=100)
    threshold_b = forms.IntegerField(label="Tier B from", min_value=0, max_value=100)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "settings_%s")
        super().__init__(*args, **kwargs)


class CommentForm(StoredTextFormMixin, forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none())
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=MAX_COMMENT_LENGTH)
    criterion = forms.IntegerField(required=False, widget=forms.HiddenInput)
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, teams: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams


class SignOffForm(StoredTextFormMixin, forms.Form):
    revision = forms.IntegerField(widget=forms.HiddenInput)
    team = forms.ModelChoiceField(queryset=Team.objects.none())
    decision = forms.ChoiceField(choices=SignOffDecision.choices)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, teams: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams


class ProfileForm(StoredTextFormMixin, forms.ModelForm):
    class Meta:
        model = Profile
        fields = ("name", "description", "required_teams", "approving_teams", "checkin_cadence")
        widgets: ClassVar[dict[str, forms.Widget | type[forms.Widget]]] = {
            "required_teams": forms.CheckboxSelectMultiple,
            "approving_teams": forms.CheckboxSelectMultiple,
            "description": forms.Textarea(attrs={"rows": 3}),
        }
        labels: ClassVar[dict[str, str]] = {"checkin_cadence": "Check-in cadence"}
        help_texts: ClassVar[dict[str, str]] = {
            "approving_teams": "Managers and admins of these teams approve versions. "
            "Leave empty for the RevOps teams.",
        }
