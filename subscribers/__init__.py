"""Consented subscribers: sign-up, confirmation, preferences, unsubscribe, suppression."""
