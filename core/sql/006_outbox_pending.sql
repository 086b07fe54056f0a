-- 006_outbox_pending.sql: with mail.digest_at, a run's messages wait as
-- 'pending' until the digest time: written in the run's transaction like
-- a queued message (its recipients, its items holding their dedupe keys),
-- but with no text. At the digest (ob_outbox_digest) the pending messages
-- of one recipient, of every report, become one queued message: their
-- items move into it and they are deleted.
--
-- A pending message's subject is the report's title (the heading of its
-- part of the digest); pdf_path is the run's PDF that its digest attaches
-- (NULL: none, as mail.attach_pdf and the items' no_pdf say). Sent,
-- queued and dead messages have their PDF in their text: pdf_path NULL.

ALTER TABLE outbox
  MODIFY COLUMN status ENUM('queued','sending','sent','dead','dry_run','pending') NOT NULL,
  ADD COLUMN pdf_path VARCHAR(1024) NULL AFTER items,
  ADD KEY ix_outbox_pending (status, org_id, recipient, kind);
