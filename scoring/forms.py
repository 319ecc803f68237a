"""Forms for the account pages."""

from __future__ import annotations

from django import forms

from scoring.ingest import MAX_FILE_BYTES, ImportFileError, csv_rows


class AccountImportForm(forms.Form):
    """A CSV file of accounts; the file is read and checked as a whole here,
    the rows by the import itself."""

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

    def clean_file(self) -> list[dict[str, str]]:
        upload = self.cleaned_data["file"]
        try:
            return csv_rows(upload.read(MAX_FILE_BYTES + 1))
        except ImportFileError as exc:
            raise forms.ValidationError(exc.problems) from None
