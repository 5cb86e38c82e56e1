"""FastAPI adapter: public pages, admin API, webhooks. Routes stay thin."""
