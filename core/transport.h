/* transport.h - how the outbox hands its messages over: a const table of
 * transports (as OpenSMTPD has its backends), of which the configuration
 * chooses one. SMTP (transport_smtp.c, over mail_smtp.c) and a maildir of
 * .eml files (transport_maildir.c) are the two there are; another (say
 * Microsoft Graph) is one file that defines its struct ob_transport and
 * one row in transport.c's table. The outbox (outbox_deliver.c) claims,
 * records and retries; a transport only sends and says what each message's
 * recipients answered, in SMTP's reply codes. */
#ifndef OB_TRANSPORT_H
#define OB_TRANSPORT_H

#include <stddef.h>

#include "util.h"

struct ob_config;

#define OB_TRANSPORT_REPLY 512

struct ob_transport_rcpt {
	const char *email;
	int code;                       /* as SMTP's reply to RCPT TO: 2xx took it, 4xx later, 5xx never; 0: not tried */
	char reply[OB_TRANSPORT_REPLY]; /* the reply's text, for the record */
};

/* One message to send; the transport fills in what it learnt. */
struct ob_transport_msg {
	unsigned long long id;          /* the outbox's id */
	const char *from;               /* the envelope sender */
	const char *data;               /* the whole message, CRLF line ends */
	size_t len;
	struct ob_transport_rcpt *rcpt; /* the recipients still to reach */
	size_t nrcpt;
	/* Filled in by the transport before it calls done(): */
	int code;                       /* the verdict on the message as a whole (SMTP: DATA's reply); 0: none */
	const char *reply;              /* its text (valid during done()) */
	const char *why;                /* why a recipient without a reply of its own has none (likewise) */
	int unreached;                  /* a session that worked ended before this one was tried: no fault of its own */
	void *arg;                      /* the caller's */
};

/* Called once a message is through (its fate is final: a message taken is
 * durably taken), in the order sent, so that the caller records it before
 * the next one goes out. Nonzero ends the sending at once (what cannot be
 * recorded must not be sent). */
typedef int (*ob_transport_done_fn)(struct ob_transport_msg *m, void *arg);

struct ob_transport {
	const char *name;
	/* 1 when the configuration asks for this transport. */
	int (*wanted)(const struct ob_config *cfg);
	/* Readies a delivery pass (reads its configuration, a password file);
	 * -1 with err for a configuration problem: nothing is sent then. */
	int (*open)(const struct ob_config *cfg, void **state, struct ob_err *err);
	/* Sends msgs, calling done() for every one of them. Returns 0, or -1
	 * when the transport failed as a whole (err: no connection, TLS or
	 * AUTH refused, ...): what was not sent waits for the next pass. err
	 * is written while it sends: done() may read it. */
	int (*send)(void *state, struct ob_transport_msg *msgs, size_t n, ob_transport_done_fn done, void *arg,
		    struct ob_err *err);
	void (*close)(void *state);
	/* 1 when sending a message again does no harm: the maildir, whose file
	 * is named by the outbox id (a second write replaces the first). The
	 * outbox may then record the messages done() reports all at once after
	 * send() returns, in one transaction, rather than each before the next
	 * is sent: a crash in between leaves them 'sending', and the delivery
	 * that claims them back sends them again, to the same effect. 0 (SMTP):
	 * each is recorded in done(), so a crash sends nothing twice. */
	int idempotent;
};

extern const struct ob_transport ob_transport_smtp;
extern const struct ob_transport ob_transport_maildir;

/* The transport the configuration asks for: the first in the table that
 * wants it (the maildir, last, takes what none other does). */
const struct ob_transport *ob_transport_for(const struct ob_config *cfg);

#endif
