"""The `broadsheet` command (typer). Commands are thin calls into the domain packages."""
