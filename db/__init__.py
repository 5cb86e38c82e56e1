"""Database engine, sessions, models and Alembic migrations."""
