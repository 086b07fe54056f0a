/* transport_smtp.c - the outbox's SMTP transport: one session per batch
 * through mail_smtp.c, each message handed back as soon as its DATA is
 * answered. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "mail_smtp.h"
#include "transport.h"

struct smtp_pass {
	ob_transport_done_fn done;
	void *arg;
	const struct ob_err *err; /* the session's error, as far as it got */
};

static int smtp_wanted(const struct ob_config *cfg)
{
	return cfg->mail.smtp_host != NULL;
}

static int smtp_open(const struct ob_config *cfg, void **state, struct ob_err *err)
{
	struct ob_smtp_conf *sc = ob_xcalloc(1, sizeof(*sc));

	if (ob_smtp_conf_from(&cfg->mail, sc, err) < 0) {
		ob_smtp_conf_clear(sc);
		free(sc);
		return -1;
	}
	*state = sc;
	return 0;
}

static void smtp_close(void *state)
{
	if (state)
		ob_smtp_conf_clear(state);
	free(state);
}

/* mail_smtp.c's report on one message, in the transport's terms. */
static int smtp_done(struct ob_smtp_msg *sm, void *arg)
{
	struct smtp_pass *p = arg;
	struct ob_transport_msg *m = sm->arg;
	/* MAIL FROM refused (sm->code set, no recipient tried): the sender is
	 * the problem, not the message; try again later, like a 4xx. */
	int mail_refused = sm->code >= 400 && sm->nrcpt && sm->rcpt[0].code == 0;

	for (size_t k = 0; k < m->nrcpt; k++) {
		m->rcpt[k].code = sm->rcpt[k].code;
		snprintf(m->rcpt[k].reply, sizeof(m->rcpt[k].reply), "%s", sm->rcpt[k].reply);
	}
	m->unreached = sm->unreached;
	m->code = mail_refused ? 0 : sm->code;
	m->reply = sm->reply;
	m->why = mail_refused ? sm->reply : p->err && p->err->msg[0] ? p->err->msg : "not reached in the SMTP session";
	return p->done(m, p->arg);
}

static int smtp_send(void *state, struct ob_transport_msg *msgs, size_t n, ob_transport_done_fn done, void *arg,
		     struct ob_err *err)
{
	struct ob_smtp_msg *sm = ob_xcalloc(n + 1, sizeof(*sm));
	struct smtp_pass p = {done, arg, err};
	int rc;

	for (size_t i = 0; i < n; i++) {
		sm[i].from = msgs[i].from;
		sm[i].rcpt = ob_xcalloc(msgs[i].nrcpt + 1, sizeof(*sm[i].rcpt));
		for (size_t k = 0; k < msgs[i].nrcpt; k++)
			sm[i].rcpt[k].email = msgs[i].rcpt[k].email;
		sm[i].nrcpt = msgs[i].nrcpt;
		sm[i].data = msgs[i].data;
		sm[i].len = msgs[i].len;
		sm[i].arg = &msgs[i];
	}
	rc = ob_smtp_send(state, sm, n, smtp_done, &p, err);
	for (size_t i = 0; i < n; i++)
		free(sm[i].rcpt);
	free(sm);
	return rc;
}

const struct ob_transport ob_transport_smtp = {"smtp", smtp_wanted, smtp_open, smtp_send, smtp_close,
						0 /* a message sent twice arrives twice */};
