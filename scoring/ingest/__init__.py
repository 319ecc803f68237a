"""Accounts coming in: from a CRM through the API, from CSV files on the
import page or `manage.py import_accounts`.

- rows: the rules of one row (account_clean).
- importer: the upsert of many rows by external_id, and their scoring.
- csvfiles: reading a CSV file as rows.
- mapping: which column of a CRM's export fills which field.
- jobs: a file's import in two passes, and the import jobs a worker runs
  (waiting for their columns first when the file is a CRM's export).
"""
