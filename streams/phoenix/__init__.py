"""Supabase Realtime's protocol (Phoenix channels) on Skybound's change log.

Supabase's own clients (realtime-js, realtime-py, supabase-js) connect unchanged:
``serializer`` is the wire, ``bindings`` turns row events into ``postgres_changes``,
``relay`` carries broadcast and presence between workers, ``session`` is one
socket's channels, ``endpoint`` the HTTP side. See docs/realtime.md.
"""
