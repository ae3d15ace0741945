"""Realtime pipeline: change capture listener, hub and SSE/WebSocket transports."""
