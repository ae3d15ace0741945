"""Online check-in: the window, travel documents, seats, sequence numbers and boarding
passes (see docs/check-in.md)."""
