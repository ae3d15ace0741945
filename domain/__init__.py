"""Domain logic, callable without HTTP: handlers, the CLI and workers all use it."""
