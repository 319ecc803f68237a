"""Accounts and deals coming in: from a CRM through the API, from CSV files
on the import page or `manage.py import_accounts`.

- rows: the readers of single values, the rules of a kind of row
  (RowRules, row_clean) and an account's (account_clean).
- deal_rows: a deal's rules (deal_clean), a CRM's stage and type words.
- upsert: the upsert of many rows of any kind by external_id (rows_import):
  the checks against what is stored, all or nothing, batched writes.
- importer: accounts (accounts_import, write_batch) and their scoring.
- deals: deals (deals_import, deal_delete).
- outcomes: an account row's outcome fields, written as the account's
  outcome deal (the one place they are stored).
- csvfiles: reading a CSV file as rows.
- mapping: which column of a CRM's export fills which field.
- jobs: a file's import in two passes, and the import jobs a worker runs
  (waiting for their columns first when the file is a CRM's export).
"""
