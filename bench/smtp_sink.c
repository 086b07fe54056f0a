/* smtp_sink.c - a cheap SMTP sink for the mail benchmarks: it accepts every
 * message and throws it away, so that the server is never what limits how
 * many messages per second a client can send. One thread, one epoll loop,
 * non-blocking sockets, level triggered.
 *
 * It speaks enough ESMTP for libesmtp and Python's smtplib: the greeting
 * "220 sink ESMTP"; EHLO (PIPELINING, 8BITMIME, SIZE, ENHANCEDSTATUSCODES),
 * HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; anything else gets 502. It checks
 * nothing (no order of commands, no addresses, no sizes). Pipelined commands
 * are answered in order, the replies to one read batched into one write.
 * The message data is not kept: each read is searched for CRLF "." CRLF with
 * memchr for the dot (and memmem over an 8-byte window for the few bytes
 * either side of a read boundary), so the cost per message is a handful of
 * system calls.
 *
 * Accepted sockets are left as the kernel makes them: no TCP_NODELAY, nothing
 * about delayed ACKs, so a client's Nagle behaves as with an ordinary server.
 *
 * Counts: messages, and bytes of message data as received (between the 354
 * and the terminating ".", dot-stuffing included, the CRLF before the dot
 * included). SIGUSR1 writes "messages N bytes B" to stderr; SIGTERM or SIGINT
 * writes the same, writes "N B" to COUNTFILE if -c was given, and exits 0.
 *
 * Build: gcc -std=gnu11 -O2 -Wall -Wextra -o smtp_sink bench/smtp_sink.c
 * Usage: smtp_sink [-l ADDR] [-p PORT] [-r READY_FILE] [-c COUNTFILE] [-q]
 *   -l  IPv4 address to listen on (127.0.0.1)
 *   -p  port (0, the default: any free one)
 *   -r  once listening, write the port and a newline to READY_FILE
 *       (written to a temporary name and renamed, so it appears complete)
 *   -c  on exit, write "MESSAGES BYTES" and a newline to COUNTFILE
 *   -q  do not print "smtp_sink: listening on ADDR:PORT" (nor per-connection
 *       errors) to stderr */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_SIZE (128 * 1024) /* read buffer per connection */
#define OUT_SIZE (16 * 1024) /* reply buffer per connection */
#define MAX_REPLY 256	     /* room kept free in the reply buffer before a command */
#define MAX_EVENTS 256
#define MAX_FREE 64 /* connection structures kept for reuse */

static const char EOD[] = "\r\n.\r\n";
#define EOD_LEN 5

enum { ST_CMD, ST_DATA };

struct conn {
	int fd;
	int state;
	uint32_t events;    /* what epoll is asked for now */
	int closing;	    /* QUIT answered: close once the replies are written */
	int toolong;	    /* discarding the rest of an over-long command line */
	size_t in_len;	    /* bytes in in[] */
	size_t out_off;	    /* first unwritten byte of out[] */
	size_t out_len;	    /* bytes in out[] */
	uint64_t msg_bytes; /* data of the message being received */
	unsigned char tail[4]; /* the stream's last bytes while in DATA */
	size_t tail_len;
	struct conn *next_free;
	char out[OUT_SIZE];
	char in[IN_SIZE];
};

static uint64_t n_messages, n_bytes;
static int quiet;
static int epfd;
static struct conn *free_conns;
static int n_free;
/* Tags for the two fds that are not connections. */
static char listen_tag, signal_tag;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("smtp_sink: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void print_stats(void)
{
	fprintf(stderr, "messages %" PRIu64 " bytes %" PRIu64 "\n", n_messages, n_bytes);
	fflush(stderr);
}

/* Write text to path through a temporary file and a rename. */
static int write_file_atomic(const char *path, const char *text)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
		return -1;
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	int ok = fputs(text, f) >= 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void set_events(struct conn *c, uint32_t ev)
{
	if (ev == c->events)
		return;
	struct epoll_event e = {.events = ev, .data.ptr = c};
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e) != 0)
		die("epoll_ctl: %s", strerror(errno));
	c->events = ev;
}

