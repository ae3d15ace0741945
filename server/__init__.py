"""The composition root: the app factory, the cleanup contexts in start order, the worker
pool and the CLI. The only code that knows which resources exist; nothing imports it."""
