"""Built-in GoTrue-compatible auth under /auth/v1 (served when SUPABASE_URL is unset)."""

from __future__ import annotations

from server.api import ApiRoutes

routes = ApiRoutes()
