"""The mail benchmark: outbox delivery rate, and what trip mail costs a booking."""
