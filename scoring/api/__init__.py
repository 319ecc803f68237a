"""The CRM sync API: accounts and outcomes in, scores out, webhooks.

Views are thin: input serializers check the envelope, scoring.ingest
validates each row, scoring.services writes, selectors read.
"""
