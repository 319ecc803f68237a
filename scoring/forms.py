"""Forms for the account pages."""

from __future__ import annotations

from django import forms

from scoring.ingest.csvfiles import MAX_FILE_BYTES


class AccountImportForm(forms.Form):
    """A CSV file of accounts. The import service checks the file as a whole
    (size, encoding, header) when it stores it; a worker reads the rows."""

    file = forms.FileField(
        label="CSV file",
        help_text=(
            "UTF-8, a header row with external_id and name, at most "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    valid_only = forms.BooleanField(
        required=False,
        label="Import the valid rows and skip the bad ones",
        help_text="Without this, one bad row means nothing is imported.",
    )
