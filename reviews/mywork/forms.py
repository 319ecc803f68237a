"""Forms of My work and the notification pages; the services decide what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms

from profiles.forms import StoredTextFormMixin
from reviews.models import NotificationDelivery, NotificationKind
from scoring.ingest.rows import EARLIEST_YEAR, LATEST_YEAR


class ThroughForm(StoredTextFormMixin, forms.Form):
    """When the page the person acted on was made: what arrived later is
    left as it is. A bad moment is a 400 naming the field."""

    through = forms.DateTimeField(required=False)

    def clean_through(self) -> Any:
        moment = self.cleaned_data.get("through")
        if moment is not None and not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            raise forms.ValidationError(
                f"Enter a date between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
            )
        return moment

    def error_text(self) -> str:
        return " ".join(
            f"{name}: {' '.join(str(m) for m in messages)}"
            for name, messages in self.errors.items()
        )


class PreferencesForm(StoredTextFormMixin, forms.Form):
    """One choice of delivery per kind of notification, named by the kind."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in NotificationKind:
            self.fields[kind.value] = forms.ChoiceField(
                choices=NotificationDelivery.choices,
                widget=forms.RadioSelect,
                label=kind.label,
            )
