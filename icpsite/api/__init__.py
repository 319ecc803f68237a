"""The REST plumbing every app's API shares: the JSON parser and its limits,
the error shape, strict fields, pagination, path and query checks, the view
mixin and the per-client rate. No app's models or rules live here; each
app's `api` package holds its own serializers and views and imports this.
"""
