"""Staff operations: flights, users and bookings changed or read through the admin
API, each change written to the append-only audit log in the same transaction."""
