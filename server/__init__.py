"""Skybound server: app factory, settings, database, migrations, CLI and middleware."""
