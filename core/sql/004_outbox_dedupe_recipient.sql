-- 004_outbox_dedupe_recipient.sql: an item is deduped per recipient,
-- (organisation, recipient, key), no longer per organisation: the same key
-- notified to two owners (a contract covering systems of both) reaches each
-- of them once.
--
-- dedupe_rcpt is whom the item is for, as core/outbox.c writes it:
--   owner:ID    an owner, the person (leading zeros dropped): the same
--               person keeps their keys when their address changes, and a
--               new owner of the system gets the item;
--   asg, ...    a role, by name: its addresses in the configuration may
--               change without the role getting its items again;
--   owner:ID    with the key "no_email:KEY" too: an owner's item routed to
--               it_support because the owner has no usable address. IT
--               support hears of it once per owner (two owners without an
--               address on one contract are two findings), and the owner's
--               own KEY stays free, so the owner gets the item once the
--               address is fixed.
-- A plugin's notice to it_support itself is for "it_support".
--
-- What was sent stays sent, for whom it went to: an owner's or a role's
-- item for the message's recipient; an item routed to it_support for the
-- owner of the run's first notice with that key (the one 003's compose
-- kept: it took a key once per run); if that notice is gone, for
-- "it_support" (IT support may then hear of it once more). Dry runs' and
-- dead messages' items hold no key (live_key NULL) and get theirs the same
-- way, for the record.
--
-- 255 bytes like outbox.recipient, which it is taken from. The unique key
-- (org_id 4 + 257 + 257 bytes) is far below InnoDB's 3072.

ALTER TABLE outbox_items
  ADD COLUMN dedupe_rcpt VARBINARY(255) NOT NULL DEFAULT '' AFTER org_id;

UPDATE outbox_items i JOIN outbox o ON o.id = i.message
SET i.dedupe_rcpt = CASE
  WHEN o.kind = 'owner' THEN
    CONCAT('owner:', IF(TRIM(LEADING '0' FROM SUBSTRING(o.recipient, 7)) = '', '0',
                        TRIM(LEADING '0' FROM SUBSTRING(o.recipient, 7))))
  WHEN o.kind = 'role' THEN o.recipient
  ELSE IFNULL((SELECT CONCAT('owner:', IF(TRIM(LEADING '0' FROM SUBSTRING(n.recipient, 7)) = '', '0',
                                          TRIM(LEADING '0' FROM SUBSTRING(n.recipient, 7))))
               FROM run_notices n
               WHERE n.run_id = o.run_id AND n.recipient LIKE 'owner:%'
                 AND CAST(n.dedupe_key AS BINARY) = SUBSTRING(i.dedupe_key, 10)
               ORDER BY n.seq LIMIT 1), 'it_support')
END;

ALTER TABLE outbox_items
  ALTER COLUMN dedupe_rcpt DROP DEFAULT,
  DROP INDEX uq_item_live,
  DROP INDEX ix_item_key,
  ADD UNIQUE KEY uq_item_live (org_id, dedupe_rcpt, live_key),
  ADD KEY ix_item_key (org_id, dedupe_rcpt, dedupe_key);
