-- Schedule imports uploaded over HTTP: a queue of jobs that any worker of the fleet
-- may run (one at a time), with their progress and outcome for whoever polls.
CREATE TABLE schedule_imports (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    -- parsing, staging, checking, applying: where a running import is.
    stage           text,
    legs_done       integer NOT NULL DEFAULT 0 CHECK (legs_done >= 0),
    dry_run         boolean NOT NULL DEFAULT false,
    cancel_missing  boolean NOT NULL DEFAULT false,
    file_name       text,
    file_bytes      integer NOT NULL CHECK (file_bytes >= 0),
    -- The uploaded file, kept until the job has finished.
    file            bytea,
    requested_by    uuid NOT NULL,
    report          jsonb,
    errors          jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    CHECK ((status IN ('succeeded', 'failed')) = (finished_at IS NOT NULL))
);
-- Runners take the oldest unfinished job first.
CREATE INDEX schedule_imports_unfinished_idx ON schedule_imports (created_at)
    WHERE status IN ('queued', 'running');
