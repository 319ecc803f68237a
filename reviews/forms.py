"""Forms of the review pages; the services decide what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms

from profiles.forms import StoredTextFormMixin
from profiles.models import Criterion, CriterionKind, Profile, Team
from profiles.selectors import criterion_text
from reviews.models import SURPRISE_KINDS, CheckInOutcome, ClaimedTier, OverrideReason
from scoring.ingest.rows import EARLIEST_YEAR, LATEST_YEAR, MAX_BIGINT


class CriterionChoiceField(forms.ModelChoiceField):
    """Criteria named in words ("Employees is between 200 and 2,000")."""

    def label_from_instance(self, obj: Any) -> str:
        kind = "disqualifier" if obj.kind == CriterionKind.DISQUALIFIER else f"{obj.points} points"
        return f"{criterion_text(obj)} ({kind})"


class OverrideForm(StoredTextFormMixin, forms.Form):
    profile = forms.ModelChoiceField(queryset=Profile.objects.none(), label="Profile")
    claimed_tier = forms.ChoiceField(choices=ClaimedTier.choices, label="Tier it should be")
    reason = forms.ChoiceField(choices=OverrideReason.choices, label="Reason")
    criterion = CriterionChoiceField(
        queryset=Criterion.objects.none(), required=False, label="Criterion it is about"
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Note")

    def __init__(self, *args: Any, profiles: Any, criteria: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["profile"].queryset = profiles  # type: ignore[attr-defined]
        self.fields["criterion"].queryset = criteria  # type: ignore[attr-defined]
        if profiles.count() == 1:
            self.fields["profile"].initial = profiles.first()
            self.fields["profile"].widget = forms.HiddenInput()


class ReviewForm(StoredTextFormMixin, forms.Form):
    note = forms.CharField(
        widget=forms.TextInput(attrs={"placeholder": "Note for the rep"}),
        required=False,
        label="Note",
    )


class CheckInOutcomeForm(StoredTextFormMixin, forms.Form):
    outcome = forms.ChoiceField(
        choices=[c for c in CheckInOutcome.choices if c[0]],
        widget=forms.RadioSelect,
        label="Outcome",
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Note")


def _in_business_years(moment: Any) -> Any:
    if moment is not None and not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise forms.ValidationError(
            f"Enter a date between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
        )
    return moment


class QueueForm(StoredTextFormMixin, forms.Form):
    """A queue form whose refusal is a plain-text 400 naming the fields."""

    def error_text(self) -> str:
        return " ".join(
            f"{name}: {' '.join(str(m) for m in messages)}"
            for name, messages in self.errors.items()
        )


class MarkForm(QueueForm):
    """A queue item to mark reviewed. The id fits the column and the moment is
    a real date in business time, so a bad one is a 400 naming the field
    rather than a database error."""

    kind = forms.CharField(max_length=32)
    object_id = forms.IntegerField(min_value=1, max_value=MAX_BIGINT)
    occurred_at = forms.DateTimeField(required=False)
    undo = forms.BooleanField(required=False)

    def clean_occurred_at(self) -> Any:
        return _in_business_years(self.cleaned_data.get("occurred_at"))


class GroupMarkForm(QueueForm):
    """A group of surprises to mark reviewed: a kind, or one account's
    surprises of a kind; `through` is when the page showed them."""

    kind = forms.CharField(max_length=32)
    account_id = forms.IntegerField(min_value=1, max_value=MAX_BIGINT, required=False)
    through = forms.DateTimeField(required=False)

    def clean_kind(self) -> str:
        kind = self.cleaned_data["kind"]
        if kind not in SURPRISE_KINDS:
            raise forms.ValidationError(f"Choose one of {', '.join(SURPRISE_KINDS)}.")
        return str(kind)

    def clean_through(self) -> Any:
        return _in_business_years(self.cleaned_data.get("through"))


class _SuggestionKeys(forms.MultipleChoiceField):
    """The keys of the ticked suggestions: the service checks them against
    the suggestions it works out again, so any short key passes here."""

    def valid_value(self, value: str) -> bool:
        return bool(value) and len(value) <= 200


class SuggestionAdoptForm(forms.Form):
    keys = _SuggestionKeys(
        error_messages={
            "required": "Tick at least one suggestion to adopt.",
            "invalid_choice": "Suggestions: %(value)s is not a suggestion's key.",
        },
        label="Suggestions",
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        to_field_name="slug",
        label="Comment as",
        error_messages={
            "required": "Choose the team you speak for.",
            "invalid_choice": "Team: choose one of your teams.",
        },
    )

    def __init__(self, *args: Any, teams: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]

    def error_text(self) -> str:
        """Every message: each says which field and what to do."""
        return " ".join(str(m) for messages in self.errors.values() for m in messages)
