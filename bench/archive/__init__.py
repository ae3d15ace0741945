"""Archive benchmark: a user's booking history with 1,000,000 archived bookings against none."""
