"""Forms of the review pages; the services decide what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms

from profiles.models import Criterion, CriterionKind, Profile
from profiles.selectors import criterion_text
from reviews.models import CheckInOutcome, ClaimedTier, OverrideReason


class CriterionChoiceField(forms.ModelChoiceField):
    """Criteria named in words ("Employees is between 200 and 2,000")."""

    def label_from_instance(self, obj: Any) -> str:
        kind = "disqualifier" if obj.kind == CriterionKind.DISQUALIFIER else f"{obj.points} points"
        return f"{criterion_text(obj)} ({kind})"


class OverrideForm(forms.Form):
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


class ReviewForm(forms.Form):
    note = forms.CharField(
        widget=forms.TextInput(attrs={"placeholder": "Note for the rep"}),
        required=False,
        label="Note",
    )


class CheckInOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[c for c in CheckInOutcome.choices if c[0]],
        widget=forms.RadioSelect,
        label="Outcome",
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Note")
