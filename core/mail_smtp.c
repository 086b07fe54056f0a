/* mail_smtp.c - SMTP delivery with libesmtp: one session for many
 * prebuilt messages, every reply kept for the outbox.
 *
 * Two things libesmtp does not do are done here. It writes a message in
 * 2 KB pieces on a socket left with Nagle's algorithm on, so against a
 * server that delays its ACKs the last piece of every message waits for the
 * delayed ACK (≈40 ms: 12-23 messages a second instead of hundreds); and its
 * connect() has no timeout of its own. So while this thread is inside a
 * session, connect() and poll() are wrapped (below; libesmtp calls both
 * through libc):
 *  - a TCP connect gets the configured timeout, TCP_NODELAY, and TCP_CORK:
 *    the 2 KB pieces are queued into full segments instead of one segment
 *    each (on a fast link the segments, not the bytes, cost the CPU);
 *  - when libesmtp waits for the server's reply (poll for input only, with
 *    a timeout), the cork is pulled and put back, which sends what is
 *    queued at once: nothing waits for an ACK or for the cork's 200 ms.
 * read() and SSL_read() are wrapped too, to see the server's replies that
 * libesmtp does not keep (scan_replies). Everyone else's connect(), poll(),
 * read() and SSL_read() pass through untouched. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
/* libesmtp.h uses size_t without including <stddef.h>; openssl/ssl.h
 * first also declares smtp_starttls_set_ctx. */
#include <stddef.h>
#include <auth-client.h>
#include <libesmtp.h>

#include "log.h"
#include "mail_smtp.h"

/* ---- connect() and poll(), inside a session only ---- */

int ob_smtp_tcp_nodelay = 1;
static __thread int in_session;          /* this thread is in ob_smtp_send() */
static __thread int session_connect_timeout;
static __thread int session_fd = -1;     /* the session's corked socket */
static __thread int session_sock = -1;   /* the session's socket (set once it connects) */

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);
typedef int (*poll_fn)(struct pollfd *, nfds_t, int);

/* Exported (the tree builds with -fvisibility=hidden): libesmtp's calls
 * must bind to these, not libc's. */
__attribute__((visibility("default"))) int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	static connect_fn real;
	int flags, rc, one = 1;

	if (real == NULL)
		real = (connect_fn)dlsym(RTLD_NEXT, "connect");
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	/* The session's own socket only: not, say, a database connection made
	 * from a callback while the session runs. */
	if (!in_session || session_sock >= 0 || sa == NULL || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return real(fd, sa, len);
	session_sock = fd;
	if (ob_smtp_tcp_nodelay) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (setsockopt(fd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)) == 0)
			session_fd = fd;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || (flags & O_NONBLOCK)) {
		rc = real(fd, sa, len);
		if (rc < 0 && errno != EINPROGRESS)
			session_fd = session_sock = -1; /* libesmtp tries the next address with a new socket */
		return rc;
	}
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	rc = real(fd, sa, len);
	if (rc < 0 && errno == EINPROGRESS) {
		struct pollfd p = {fd, POLLOUT, 0};
		int n, soerr = 0;
		socklen_t sl = sizeof(soerr);
		do
			n = poll(&p, 1, session_connect_timeout * 1000);
		while (n < 0 && errno == EINTR);
		if (n == 0) {
			errno = ETIMEDOUT;
			rc = -1;
		} else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
			rc = -1;
		} else if (soerr) {
			errno = soerr;
			rc = -1;
		} else
			rc = 0;
	}
	int saved = errno;
	fcntl(fd, F_SETFL, flags);
	if (rc < 0)
		session_fd = session_sock = -1; /* libesmtp tries the next address with a new socket */
	errno = saved;
	return rc;
}

__attribute__((visibility("default"))) int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	static poll_fn real;

	if (real == NULL)
		real = (poll_fn)dlsym(RTLD_NEXT, "poll");
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (in_session && session_fd >= 0 && timeout != 0) {
		short ev = 0;
		for (nfds_t i = 0; i < n; i++)
			if (fds[i].fd == session_fd)
				ev |= fds[i].events;
		if ((ev & POLLIN) && !(ev & POLLOUT)) { /* waiting for a reply: send what is queued */
			int zero = 0, one = 1;
			setsockopt(session_fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero));
			setsockopt(session_fd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one));
		}
	}
	return real(fds, n, timeout);
}

