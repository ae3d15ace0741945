"""The ground floor: settings, database, migrations, logging, metrics, error bases and the
task supervisor. Imports nothing of Skybound's."""
