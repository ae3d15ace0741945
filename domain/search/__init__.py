"""Flight search: itineraries with connections, pricing, event-invalidated caching."""