/* ---- configuration ---- */

int ob_smtp_conf_from(const struct ob_config_mail *m, struct ob_smtp_conf *c, struct ob_err *err)
{
	memset(c, 0, sizeof(*c));
	c->host = m->smtp_host;
	c->port = m->smtp_port;
	c->starttls = m->starttls;
	c->ca_file = m->ca_file;
	c->tls_verify = m->tls_verify;
	c->username = m->username;
	c->helo = m->helo;
	c->connect_timeout = m->connect_timeout;
	c->command_timeout = m->command_timeout;
	if (m->password_file) {
		char *text = NULL;
		size_t len = 0;
		if (ob_read_file(m->password_file, &text, &len) < 0) {
			ob_err_set(err, "mail: cannot read the SMTP password file %s (/mail/smtp/password_file): %s",
				   m->password_file, strerror(errno));
			return -1;
		}
		while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
			text[--len] = '\0';
		c->password = text;
	}
	return 0;
}

void ob_smtp_conf_clear(struct ob_smtp_conf *c)
{
	if (c->password) {
		char *p = (char *)c->password;
		explicit_bzero(p, strlen(p));
		free(p);
	}
	memset(c, 0, sizeof(*c));
}

/* ---- a session ---- */

struct session {
	const struct ob_smtp_conf *c;
	struct ob_smtp_msg *msgs;
	size_t n;
	smtp_message_t *handles;
	ob_smtp_done_fn done;
	void *arg;
	char last_reply[OB_SMTP_REPLY]; /* the server's last reply line, for session errors */
	char tls_problem[800];
	char peer_host[256];            /* c->host without brackets: what the certificate must name */
	int peer_is_ip;                 /* peer_host is an IPv4 or IPv6 literal */
	int peer_checked;               /* OpenSSL verified the chain and checked peer_host */
	X509 *peer_cert;                /* the server's certificate, for the messages */
	int auth_refused;
	char auth_reply[OB_SMTP_REPLY]; /* the server's refusal of AUTH */
	int in_auth;                    /* between AUTH and its verdict */
	/* The server's replies as read (scan_replies), for what libesmtp does
	 * not keep: with BDAT (CHUNKING) the chunks are pipelined, the server
	 * refuses one ("552 5.3.4 Message size exceeds fixed limit") and
	 * answers the rest "551 Discarded N bytes after earlier error", and
	 * libesmtp keeps only the last reply. */
	SSL *ssl;                       /* the session's TLS, once STARTTLS is done */
	int tls_started;                /* read() now gets ciphertext: only SSL_read is scanned */
	char line[OB_SMTP_REPLY];       /* the reply line being read */
	size_t line_len;
	long data_msg;                  /* the message in its transaction (from MAIL on); -1: none */
	size_t data_lines;              /* final reply lines since its MAIL was answered */
	char data_err[OB_SMTP_REPLY];   /* its first refusal after the RCPT replies */
	int aborted;                    /* done() asked to stop */
};

static void copy_reply(char *dst, int code, const char *text)
{
	size_t n;
	if (text == NULL || !text[0]) {
		snprintf(dst, OB_SMTP_REPLY, "%d", code);
		return;
	}
	snprintf(dst, OB_SMTP_REPLY, "%d %s", code, text);
	n = strlen(dst);
	while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == '\r' || dst[n - 1] == ' '))
		dst[--n] = '\0';
	for (char *p = dst; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
}

/* The outcome of message i, from libesmtp's statuses. */
static void collect(struct session *s, size_t i)
{
	struct ob_smtp_msg *m = &s->msgs[i];
	const smtp_status_t *rp = smtp_reverse_path_status(s->handles[i]);
	const smtp_status_t *st = smtp_message_transfer_status(s->handles[i]);

	/* A final reply only: a 354 means the session broke inside DATA, and
	 * the message was not taken. */
	if (rp && rp->code >= 400 && rp->code <= 599) {
		m->code = rp->code;
		copy_reply(m->reply, rp->code, rp->text);
	} else if (st && st->code >= 400 && st->code <= 599 && s->data_msg == (long)i && s->data_err[0]) {
		/* The first refusal of its content is the verdict, not the
		 * "551 Discarded" that BDAT's last chunk gets after it (a 452
		 * is worth a retry; its 551 would make the message dead). */
		m->code = atoi(s->data_err);
		snprintf(m->reply, OB_SMTP_REPLY, "%s", s->data_err);
	} else if (st && ((st->code >= 200 && st->code <= 299) || (st->code >= 400 && st->code <= 599))) {
		m->code = st->code;
		copy_reply(m->reply, st->code, st->text);
	}
}

