"""Tools for development and demos, never imported by the server: the seed generator and
the operations simulator."""
