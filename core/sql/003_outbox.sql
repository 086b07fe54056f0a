-- 003_outbox.sql: the durable outbox. A run's notices become one message
-- per recipient, written in the transaction that finishes the run; a
-- delivery pass sends what is due and records every reply.

CREATE TABLE outbox (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  run_id          BIGINT UNSIGNED NOT NULL,
  org_id          INT UNSIGNED NULL,
  recipient       VARCHAR(255) NOT NULL,          -- "owner:12", "asg", ...; "it_support" for data-quality findings
  kind            ENUM('owner','role','no_email') NOT NULL,
  subject         VARCHAR(1000) NOT NULL DEFAULT '',
  message_id      VARCHAR(255) CHARACTER SET ascii NOT NULL,  -- the Message-ID header, without <>
  mail_from       VARCHAR(320) NOT NULL,          -- the envelope sender
  mime            LONGBLOB NOT NULL,              -- the whole message, CRLF line ends
  items           INT UNSIGNED NOT NULL DEFAULT 0,
  status          ENUM('queued','sending','sent','dead','dry_run') NOT NULL,
  attempts        INT UNSIGNED NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMP(3) NULL,
  expires_at      TIMESTAMP(3) NULL,              -- failing past this: dead
  last_reply      TEXT NULL,
  claimed_by      VARCHAR(255) NULL,              -- host:pid:nonce of the delivery sending it
  claimed_at      TIMESTAMP(3) NULL,
  created_at      TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  sent_at         TIMESTAMP(3) NULL,
  UNIQUE KEY uq_outbox_message_id (message_id),
  KEY ix_outbox_due (status, next_attempt_at),
  KEY ix_outbox_claim (status, claimed_by),
  KEY ix_outbox_run (run_id),
  CONSTRAINT fk_outbox_run FOREIGN KEY (run_id) REFERENCES runs (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- The envelope recipients of a message, each with its own outcome.
CREATE TABLE outbox_rcpts (
  message   BIGINT UNSIGNED NOT NULL,
  seq       SMALLINT UNSIGNED NOT NULL,
  email     VARCHAR(320) NOT NULL,
  name      VARCHAR(255) NULL,
  status    ENUM('pending','sent','dead') NOT NULL DEFAULT 'pending',
  reply     TEXT NULL,
  done_at   TIMESTAMP(3) NULL,
  PRIMARY KEY (message, seq),
  CONSTRAINT fk_rcpt_message FOREIGN KEY (message) REFERENCES outbox (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- The items of a message. live_key is the dedupe key while the item counts
-- as mailed (NULL for dry runs, and once its message is dead): unique per
-- organisation, so an item goes out once, ever. Keys compare byte for byte
-- (VARBINARY): "contract:ABC" is not "contract:abc", nor "x " "x".
CREATE TABLE outbox_items (
  message     BIGINT UNSIGNED NOT NULL,
  seq         INT UNSIGNED NOT NULL,
  org_id      INT UNSIGNED NOT NULL DEFAULT 0,
  dedupe_key  VARBINARY(255) NOT NULL,
  live_key    VARBINARY(255) NULL,
  template    VARCHAR(255) NOT NULL,
  kv          TEXT NOT NULL,                      -- JSON object
  PRIMARY KEY (message, seq),
  UNIQUE KEY uq_item_live (org_id, live_key),
  KEY ix_item_key (org_id, dedupe_key),
  CONSTRAINT fk_item_message FOREIGN KEY (message) REFERENCES outbox (id) ON DELETE CASCADE
) ENGINE=InnoDB;