struct rcpt_walk {
	struct ob_smtp_msg *m;
	size_t k;
};

static void rcpt_status(smtp_recipient_t r, const char *mailbox, void *arg)
{
	struct rcpt_walk *w = arg;
	const smtp_status_t *st = smtp_recipient_status(r);
	(void)mailbox;
	if (w->k < w->m->nrcpt && st && ((st->code >= 200 && st->code <= 299) || (st->code >= 400 && st->code <= 599))) {
		w->m->rcpt[w->k].code = st->code;
		copy_reply(w->m->rcpt[w->k].reply, st->code, st->text);
	}
	w->k++;
}

static void report(struct session *s, size_t i)
{
	struct rcpt_walk w = {&s->msgs[i], 0};
	if (s->msgs[i].reported)
		return;
	smtp_enumerate_recipients(s->handles[i], rcpt_status, &w);
	collect(s, i);
	s->msgs[i].reported = 1;
	if (s->done && s->done(&s->msgs[i], s->arg) != 0 && !s->aborted) {
		/* The caller cannot go on (its database failed): cut the
		 * connection, so nothing more is sent that it could not record. */
		s->aborted = 1;
		if (session_fd >= 0)
			shutdown(session_fd, SHUT_RDWR);
	}
}

/* Whether the server's certificate must hold: with STARTTLS required and
 * tls_verify on. Opportunistic TLS takes what the server offers (it would
 * send in clear to a server without TLS anyway). */
static int verify(const struct session *s)
{
	return s->c->tls_verify && s->c->starttls == OB_STARTTLS_REQUIRED;
}

/* ---- the server's certificate ----
 *
 * libesmtp checks the host against the certificate's DNS names (or its
 * common name) only: a relay named by its IP address, with that address in
 * the certificate's IP addresses, is refused. So OpenSSL checks it during
 * the chain's verification (RFC 6125 as OpenSSL does it): an IP literal
 * against the IP addresses only (X509_check_ip_asc), a name against the DNS
 * names (X509_check_host; the common name only when there are none). A
 * mismatch is then a verification error, and libesmtp's own verdict is
 * overruled when OpenSSL's check passed. The TLS context is shared; the
 * session is this thread's (libesmtp runs it in ob_smtp_send's thread). */
static __thread struct session *cur_session;

static int check_peer(X509_STORE_CTX *x, void *arg)
{
	struct session *s = cur_session;
	X509 *leaf = X509_STORE_CTX_get0_cert(x);
	int rc;

	(void)arg;
	if (s == NULL || !in_session)
		return X509_verify_cert(x);
	if (leaf && X509_up_ref(leaf)) {
		X509_free(s->peer_cert);
		s->peer_cert = leaf;
	}
	s->peer_checked = 0;
	if (!verify(s))
		return X509_verify_cert(x);
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(x);
	if (s->peer_is_ip)
		rc = X509_VERIFY_PARAM_set1_ip_asc(param, s->peer_host);
	else {
		X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		rc = X509_VERIFY_PARAM_set1_host(param, s->peer_host, 0);
	}
	if (rc != 1) {
		X509_STORE_CTX_set_error(x, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	rc = X509_verify_cert(x);
	s->peer_checked = rc == 1;
	return rc;
}

/* The certificate's names of one kind (GEN_DNS, GEN_IPADD), comma-separated
 * into buf; "none" when it has none. */
static void cert_names(X509 *cert, int type, char *buf, size_t size)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	size_t used = 0;
	int n = 0;

	buf[0] = '\0';
	for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		char one[INET6_ADDRSTRLEN + 2];
		const char *text = NULL;
		int len = 0;

		if (g->type != type)
			continue;
		if (type == GEN_DNS) {
			text = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
			len = ASN1_STRING_length(g->d.dNSName);
		} else {
			int alen = ASN1_STRING_length(g->d.iPAddress);
			const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);
			if ((alen == 4 && inet_ntop(AF_INET, a, one, sizeof(one))) ||
			    (alen == 16 && inet_ntop(AF_INET6, a, one, sizeof(one))))
				text = one;
			else
				text = "(malformed)";
			len = (int)strlen(text);
		}
		if (used + (size_t)len + 8 >= size) {
			snprintf(buf + used, size - used, "%s...", n ? ", " : "");
			used = strlen(buf);
			break;
		}
		/* A DNS name is IA5 (ASCII); anything else is shown as '?'. */
		if (n++)
			used += (size_t)snprintf(buf + used, size - used, ", ");
		for (int k = 0; k < len; k++)
			buf[used++] = text[k] >= 0x20 && text[k] < 0x7f ? text[k] : '?';
		buf[used] = '\0';
	}
	GENERAL_NAMES_free(names);
	if (n == 0)
		snprintf(buf, size, "none");
}

