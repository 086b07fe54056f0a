/* mail_smtp.h - delivery of prebuilt messages over SMTP with libesmtp:
 * many messages in one session, STARTTLS, AUTH, timeouts, and the
 * server's reply for every message and every recipient. mail_smtp.c is the
 * only file that includes libesmtp.h. */
#ifndef OB_MAIL_SMTP_H
#define OB_MAIL_SMTP_H

#include <stddef.h>

#include "conf.h"
#include "util.h"

struct ob_smtp_conf {
	const char *host;
	unsigned port;
	enum ob_starttls starttls;
	const char *ca_file;  /* NULL: the system's certificates */
	int tls_verify;       /* 0: accept any certificate (tests, private relays) */
	const char *username; /* NULL: no AUTH */
	const char *password;
	const char *helo;     /* NULL: the host name */
	int connect_timeout;  /* seconds */
	int command_timeout;  /* seconds */
};

#define OB_SMTP_REPLY 512

struct ob_smtp_rcpt {
	const char *email;
	int code;                 /* the reply to RCPT TO; 0: not tried */
	char reply[OB_SMTP_REPLY];
};

struct ob_smtp_msg {
	const char *from;          /* the envelope sender */
	struct ob_smtp_rcpt *rcpt;
	size_t nrcpt;
	const char *data;          /* the whole message, CRLF line ends */
	size_t len;
	int code;                  /* the reply at the end of DATA (or to MAIL FROM when that failed); 0: not tried */
	char reply[OB_SMTP_REPLY];
	int reported;              /* set when done() was called for it */
	int unreached;             /* the session worked, then ended before this one got any reply */
	void *arg;                 /* the caller's */
};

/* Called once a message is through (the server answered its DATA, or it
 * could not be sent in this session), in the order sent: the caller can
 * record it before the next message goes out. Returns 0 to go on, or
 * nonzero to end the session at once (the connection is cut: the message
 * being sent is not completed, so the server does not take it). */
typedef int (*ob_smtp_done_fn)(struct ob_smtp_msg *m, void *arg);

/* Sends msgs in one SMTP session. Returns 0 when the session ran: each
 * message's and recipient's outcome is in its code and reply (a message
 * left with code 0 was not reached, e.g. the connection broke: err says
 * why). Returns -1 when no message could be tried (no connection, TLS
 * required but not offered, AUTH refused, ...), with err. done() is called
 * for every message either way. */
int ob_smtp_send(const struct ob_smtp_conf *c, struct ob_smtp_msg *msgs, size_t n, ob_smtp_done_fn done,
		 void *arg, struct ob_err *err);

/* 1 (the default): sessions set TCP_NODELAY on their socket. 0 shows what
 * libesmtp does on its own (bench/mail_bench compares the two). */
extern int ob_smtp_tcp_nodelay;

/* The configuration's SMTP settings; reads the password file (err names
 * it). Free with ob_smtp_conf_clear(). */
int ob_smtp_conf_from(const struct ob_config_mail *m, struct ob_smtp_conf *c, struct ob_err *err);
void ob_smtp_conf_clear(struct ob_smtp_conf *c);

#endif
