# One image for web, worker and beat; the command picks the role.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

RUN useradd --create-home --uid 10001 broadsheet
COPY pyproject.toml README.md ./
COPY config config
COPY content content
COPY campaigns campaigns
COPY subscribers subscribers
COPY delivery delivery
COPY tasks tasks
COPY web web
COPY cli cli
COPY db db
COPY templates templates
COPY site.example.toml alembic.ini ./
RUN pip install . && mkdir -p var && chown broadsheet var

USER broadsheet
EXPOSE 8000
CMD ["broadsheet", "web", "--host", "0.0.0.0", "--port", "8000"]