/* Why the certificate does not name the host, and which names were checked. */
static void name_problem(struct session *s)
{
	char ips[200], dns[200];

	if (s->peer_cert == NULL) {
		snprintf(s->tls_problem, sizeof(s->tls_problem), "the server's certificate is not for %s \"%s\"",
			 s->peer_is_ip ? "the IP address" : "the name", s->peer_host);
		return;
	}
	cert_names(s->peer_cert, GEN_IPADD, ips, sizeof(ips));
	cert_names(s->peer_cert, GEN_DNS, dns, sizeof(dns));
	if (s->peer_is_ip) {
		snprintf(s->tls_problem, sizeof(s->tls_problem),
			 "the server's certificate has no IP address %s (checked its IP addresses: %s%s%s)",
			 s->peer_host, ips, strcmp(dns, "none") ? "; an address is not checked against its DNS names: " : "",
			 strcmp(dns, "none") ? dns : "");
		return;
	}
	if (strcmp(dns, "none") == 0) {
		char cn[128] = "";
		X509_NAME_get_text_by_NID(X509_get_subject_name(s->peer_cert), NID_commonName, cn, sizeof(cn));
		snprintf(s->tls_problem, sizeof(s->tls_problem),
			 "the server's certificate is not for the name \"%s\" (it has no DNS names; checked its common "
			 "name: \"%s\")",
			 s->peer_host, cn);
		return;
	}
	snprintf(s->tls_problem, sizeof(s->tls_problem),
		 "the server's certificate is not for the name \"%s\" (checked its DNS names: %s)", s->peer_host, dns);
}

/* ---- the server's replies as read ---- */

/* Reads the server's bytes a line at a time: after a message's MAIL is
 * answered, its first nrcpt final reply lines ("NNN text") answer RCPT,
 * the rest its DATA or BDAT chunks; the first 4xx/5xx of these is kept. */
static void scan_replies(struct session *s, const char *buf, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		char ch = buf[k];
		if (ch != '\n') {
			if (s->line_len < sizeof(s->line) - 1)
				s->line[s->line_len++] = ch;
			continue;
		}
		size_t ll = s->line_len;
		s->line_len = 0;
		while (ll > 0 && (s->line[ll - 1] == '\r' || s->line[ll - 1] == ' '))
			ll--;
		s->line[ll] = '\0';
		if (ll < 4 || s->line[0] < '1' || s->line[0] > '5' || s->line[1] < '0' || s->line[1] > '9' ||
		    s->line[2] < '0' || s->line[2] > '9' || s->line[3] != ' ')
			continue; /* not the last line of a reply */
		if (s->data_msg < 0 || (size_t)s->data_msg >= s->n)
			continue;
		if (++s->data_lines > s->msgs[s->data_msg].nrcpt && !s->data_err[0] &&
		    (s->line[0] == '4' || s->line[0] == '5'))
			memcpy(s->data_err, s->line, ll + 1);
	}
}

typedef ssize_t (*read_fn)(int, void *, size_t);
typedef int (*ssl_read_fn)(SSL *, void *, int);

/* libesmtp reads the server with read() before STARTTLS and SSL_read()
 * after: both are wrapped like connect() (exported, bound first), and
 * pass everyone else's reads through untouched. */
__attribute__((visibility("default"))) ssize_t read(int fd, void *buf, size_t len)
{
	static read_fn real;
	ssize_t rc;

	if (real == NULL)
		real = (read_fn)dlsym(RTLD_NEXT, "read");
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	rc = real(fd, buf, len);
	if (rc > 0 && in_session && cur_session && fd == session_sock && fd >= 0 && !cur_session->tls_started)
		scan_replies(cur_session, buf, (size_t)rc);
	return rc;
}

