# One image for web, worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 1000 icpsite
WORKDIR /app

COPY pyproject.toml README.md ./
COPY icpsite ./icpsite
COPY profiles ./profiles
COPY scoring ./scoring
COPY reviews ./reviews
COPY demo ./demo
RUN pip install .

COPY . .
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && chown -R icpsite /app

USER icpsite
EXPOSE 8000
CMD ["gunicorn", "icpsite.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
