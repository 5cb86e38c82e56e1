"""Feedback: provider events, suppression, reconciliation, reports and outgoing hooks."""