__attribute__((visibility("default"))) int SSL_read(SSL *ssl, void *buf, int len)
{
	static ssl_read_fn real;
	int rc;

	if (real == NULL)
		real = (ssl_read_fn)dlsym(RTLD_NEXT, "SSL_read");
	if (real == NULL)
		return -1;
	rc = real(ssl, buf, len);
	if (rc > 0 && in_session && cur_session && cur_session->ssl == ssl)
		scan_replies(cur_session, buf, (size_t)rc);
	return rc;
}

static void on_event(smtp_session_t session, int event, void *arg, ...)
{
	struct session *s = arg;
	va_list ap;
	int *ok;

	(void)session;
	va_start(ap, arg);
	switch (event) {
	case SMTP_EV_MAILSTATUS: { /* MAIL is answered: what is read next is its RCPT and data replies */
		(void)va_arg(ap, const char *);
		smtp_message_t msg = va_arg(ap, smtp_message_t);
		s->data_msg = -1;
		for (size_t i = 0; i < s->n; i++)
			if (s->handles[i] == msg) {
				s->data_msg = (long)i;
				s->data_lines = 0;
				s->data_err[0] = '\0';
			}
		break;
	}
	case SMTP_EV_STARTTLS_OK:
		s->ssl = va_arg(ap, SSL *);
		s->tls_started = 1;
		s->line_len = 0;
		break;
	case SMTP_EV_MESSAGESENT: {
		smtp_message_t msg = va_arg(ap, smtp_message_t);
		for (size_t i = 0; i < s->n; i++)
			if (s->handles[i] == msg)
				report(s, i);
		s->data_msg = -1; /* replies that follow (RSET, the next MAIL) are not its */
		break;
	}
	case SMTP_EV_WEAK_CIPHER:
		(void)va_arg(ap, int);
		ok = va_arg(ap, int *);
		*ok = 1;
		break;
	case SMTP_EV_INVALID_PEER_CERTIFICATE: {
		long vfy = va_arg(ap, long);
		ok = va_arg(ap, int *);
		*ok = !verify(s);
		if (*ok)
			break;
		if (vfy == X509_V_ERR_IP_ADDRESS_MISMATCH || vfy == X509_V_ERR_HOSTNAME_MISMATCH)
			name_problem(s);
		else
			snprintf(s->tls_problem, sizeof(s->tls_problem), "the server's certificate is not trusted: %s",
				 X509_verify_cert_error_string(vfy));
		break;
	}
	case SMTP_EV_NO_PEER_CERTIFICATE:
		ok = va_arg(ap, int *);
		*ok = !verify(s);
		if (!*ok)
			snprintf(s->tls_problem, sizeof(s->tls_problem), "the server sent no certificate");
		break;
	case SMTP_EV_WRONG_PEER_CERTIFICATE:
		/* libesmtp's own check: DNS names only, so it refuses an IP
		 * literal whatever the certificate says. OpenSSL has already
		 * checked the host the right way (check_peer): its verdict holds. */
		ok = va_arg(ap, int *);
		*ok = !verify(s) || s->peer_checked;
		if (!*ok)
			name_problem(s);
		break;
	case SMTP_EV_NO_CLIENT_CERTIFICATE: /* a client certificate we do not use */
		ok = va_arg(ap, int *);
		if (ok)
			*ok = 1;
		break;
	case SMTP_EV_UNUSABLE_CLIENT_CERTIFICATE: /* raised with NULL: nothing to answer */
	case SMTP_EV_UNUSABLE_CA_LIST:
		snprintf(s->tls_problem, sizeof(s->tls_problem),
			 "libesmtp found an unusable client certificate or CA list under the service user's "
			 "home (~/.authenticate or ~/.config/libesmtp: files must be the user's own, mode 0600)");
		break;
	case SMTP_EV_DISCONNECT: /* raised right after libesmtp closes its socket */
		session_fd = -1;
		session_sock = -1;
		break;
	case SMTP_EV_EXTNA_STARTTLS:
		snprintf(s->tls_problem, sizeof(s->tls_problem), "the server does not offer STARTTLS, which "
								 "/mail/smtp/starttls requires");
		break;
	default:
		break;
	}
	va_end(ap);
}

