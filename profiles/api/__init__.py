"""The profiles REST API: read viewsets over selectors, write actions over services.

The API calls the same services as the pages, so a person may do exactly
the same things through either.
"""
