"""The people who run the newsletter in the web admin: accounts, roles, audit log."""