/* Server replies, for errors that end a session. */
static void on_monitor(const char *buf, int len, int writing, void *arg)
{
	struct session *s = arg;
	if (writing) {
		/* Commands at debug level, without their arguments; after AUTH the
		 * client's lines are the credentials, until the server's verdict. */
		int n = 0;
		if (s->in_auth) {
			ob_debug("smtp %s: C: (credentials hidden)", s->c->host);
			return;
		}
		while (n < len && n < 16 && buf[n] >= 'A' && buf[n] <= 'Z')
			n++;
		if (n > 0)
			ob_debug("smtp %s: C: %.*s ...", s->c->host, n, buf);
		if (n == 4 && strncmp(buf, "AUTH", 4) == 0)
			s->in_auth = 1;
		return;
	}
	if (len < 3)
		return;
	if (s->in_auth && buf[0] != '3')
		s->in_auth = 0; /* 235 or a refusal: AUTH is over */
	ob_debug("smtp %s: S: %.*s", s->c->host, (int)(len > 2 && buf[len - 2] == '\r' ? len - 2 : len), buf);
	/* The last line of a reply is "NNN text"; keep it. */
	const char *end = buf + len, *line = buf;
	for (const char *p = buf; p < end; p++)
		if (*p == '\n' && p + 1 < end)
			line = p + 1;
	int n = (int)(end - line);
	if (n > OB_SMTP_REPLY - 1)
		n = OB_SMTP_REPLY - 1;
	memcpy(s->last_reply, line, (size_t)n);
	s->last_reply[n] = '\0';
	n = (int)strlen(s->last_reply);
	while (n > 0 && (s->last_reply[n - 1] == '\r' || s->last_reply[n - 1] == '\n' || s->last_reply[n - 1] == ' '))
		s->last_reply[--n] = '\0';
	for (char *p = s->last_reply; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	if (strncmp(s->last_reply, "535", 3) == 0 || strncmp(s->last_reply, "534", 3) == 0 ||
	    strncmp(s->last_reply, "538", 3) == 0) {
		s->auth_refused = 1;
		memcpy(s->auth_reply, s->last_reply, sizeof(s->auth_reply));
	}
}

static const char *message_cb(void **ctx, int *len, void *arg)
{
	const struct ob_smtp_msg *m = arg;
	int *done;

	if (*ctx == NULL)
		*ctx = calloc(1, sizeof(int)); /* freed by libesmtp */
	done = *ctx;
	if (done == NULL) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len == NULL) { /* rewind */
		*done = 0;
		return NULL;
	}
	if (*done) {
		*len = 0;
		return NULL;
	}
	*done = 1;
	*len = (int)m->len;
	return m->data;
}

static int interact(auth_client_request_t req, char **result, int fields, void *arg)
{
	const struct ob_smtp_conf *c = arg;
	for (int i = 0; i < fields; i++) {
		if (req[i].flags & AUTH_PASS)
			result[i] = (char *)(c->password ? c->password : "");
		else if (req[i].flags & AUTH_USER)
			result[i] = (char *)(c->username ? c->username : "");
		else
			result[i] = (char *)"";
	}
	return 1;
}

/* One TLS context per process and trust store: libesmtp borrows it for
 * the session and does not free it. */
static SSL_CTX *tls_context(const char *ca_file, struct ob_err *err)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static SSL_CTX *ctx;
	static char *ctx_ca;
	SSL_CTX *ret = NULL;

	pthread_mutex_lock(&lock);
	if (ctx && ((ca_file == NULL && ctx_ca == NULL) || (ca_file && ctx_ca && strcmp(ca_file, ctx_ca) == 0))) {
		ret = ctx;
		goto out;
	}
	ret = SSL_CTX_new(TLS_client_method());
	if (ret == NULL) {
		ob_err_set(err, "smtp: cannot create a TLS context");
		goto out;
	}
	SSL_CTX_set_min_proto_version(ret, TLS1_2_VERSION);
	/* libesmtp checks the verification result and the name itself and asks
	 * on_event whether to go on: the error can then say what is wrong. */
	SSL_CTX_set_verify(ret, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_cert_verify_callback(ret, check_peer, NULL);
	if (ca_file ? SSL_CTX_load_verify_locations(ret, ca_file, NULL) != 1 : SSL_CTX_set_default_verify_paths(ret) != 1) {
		ob_err_set(err, "smtp: cannot load the certificates %s%s (/mail/smtp/ca_file)", ca_file ? "of " : "",
			   ca_file ? ca_file : "of the system");
		SSL_CTX_free(ret);
		ret = NULL;
		goto out;
	}
	/* The context it replaces may be in use by another thread's session:
	 * it is left allocated (a configuration changes seldom). */
	ctx = ret;
	free(ctx_ca);
	ctx_ca = ca_file ? ob_xstrdup(ca_file) : NULL;
out:
	pthread_mutex_unlock(&lock);
	return ret;
}

