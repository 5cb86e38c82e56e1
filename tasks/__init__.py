"""Celery adapter: the app, every task and the beat schedule. Tasks stay thin."""
