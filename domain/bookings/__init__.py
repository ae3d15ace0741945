"""Bookings: offers become paid, ticketed bookings; later changed or cancelled.

Callable without HTTP. Every write runs in one database transaction with the
inventory rows locked in flight order, so the database (constraints and row
locks) is what keeps seats from being sold twice, whatever the concurrency.
"""
