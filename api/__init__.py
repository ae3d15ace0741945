"""HTTP machinery the transports share: route declarations, the problem+json middleware,
the OpenAPI document, typed application keys and request authentication."""
