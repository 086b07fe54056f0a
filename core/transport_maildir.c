/* transport_maildir.c - the outbox's transport without a mail server:
 * each message an .eml file in a maildir (mail.outbox_dir, by default
 * STATE_DIR/outbox), for a test, a demo or a site that picks them up.
 *
 * A batch is written whole, then made durable, then reported: each file is
 * written and fsync'd in tmp/ and renamed into new/ (atomically, under the
 * outbox id as its name: writing it twice leaves one file), then new/ is
 * fsync'd once for the batch, and only then is done() called for each
 * message. So a message reported written is on disk; the outbox may record
 * the batch in one transaction (the transport is idempotent, transport.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "transport.h"

struct maildir {
	char *dir;
	char *sub[3]; /* tmp, new, cur */
};

static const char *const subs[3] = {"tmp", "new", "cur"};

static int maildir_wanted(const struct ob_config *cfg)
{
	return cfg->mail.smtp_host == NULL;
}

static int maildir_open(const struct ob_config *cfg, void **state, struct ob_err *err)
{
	struct maildir *md = ob_xcalloc(1, sizeof(*md));

	(void)err;
	md->dir = cfg->mail.outbox_dir ? ob_xstrdup(cfg->mail.outbox_dir) : ob_path_join(cfg->state_dir, "outbox");
	for (int i = 0; i < 3; i++)
		md->sub[i] = ob_path_join(md->dir, subs[i]);
	*state = md;
	return 0;
}

static void maildir_close(void *state)
{
	struct maildir *md = state;
	if (md == NULL)
		return;
	for (int i = 0; i < 3; i++)
		free(md->sub[i]);
	free(md->dir);
	free(md);
}

/* Opens the maildir's tmp/ and new/ for a batch (fds[0], fds[1]), making
 * tmp/, new/ and cur/ when they are not there yet: a few calls a batch,
 * none a file. When a directory was made, the maildir itself is fsync'd,
 * so that new/ outlives a crash with the files in it. -1 with why. */
static int maildir_ready(struct maildir *md, int fds[2], char *why, size_t whylen)
{
	int made = 0;

	fds[0] = fds[1] = -1;
	for (int i = 0; i < 3; i++) {
		int fd = open(md->sub[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			if (ob_mkdir_p(md->sub[i]) < 0) {
				snprintf(why, whylen, "cannot create the maildir %s: %s", md->dir, strerror(errno));
				goto fail;
			}
			made = 1;
			fd = open(md->sub[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		}
		if (fd < 0) {
			snprintf(why, whylen, "cannot open the maildir's directory %s: %s", md->sub[i], strerror(errno));
			goto fail;
		}
		if (i < 2)
			fds[i] = fd;
		else
			close(fd);
	}
	if (made) {
		int fd = open(md->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0) {
			snprintf(why, whylen, "cannot sync the maildir %s: %s", md->dir, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto fail;
		}
		close(fd);
	}
	return 0;
fail:
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	fds[0] = fds[1] = -1;
	return -1;
}

/* Writes one message into tmp/, fsyncs it and renames it into new/
 * (durable once new/ is fsync'd). -1 with why. */
static int maildir_write(const struct maildir *md, const int fds[2], const struct ob_transport_msg *m, char *why,
			 size_t whylen)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "outbox-%llu.eml", m->id);
	fd = openat(fds[0], name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(why, whylen, "cannot write %s/%s: %s", md->sub[0], name, strerror(errno));
		return -1;
	}
	for (size_t off = 0; off < m->len;) {
		ssize_t w = write(fd, m->data + off, m->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(why, whylen, "cannot write %s/%s: %s", md->sub[0], name, w < 0 ? strerror(errno) : "short write");
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		snprintf(why, whylen, "cannot write %s/%s: %s", md->sub[0], name, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(why, whylen, "cannot write %s/%s: %s", md->sub[0], name, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (renameat(fds[0], name, fds[1], name) < 0) {
		snprintf(why, whylen, "cannot rename %s/%s to %s/%s: %s", md->sub[0], name, md->sub[1], name,
			 strerror(errno));
		goto fail;
	}
	snprintf(why, whylen, "250 written to %s/%s", md->sub[1], name);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(fds[0], name, 0);
	return -1;
}

/* A file written (and synced) is a message taken by all its recipients
 * ("250"); one that could not be written is tried again later. Every
 * message is written before any is reported, and reported only once new/
 * is synced. */
static int maildir_send(void *state, struct ob_transport_msg *msgs, size_t n, ob_transport_done_fn done, void *arg,
			struct ob_err *err)
{
	struct maildir *md = state;
	char(*why)[OB_TRANSPORT_REPLY] = ob_xcalloc(n + 1, sizeof(*why));
	int *ok = ob_xcalloc(n + 1, sizeof(int));
	int fds[2], ready, wrote = 0;

	(void)err;
	ready = maildir_ready(md, fds, why[0], sizeof(why[0])) == 0;
	for (size_t i = 0; i < n; i++) {
		if (!ready) {
			if (i)
				memcpy(why[i], why[0], sizeof(why[0]));
			continue;
		}
		ok[i] = maildir_write(md, fds, &msgs[i], why[i], sizeof(why[i])) == 0;
		wrote |= ok[i];
	}
	if (ready) {
		/* The renames are durable once new/ is: one fsync for the batch. */
		if (wrote && fsync(fds[1]) < 0) {
			char e[OB_TRANSPORT_REPLY];
			snprintf(e, sizeof(e), "cannot sync the maildir's directory %s: %s", md->sub[1], strerror(errno));
			for (size_t i = 0; i < n; i++)
				if (ok[i]) {
					ok[i] = 0;
					memcpy(why[i], e, sizeof(e));
				}
		}
		close(fds[0]);
		close(fds[1]);
	}
	for (size_t i = 0; i < n; i++) {
		struct ob_transport_msg *m = &msgs[i];
		int stop;

		for (size_t k = 0; k < m->nrcpt; k++) {
			m->rcpt[k].code = ok[i] ? 250 : 0;
			snprintf(m->rcpt[k].reply, sizeof(m->rcpt[k].reply), "%s", why[i]);
		}
		m->code = ok[i] ? 250 : 0;
		m->reply = why[i];
		m->why = why[i];
		stop = done(m, arg);
		if (!ok[i])
			ob_log(OB_LOG_ERR, "outbox %llu: %s", m->id, why[i]);
		if (stop)
			break;
	}
	free(why);
	free(ok);
	return 0;
}

/* Idempotent: a message's file is named by its outbox id. */
const struct ob_transport ob_transport_maildir = {"maildir", maildir_wanted, maildir_open, maildir_send, maildir_close,
						   1};