static pthread_once_t auth_once = PTHREAD_ONCE_INIT;
static void auth_init(void)
{
	auth_client_init();
}

/* The session's server, name, callbacks, timeouts, STARTTLS and AUTH:
 * 0, or -1 with err (*ssl and *auth, once made, are the caller's to free). */
static int session_setup(smtp_session_t session, struct session *s, const struct ob_smtp_conf *c, const char *hostport,
			 SSL_CTX **ssl, auth_context_t *auth, struct ob_err *err)
{
	smtp_set_server(session, hostport);
	if (c->helo)
		smtp_set_hostname(session, c->helo);
	smtp_set_eventcb(session, on_event, s);
	smtp_set_monitorcb(session, on_monitor, s, 0);
	/* libesmtp keeps these in milliseconds, whatever its documentation says. */
	{
		static const int which[] = {Timeout_GREETING, Timeout_ENVELOPE, Timeout_DATA, Timeout_TRANSFER,
					    Timeout_DATA2};
		long ms = (c->command_timeout > 0 ? c->command_timeout : 300) * 1000L;
		for (size_t i = 0; i < sizeof(which) / sizeof(which[0]); i++)
			smtp_set_timeout(session, which[i] | Timeout_OVERRIDE_RFC2822_MINIMUM, ms);
	}
	if (c->starttls != OB_STARTTLS_OFF) {
		if ((*ssl = tls_context(c->ca_file, err)) == NULL)
			return -1;
		smtp_starttls_set_ctx(session, *ssl);
		smtp_starttls_enable(session, c->starttls == OB_STARTTLS_REQUIRED ? Starttls_REQUIRED : Starttls_ENABLED);
	} else
		smtp_starttls_enable(session, Starttls_DISABLED);
	if (c->username) {
		pthread_once(&auth_once, auth_init);
		*auth = auth_create_context();
		auth_set_mechanism_flags(*auth, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(*auth, interact, (void *)c);
		smtp_auth_set_context(session, *auth);
	}
	return 0;
}

/* After the session: what it means for the messages (a session that could
 * not authenticate or secure itself tried nothing), and err for it. The
 * result of ob_smtp_send. */
static int session_outcome(struct session *s, struct ob_smtp_msg *msgs, size_t n, int started, const char *hostport,
			   struct ob_err *err)
{
	/* The session was usable if any message got a reply to MAIL, RCPT
	 * or DATA: a message it then did not reach is no fault of its own. */
	int tried = 0;
	for (size_t i = 0; i < n; i++) {
		int any = msgs[i].code != 0;
		for (size_t k = 0; k < msgs[i].nrcpt; k++)
			any |= msgs[i].rcpt[k].code != 0;
		msgs[i].unreached = !any && !msgs[i].reported; /* kept only if the session was usable */
		tried |= any;
	}
	if (!started || s->auth_refused || s->tls_problem[0]) {
		char ebuf[256];
		const char *why = s->tls_problem[0] ? s->tls_problem
				  : s->auth_refused ? "AUTH refused"
						   : smtp_strerror(smtp_errno(), ebuf, sizeof(ebuf));
		const char *said = s->auth_refused ? s->auth_reply : s->last_reply;
		ob_err_set(err, "smtp %s: %s%s%s", hostport, why, said[0] ? "; the server said: " : "", said);
	} else {
		int untried = 0;
		for (size_t i = 0; i < n; i++)
			if (!msgs[i].code)
				untried = 1;
		if (untried) {
			char ebuf[256];
			int e = smtp_errno();
			ob_err_set(err, "smtp %s: the session ended before every message was sent%s%s%s%s%s",
				   hostport, e ? " (" : "", e ? smtp_strerror(e, ebuf, sizeof(ebuf)) : "",
				   e ? ")" : "", s->last_reply[0] ? "; the server said last: " : "", s->last_reply);
		}
	}
	/* A session that could not authenticate or secure itself tried
	 * nothing, whatever the server said to MAIL afterwards. */
	if (s->auth_refused || s->tls_problem[0] || !tried) {
		for (size_t i = 0; i < n; i++) {
			msgs[i].code = 0;
			msgs[i].unreached = 0;
			for (size_t k = 0; k < msgs[i].nrcpt; k++)
				msgs[i].rcpt[k].code = 0;
		}
		return -1;
	}
	return 0;
}

int ob_smtp_send(const struct ob_smtp_conf *c, struct ob_smtp_msg *msgs, size_t n, ob_smtp_done_fn done,
		 void *arg, struct ob_err *err)
{
	struct session s;
	smtp_session_t session = NULL;
	auth_context_t auth = NULL;
	SSL_CTX *ssl = NULL;
	char hostport[300];
	int rc = -1, started;

	memset(&s, 0, sizeof(s));
	s.data_msg = -1;
	s.c = c;
	s.msgs = msgs;
	s.n = n;
	s.done = done;
	s.arg = arg;
	s.handles = ob_xcalloc(n + 1, sizeof(*s.handles));
	{
		/* "[::1]" or "::1": the address inside the brackets. */
		size_t hl = strlen(c->host);
		struct in6_addr a6;
		if (c->host[0] == '[' && hl >= 2 && c->host[hl - 1] == ']')
			snprintf(s.peer_host, sizeof(s.peer_host), "%.*s", (int)(hl - 2), c->host + 1);
		else
			snprintf(s.peer_host, sizeof(s.peer_host), "%s", c->host);
		s.peer_is_ip = inet_pton(AF_INET, s.peer_host, &a6) == 1 || inet_pton(AF_INET6, s.peer_host, &a6) == 1;
	}
	for (size_t i = 0; i < n; i++) {
		msgs[i].code = 0;
		msgs[i].reply[0] = '\0';
		msgs[i].reported = 0;
		msgs[i].unreached = 0;
		for (size_t k = 0; k < msgs[i].nrcpt; k++) {
			msgs[i].rcpt[k].code = 0;
			msgs[i].rcpt[k].reply[0] = '\0';
		}
	}
	if (n == 0) {
		free(s.handles);
		return 0;
	}
	session = smtp_create_session();
	if (session == NULL) {
		ob_err_set(err, "smtp: cannot create a libesmtp session");
		goto out;
	}
	/* An IPv6 literal needs brackets before the port. */
	if (strchr(c->host, ':') && c->host[0] != '[')
		snprintf(hostport, sizeof(hostport), "[%s]:%u", c->host, c->port);
	else
		snprintf(hostport, sizeof(hostport), "%s:%u", c->host, c->port);
	if (session_setup(session, &s, c, hostport, &ssl, &auth, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		smtp_message_t m = smtp_add_message(session);
		s.handles[i] = m;
		smtp_set_reverse_path(m, msgs[i].from);
		smtp_set_messagecb(m, message_cb, &msgs[i]);
		for (size_t k = 0; k < msgs[i].nrcpt; k++)
			smtp_add_recipient(m, msgs[i].rcpt[k].email);
	}
	in_session = 1;
	cur_session = &s;
	session_fd = -1;
	session_sock = -1;
	session_connect_timeout = c->connect_timeout > 0 ? c->connect_timeout : 30;
	started = smtp_start_session(session);
	in_session = 0;
	cur_session = NULL;
	session_fd = -1;
	session_sock = -1;
	/* What was not reported as sent: collect what the server said. */
	for (size_t i = 0; i < n; i++)
		if (!msgs[i].reported) {
			struct rcpt_walk w = {&msgs[i], 0};
			smtp_enumerate_recipients(s.handles[i], rcpt_status, &w);
			collect(&s, i);
		}
	rc = session_outcome(&s, msgs, n, started, hostport, err);
out:
	for (size_t i = 0; i < n; i++)
		if (!msgs[i].reported) {
			msgs[i].reported = 1;
			if (done && !s.aborted && done(&msgs[i], arg) != 0)
				s.aborted = 1;
		}
	if (session)
		smtp_destroy_session(session);
	if (auth)
		auth_destroy_context(auth);
	X509_free(s.peer_cert);
	free(s.handles);
	return rc;
}
