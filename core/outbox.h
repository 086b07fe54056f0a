/* outbox.h - the durable outbox: a run's notices become one digest per
 * recipient, written with the run (outbox_compose), and a delivery pass
 * sends what is due, by SMTP or as .eml files, with retries and backoff
 * (outbox_deliver). Both live in MariaDB (migrations 003, 004): nothing is
 * lost when overblikd or the SMTP server goes down. An item goes to each
 * recipient once, ever: (organisation, recipient, dedupe key) is unique
 * (outbox.c says what "recipient" is for owners, roles and it_support). */
#ifndef OB_OUTBOX_H
#define OB_OUTBOX_H

#include "util.h"

struct cJSON;
struct ob_config;
struct ob_db;

/* What composing needs of a finishing run. */
struct ob_outbox_run {
	unsigned long long run_id;
	const char *report;
	const char *report_title;     /* the document's title; NULL: the report's name */
	long long org_id;             /* 0: none */
	const char *org_name;
	const char *as_of;            /* "2026-11-26" */
	int dry_run;                  /* store the messages as dry_run: never sent */
	const char *pdf_path;         /* attached as mail.attach_pdf says; NULL: none */
	const struct cJSON *notices;  /* [{recipient, dedupe_key, template, kv: {}}] in notify() order */
};

struct ob_outbox_composed {
	unsigned messages;            /* written */
	unsigned items;               /* in them */
	unsigned skipped;             /* items mailed before (their key is taken for that recipient) */
	unsigned no_email;            /* items of owners without a usable address (to it_support) */
};

/* Writes run's digests into the outbox. Call inside the transaction that
 * finishes the run: on -1 (err names the template, owner or role) the
 * caller rolls back and no message exists. With mail.digest_at (and not a
 * dry run) the messages are written 'pending', their items claimed but no
 * text: ob_outbox_digest composes them. */
int ob_outbox_compose(const struct ob_config *cfg, struct ob_db *db, const struct ob_outbox_run *run,
		      struct ob_outbox_composed *out, struct ob_err *err);

struct ob_outbox_digested {
	unsigned messages;            /* queued: one per recipient (organisation, recipient, kind) */
	unsigned pending;             /* pending messages (one per run and recipient) they took */
	unsigned items;
};

/* The digest: every pending message becomes part of one queued message
 * per recipient, grouped by report, with the PDFs of the runs it covers
 * (as pending, per mail.attach_pdf). Each recipient's digest is one
 * transaction: a crash loses nothing and sends nothing twice; pending
 * messages written meanwhile wait for the next digest. Returns 0, or -1
 * (err) when the database or a template failed (digests composed before
 * stay). */
int ob_outbox_digest(const struct ob_config *cfg, struct ob_db *db, struct ob_outbox_digested *out,
		     struct ob_err *err);

struct ob_outbox_counts {
	unsigned long sent;           /* messages now sent to every recipient that took them */
	unsigned long retry;          /* failed for now: tried again later */
	unsigned long dead;           /* given up: 5xx, or failing past max_age */
	unsigned long rcpt_dead;      /* recipients refused for good (their message may be sent) */
	unsigned long requeued;       /* claims of a delivery that died, put back */
	int smtp_down;                /* a session failed as a whole: the pass ended, what is due waits */
};

/* Delivers every message that is due, batch after batch, until none is
 * due (or stop(), asked between batches, says so; NULL: never). Messages a
 * dead delivery left claimed are put back first. Returns 0, or -1 when the
 * database failed (err); delivery failures are recorded on the messages. */
int ob_outbox_deliver(const struct ob_config *cfg, struct ob_db *db, int (*stop)(void),
		      struct ob_outbox_counts *counts, struct ob_err *err);

/* Queues message id for delivery now: a dead message's refused
 * recipients are tried again and it gets max_age again. Returns 0; 1 when
 * there is no such message; 2 when it cannot be retried (err says why:
 * sent, a dry run, being sent). */
int ob_outbox_retry(const struct ob_config *cfg, struct ob_db *db, unsigned long long id, struct ob_err *err);

/* Messages as JSON, newest first: status NULL or "queued" etc., before 0
 * or an id (keyset paging), limit 1..1000. *out is {"messages": [...],
 * "next_before": id or null}. */
int ob_outbox_list(struct ob_db *db, const char *status, unsigned long long before, int limit, struct cJSON **out,
		   struct ob_err *err);
/* One message with its recipients and items; with_mime adds the message
 * itself ("mime"). *out NULL when there is none. */
int ob_outbox_show(struct ob_db *db, unsigned long long id, int with_mime, struct cJSON **out, struct ob_err *err);

#define OB_OUTBOX_NSTATUS 6
extern const char *const ob_outbox_status_names[OB_OUTBOX_NSTATUS]; /* queued sending sent dead dry_run pending */
struct ob_outbox_stats {
	unsigned long count[OB_OUTBOX_NSTATUS];
	double oldest_queued_age;     /* seconds; 0 when none */
	unsigned long due;            /* queued and due now */
	long next_due_in;             /* seconds until the next queued one is due; -1: none */
};
int ob_outbox_stats(struct ob_db *db, struct ob_outbox_stats *st, struct ob_err *err);

#endif
