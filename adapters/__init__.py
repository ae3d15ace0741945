"""Outside systems behind small interfaces: mail (SMTP and the outbox), file storage
(local or Supabase Storage) and the card vault's keys."""
