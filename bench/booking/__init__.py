"""Booking benchmark: bookings/s on distinct flights, and a race for a flight's last seats.

    .venv/bin/python -m bench.booking [--duration 10] [--rounds 2] [--profile]

See bench/booking/README.md.
"""