static void conn_close(struct conn *c)
{
	/* close() removes the fd from the epoll set. */
	close(c->fd);
	if (n_free < MAX_FREE) {
		c->next_free = free_conns;
		free_conns = c;
		n_free++;
	} else {
		free(c);
	}
}

static void reply(struct conn *c, const char *s, size_t n)
{
	/* Callers leave MAX_REPLY bytes free before each command. */
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
}
#define REPLY(c, lit) reply((c), lit, sizeof(lit) - 1)

/* Write what can be written. Returns -1 if the connection is broken,
 * otherwise the number of bytes still waiting. */
static ssize_t flush_out(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		} else {
			return -1;
		}
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
	} else if (c->out_off > 0 && c->out_len - c->out_off < OUT_SIZE / 2) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	return (ssize_t)(c->out_len - c->out_off);
}

static int verb_is(const char *line, size_t len, const char *verb)
{
	return len >= 4 && strncasecmp(line, verb, 4) == 0 && (len == 4 || line[4] == ' ');
}

static void command(struct conn *c, const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (verb_is(line, len, "MAIL")) {
		REPLY(c, "250 2.1.0 Ok\r\n");
	} else if (verb_is(line, len, "RCPT")) {
		REPLY(c, "250 2.1.5 Ok\r\n");
	} else if (verb_is(line, len, "DATA")) {
		REPLY(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
		c->state = ST_DATA;
		c->msg_bytes = 0;
		/* The command's own CRLF counts as the one before a "." line. */
		memcpy(c->tail, "\r\n", 2);
		c->tail_len = 2;
	} else if (verb_is(line, len, "EHLO")) {
		REPLY(c, "250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 67108864\r\n"
			 "250 ENHANCEDSTATUSCODES\r\n");
	} else if (verb_is(line, len, "HELO")) {
		REPLY(c, "250 sink\r\n");
	} else if (verb_is(line, len, "RSET")) {
		REPLY(c, "250 2.0.0 Ok\r\n");
	} else if (verb_is(line, len, "NOOP")) {
		REPLY(c, "250 2.0.0 Ok\r\n");
	} else if (verb_is(line, len, "QUIT")) {
		REPLY(c, "221 2.0.0 Bye\r\n");
		c->closing = 1;
	} else {
		REPLY(c, "502 5.5.2 Error: command not recognized\r\n");
	}
}

static void message_done(struct conn *c)
{
	char buf[64];
	n_messages++;
	n_bytes += c->msg_bytes;
	int n = snprintf(buf, sizeof buf, "250 2.0.0 Ok: queued as %" PRIu64 "\r\n", n_messages);
	reply(c, buf, (size_t)n);
	c->state = ST_CMD;
}

/* Consume message data from p[0..n). Returns how many bytes were used: all
 * of them, or up to and including the terminator (the state is then ST_CMD). */
static size_t data_chunk(struct conn *c, const unsigned char *p, size_t n)
{
	size_t end = 0; /* offset in p just past the terminator, if found */

	/* A terminator across the boundary: the tail (at most 4 bytes, so it
	 * holds no whole terminator) followed by up to 4 bytes of p. */
	if (c->tail_len > 0) {
		unsigned char win[8];
		size_t k = n < 4 ? n : 4;
		memcpy(win, c->tail, c->tail_len);
		memcpy(win + c->tail_len, p, k);
		const unsigned char *m = memmem(win, c->tail_len + k, EOD, EOD_LEN);
		if (m)
			end = (size_t)(m - win) + EOD_LEN - c->tail_len;
	}
	/* Then wholly inside p: memchr for the dot, which a base64 body (the
	 * usual bulk: a PDF) never contains, so the scan runs at memchr's speed
	 * (~25x memmem's for 5 bytes); prose has a dot every sentence or so and
	 * is still ~2x memmem. A dot in p[n-2..n-1] is left to the tail. */
	for (size_t i = 2; !end && i + 2 < n; i++) {
		const unsigned char *d = memchr(p + i, '.', n - 2 - i);
		if (!d)
			break;
		i = (size_t)(d - p);
		if (d[-2] == '\r' && d[-1] == '\n' && d[1] == '\r' && d[2] == '\n')
			end = i + 3;
	}
	if (end) {
		/* The ".\r\n" is not message data; the CRLF before it is. */
		c->msg_bytes += end;
		c->msg_bytes -= 3;
		c->tail_len = 0;
		message_done(c);
		return end;
	}

	c->msg_bytes += n;
	if (n >= 4) {
		memcpy(c->tail, p + n - 4, 4);
		c->tail_len = 4;
	} else {
		size_t keep = c->tail_len + n > 4 ? 4 - n : c->tail_len;
		memmove(c->tail, c->tail + c->tail_len - keep, keep);
		memcpy(c->tail + keep, p, n);
		c->tail_len = keep + n;
	}
	return n;
}

/* Work through the input buffer and write the replies, then tell epoll what
 * to wait for. Returns -1 if the connection was closed. */
static int process(struct conn *c)
{
	size_t pos = 0;
	int blocked = 0;

	while (pos < c->in_len && !c->closing) {
		if (c->state == ST_DATA) {
			/* data_chunk may leave a reply of its own */
			if (OUT_SIZE - c->out_len < MAX_REPLY) {
				if (flush_out(c) < 0)
					goto broken;
				if (OUT_SIZE - c->out_len < MAX_REPLY) {
					blocked = 1;
					break;
				}
			}
			pos += data_chunk(c, (const unsigned char *)c->in + pos, c->in_len - pos);
			continue;
		}
		char *line = c->in + pos;
		char *nl = memchr(line, '\n', c->in_len - pos);
		if (!nl)
			break;
		size_t len = (size_t)(nl - line);
		if (OUT_SIZE - c->out_len < MAX_REPLY) {
			if (flush_out(c) < 0)
				goto broken;
			if (OUT_SIZE - c->out_len < MAX_REPLY) {
				blocked = 1;
				break;
			}
		}
		pos += len + 1;
		if (c->toolong) {
			c->toolong = 0;
			REPLY(c, "500 5.5.2 Error: line too long\r\n");
		} else {
			command(c, line, len);
		}
	}

	if (c->closing) {
		c->in_len = 0;
	} else if (pos > 0) {
		memmove(c->in, c->in + pos, c->in_len - pos);
		c->in_len -= pos;
	}
	if (c->in_len == IN_SIZE && c->state == ST_CMD && !blocked) {
		/* A command line longer than the whole buffer: drop it. */
		c->in_len = 0;
		c->toolong = 1;
	}

	ssize_t left = flush_out(c);
	if (left < 0)
		goto broken;
	if (left > 0 || blocked) {
		set_events(c, EPOLLOUT);
	} else if (c->closing) {
		conn_close(c);
		return -1;
	} else {
		set_events(c, EPOLLIN);
	}
	return 0;

broken:
	conn_close(c);
	return -1;
}

static void on_readable(struct conn *c)
{
	ssize_t n;
	if (c->in_len == IN_SIZE) /* cannot happen: process() never leaves it full */
		return;
	do
		n = recv(c->fd, c->in + c->in_len, IN_SIZE - c->in_len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		if (n < 0 && !quiet && errno != ECONNRESET)
			fprintf(stderr, "smtp_sink: recv: %s\n", strerror(errno));
		conn_close(c);
		return;
	}
	c->in_len += (size_t)n;
	process(c);
}

static void on_writable(struct conn *c)
{
	ssize_t left = flush_out(c);
	if (left < 0) {
		conn_close(c);
		return;
	}
	if (left > 0)
		return;
	if (c->closing) {
		conn_close(c);
		return;
	}
	/* Replies are out: carry on with input held back meanwhile. */
	process(c);
}

static void on_accept(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK && !quiet)
				fprintf(stderr, "smtp_sink: accept: %s\n", strerror(errno));
			return;
		}
		struct conn *c = free_conns;
		if (c) {
			free_conns = c->next_free;
			n_free--;
		} else if (!(c = malloc(sizeof *c))) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = ST_CMD;
		c->closing = c->toolong = 0;
		c->in_len = c->out_off = c->out_len = 0;
		c->msg_bytes = 0;
		c->tail_len = 0;
		c->events = EPOLLIN;
		struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) != 0)
			die("epoll_ctl: %s", strerror(errno));
		REPLY(c, "220 sink ESMTP\r\n");
		if (flush_out(c) < 0) {
			conn_close(c);
			continue;
		}
		if (c->out_len > 0)
			set_events(c, EPOLLOUT);
	}
}

