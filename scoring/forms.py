"""Forms for the account pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from profiles.forms import StoredTextFormMixin
from scoring.ingest.csvfiles import MAX_FILE_BYTES
from scoring.ingest.jobs import MAPPING_NAME_LENGTH
from scoring.ingest.mapping import SKIP
from scoring.models import ImportKind


class AccountImportForm(forms.Form):
    """A CSV file of accounts or of deals. The import service checks the
    file as a whole (size, encoding, header) when it stores it; a worker
    reads the rows."""

    kind = forms.TypedChoiceField(
        label="The file holds",
        choices=ImportKind.choices,
        initial=ImportKind.ACCOUNTS,
        required=False,
        empty_value=ImportKind.ACCOUNTS.value,
        widget=forms.RadioSelect,
        help_text="Deals (a CRM's opportunities) name their account by its external id; "
        "import the accounts first.",
    )

    file = forms.FileField(
        label="CSV file",
        help_text=(
            "UTF-8 with a header row, at most "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB. A CRM's export is fine: its columns are "
            "matched to icpsite's fields in the next step."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    valid_only = forms.BooleanField(
        required=False,
        label="Import the valid rows and skip the bad ones",
        help_text="Without this, one bad row means nothing is imported.",
    )


class ImportColumnsForm(StoredTextFormMixin, forms.Form):
    """The mapping step of an import: for each column of the file (in its
    order, as fields column_0, column_1, ...), the field it fills or skip;
    the import's mode; a name to save the mapping under."""

    valid_only = forms.BooleanField(
        required=False,
        label="Import the valid rows and skip the bad ones",
        help_text="Without this, one bad row means nothing is imported.",
    )
    save_as = forms.CharField(
        required=False,
        max_length=MAPPING_NAME_LENGTH,
        label="Save this mapping as",
        help_text="Give it a name to have it proposed for the next file with these columns.",
    )

    def __init__(
        self,
        *args: Any,
        header: list[str],
        choices: list[tuple[str, str]],
        proposal: Mapping[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.header = header
        for index, column in enumerate(header):
            # A column without a name cannot be keyed in a mapping: skipped.
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=column or f"(column {index + 1} has no name)",
                choices=choices,
                required=False,
                initial=proposal.get(column, SKIP) if column else SKIP,
                disabled=not column,
            )

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"column_{index}"] for index in range(len(self.header))]

    def mapping(self) -> dict[str, str]:
        """The chosen mapping, the file's column -> the field it fills: as
        posted once the form is valid, else as proposed."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return {
            column: data.get(f"column_{index}", self[f"column_{index}"].initial) or SKIP
            for index, column in enumerate(self.header)
        }

    def field_of(self, key: str) -> str | None:
        """The form field a service error's key names: a file's column, a
        field of the form, or None for the form as a whole."""
        if key in self.header:
            return f"column_{self.header.index(key)}"
        return key if key in self.fields else None
