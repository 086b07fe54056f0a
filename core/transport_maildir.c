/* transport_maildir.c - the outbox's transport without a mail server:
 * each message an .eml file in a maildir (mail.outbox_dir, by default
 * STATE_DIR/outbox), for a test, a demo or a site that picks them up. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "transport.h"

static int maildir_wanted(const struct ob_config *cfg)
{
	return cfg->mail.smtp_host == NULL;
}

static int maildir_open(const struct ob_config *cfg, void **state, struct ob_err *err)
{
	*state = cfg->mail.outbox_dir ? ob_xstrdup(cfg->mail.outbox_dir) : ob_path_join(cfg->state_dir, "outbox");
	return 0;
}

static void maildir_close(void *state)
{
	free(state);
}

/* Writes a message into the maildir: tmp/, then atomically into new/.
 * The name is the outbox id, so writing it twice leaves one file. */
static int maildir_write(const char *dir, const struct ob_transport_msg *m, char *why, size_t whylen)
{
	char *tmpd = ob_path_join(dir, "tmp"), *newd = ob_path_join(dir, "new"), *curd = ob_path_join(dir, "cur");
	char name[64], *tmp, *dst;
	struct ob_err err = {{0}};
	int rc = -1;

	snprintf(name, sizeof(name), "outbox-%llu.eml", m->id);
	tmp = ob_path_join(tmpd, name);
	dst = ob_path_join(newd, name);
	if (ob_mkdir_p(tmpd) < 0 || ob_mkdir_p(newd) < 0 || ob_mkdir_p(curd) < 0)
		snprintf(why, whylen, "cannot create the maildir %s: %s", dir, strerror(errno));
	else if (ob_write_atomic(tmp, dst, m->data, m->len, &err) < 0)
		snprintf(why, whylen, "%.500s", err.msg);
	else {
		snprintf(why, whylen, "250 written to %s", dst);
		rc = 0;
	}
	free(tmpd);
	free(newd);
	free(curd);
	free(tmp);
	free(dst);
	return rc;
}

/* A file written is a message taken by all its recipients ("250"); one
 * that could not be written is tried again later. */
static int maildir_send(void *state, struct ob_transport_msg *msgs, size_t n, ob_transport_done_fn done, void *arg,
			struct ob_err *err)
{
	for (size_t i = 0; i < n; i++) {
		struct ob_transport_msg *m = &msgs[i];
		char why[OB_TRANSPORT_REPLY];
		int ok = maildir_write(state, m, why, sizeof(why)) == 0, stop;

		for (size_t k = 0; k < m->nrcpt; k++) {
			m->rcpt[k].code = ok ? 250 : 0;
			snprintf(m->rcpt[k].reply, sizeof(m->rcpt[k].reply), "%s", why);
		}
		m->code = ok ? 250 : 0;
		m->reply = why;
		m->why = why;
		stop = done(m, arg);
		if (!ok)
			ob_log(OB_LOG_ERR, "outbox %llu: %s", m->id, why);
		if (stop)
			break;
	}
	return 0;
}

const struct ob_transport ob_transport_maildir = {"maildir", maildir_wanted, maildir_open, maildir_send, maildir_close};
