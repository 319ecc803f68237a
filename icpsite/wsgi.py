import os

from django.core.wsgi import get_wsgi_application

from icpsite.chunked import ChunkedBodies

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icpsite.settings")

_django = get_wsgi_application()

from icpsite.api.parsers import MAX_BODY_BYTES  # noqa: E402  (needs the settings)

application = ChunkedBodies(_django, limit=MAX_BODY_BYTES)
