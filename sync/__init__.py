"""Offline sync: versioned pull/push for mobile clients."""
