"""SQL migration files, applied in order by server.migrator."""
