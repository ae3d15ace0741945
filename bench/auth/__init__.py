"""Token verification cost: authenticated GET /v1/me against the same handler without auth."""
