-- 002_runs.sql: report runs, their files and notifications, and the claims
-- that let several overblikd on one database fire each schedule once.

CREATE TABLE runs (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  report         VARCHAR(64) NOT NULL,
  org_id         INT UNSIGNED NULL,
  trigger_kind   ENUM('schedule','api','cli') NOT NULL,
  scheduled_for  TIMESTAMP NULL,                 -- the fire time, for schedule triggers
  as_of          DATE NOT NULL,
  params         TEXT NOT NULL,                  -- JSON object of strings
  dry_run        TINYINT(1) NOT NULL DEFAULT 0,
  status         ENUM('queued','running','succeeded','failed','timeout','crashed') NOT NULL,
  queued_at      TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  started_at     TIMESTAMP(3) NULL,
  finished_at    TIMESTAMP(3) NULL,
  error          TEXT NULL,
  runner         VARCHAR(255) NULL,              -- host and pid of the overblikd that ran it
  KEY ix_run_report (report, id),
  KEY ix_run_status (status, id),
  CONSTRAINT fk_run_org FOREIGN KEY (org_id) REFERENCES organisations (id)
) ENGINE=InnoDB;

CREATE TABLE run_files (
  run_id    BIGINT UNSIGNED NOT NULL,
  name      VARCHAR(255) NOT NULL,
  size      BIGINT UNSIGNED NOT NULL,
  sha256    CHAR(64) CHARACTER SET ascii NOT NULL,
  path      VARCHAR(1024) NOT NULL,
  PRIMARY KEY (run_id, name),
  CONSTRAINT fk_file_run FOREIGN KEY (run_id) REFERENCES runs (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- What a run asked to notify; the outbox (a later migration) delivers them.
CREATE TABLE run_notices (
  run_id      BIGINT UNSIGNED NOT NULL,
  seq         INT UNSIGNED NOT NULL,
  recipient   VARCHAR(255) NOT NULL,
  dedupe_key  VARCHAR(255) NOT NULL,
  template    VARCHAR(255) NOT NULL,
  kv          TEXT NOT NULL,                      -- JSON object
  PRIMARY KEY (run_id, seq),
  KEY ix_notice_dedupe (dedupe_key),
  CONSTRAINT fk_notice_run FOREIGN KEY (run_id) REFERENCES runs (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- One row per (report, fire time): whoever inserts it runs the fire.
CREATE TABLE schedule_fires (
  report      VARCHAR(64) NOT NULL,
  fire_at     TIMESTAMP NOT NULL,                 -- UTC
  outcome     ENUM('claimed','missed') NOT NULL,
  claimed_by  VARCHAR(255) NOT NULL,
  claimed_at  TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (report, fire_at)
) ENGINE=InnoDB;