static void finish(const char *countfile) __attribute__((noreturn));
static void finish(const char *countfile)
{
	print_stats();
	if (countfile) {
		char buf[64];
		snprintf(buf, sizeof buf, "%" PRIu64 " %" PRIu64 "\n", n_messages, n_bytes);
		if (write_file_atomic(countfile, buf) != 0)
			die("cannot write %s: %s", countfile, strerror(errno));
	}
	exit(0);
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fputs("usage: smtp_sink [-l ADDR] [-p PORT] [-r READY_FILE] [-c COUNTFILE] [-q]\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1", *ready = NULL, *countfile = NULL;
	long port = 0;
	int opt;

	while ((opt = getopt(argc, argv, "l:p:r:c:qh")) != -1) {
		switch (opt) {
		case 'l': addr = optarg; break;
		case 'p': {
			char *end;
			port = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || port < 0 || port > 65535)
				usage();
			break;
		}
		case 'r': ready = optarg; break;
		case 'c': countfile = optarg; break;
		case 'q': quiet = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();

	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		die("not an IPv4 address: %s", addr);

	/* Signals arrive through the loop, not in handlers. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0)
		die("sigprocmask: %s", strerror(errno));
	int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		die("signalfd: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket: %s", strerror(errno));
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0)
		die("bind %s:%ld: %s", addr, port, strerror(errno));
	if (listen(lfd, SOMAXCONN) != 0)
		die("listen: %s", strerror(errno));
	socklen_t salen = sizeof sa;
	if (getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0)
		die("getsockname: %s", strerror(errno));
	unsigned actual = ntohs(sa.sin_port);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = &listen_tag};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &e) != 0)
		die("epoll_ctl: %s", strerror(errno));
	e.data.ptr = &signal_tag;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &e) != 0)
		die("epoll_ctl: %s", strerror(errno));

	if (ready) {
		char buf[16];
		snprintf(buf, sizeof buf, "%u\n", actual);
		if (write_file_atomic(ready, buf) != 0)
			die("cannot write %s: %s", ready, strerror(errno));
	}
	if (!quiet) {
		fprintf(stderr, "smtp_sink: listening on %s:%u\n", addr, actual);
		fflush(stderr);
	}

	struct epoll_event ev[MAX_EVENTS];
	for (;;) {
		int n = epoll_wait(epfd, ev, MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			void *p = ev[i].data.ptr;
			if (p == &listen_tag) {
				on_accept(lfd);
			} else if (p == &signal_tag) {
				struct signalfd_siginfo si;
				while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
					if (si.ssi_signo == SIGUSR1)
						print_stats();
					else
						finish(countfile);
				}
			} else {
				struct conn *c = p;
				uint32_t what = ev[i].events;
				/* Errors and hangups surface as a failed or empty recv/send. */
				if (c->events & EPOLLOUT) {
					if (what & (EPOLLOUT | EPOLLERR | EPOLLHUP))
						on_writable(c);
				} else if (what & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
					on_readable(c);
				}
			}
		}
	}
}
