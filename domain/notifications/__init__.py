"""Notifications: what Skybound tells a traveller by email, and when.

Causes are written to the mail outbox in the transaction that makes them true
(``enqueue``); flight news is queued by a trigger on ``flights`` whoever wrote the
change; reminders are jobs of the durable scheduler (``reminders``). The outbox's
sender renders each message when it sends (``composer``), in the recipient's
language (``locale``), with its attachments (``calendar``, the e-ticket receipts).
"""
