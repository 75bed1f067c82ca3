# One image for web (gunicorn), worker and beat; docker-compose.yml picks the command.
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var

RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 shipshape

WORKDIR /app
COPY pyproject.toml README.md ./
COPY shop shop
COPY orders orders
COPY shipping shipping
COPY dashboard dashboard
RUN pip install .
COPY . .
# Collect static files and compile translations at build time; a throwaway key only for this step.
RUN DEBUG=false SECRET_KEY=build-only-not-secret-0123456789abcdefghijklmnopqrstuvwxyz ALLOWED_HOSTS=build \
    python manage.py collectstatic --no-input \
 && (python manage.py compilemessages --ignore=.venv || true) \
 && mkdir -p /app/var/media && chown -R shipshape /app/var

USER shipshape
EXPOSE 8000
CMD ["gunicorn", "shop.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]
