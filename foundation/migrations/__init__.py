"""SQL migration files, applied in order by foundation.migrator."""
