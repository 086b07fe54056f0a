/* mail_send.c - the overblik client for the mail benchmarks (bench/mail_bench):
 * builds reminder messages with ob_mime_build and sends them to an SMTP
 * server on 127.0.0.1 with ob_smtp_send, the delivery code of the outbox.
 *
 * Every message is built inside the timed loop, so its CPU figure includes
 * the MIME building: a Danish subject (æøå), a text and an HTML body listing
 * five systems, and one attachment of 102,400 bytes labeled application/pdf
 * with the file name "Påmindelse 2026-11-26.pdf". The attachment is
 * pseudo-random bytes (xorshift, fixed seed, the same in every message), not
 * a real PDF: base64 costs the same for any bytes, and libharu cannot make a
 * real PDF that small (it embeds ≈140 KB per font). Each message has its own
 * Message-ID (which also seeds its MIME boundaries), the Date of the moment
 * it is built (as the outbox does), From overblik@bench.invalid and one To
 * recipient, owner@bench.invalid, who is also the envelope recipient.
 *
 *   --mode one    one ob_smtp_send per message: a session each (connect,
 *                 EHLO, MAIL, RCPT, DATA, QUIT), the message built just before
 *   --mode many   the messages in sessions of --batch B (default 0: all of
 *                 them in one session); each session's messages are built
 *                 just before it, as ob_smtp_send takes prebuilt messages
 *                 (the outbox sends batches of 50, /mail/batch)
 *   --no-nodelay  ob_smtp_tcp_nodelay = 0: libesmtp's own socket handling
 *   --write-dir D instead of sending, write the messages as D/NNNNNN.eml
 *                 (so that bench/smtplib_send.py sends the same bytes)
 *
 * Prints one line of JSON like smtplib_send.py's: mode, messages, bytes (of
 * the messages as built), seconds (wall clock of the whole loop: building
 * and sending), cpu_seconds (user + system time of this process during the
 * loop, getrusage RUSAGE_SELF), msg_per_s, cpu_ms_per_msg; and batch,
 * sessions, nodelay, build_cpu_seconds (thread CPU time spent inside
 * ob_mime_build, part of cpu_seconds) and attachment. Every message must
 * come back with 250 to its DATA and to its RCPT, else the first failure is
 * described on stderr and the exit status is 1.
 *
 * Build (from the build directory, after make):
 *   gcc -std=gnu11 -O2 -I. -Iinclude -Icore bench/mail_send.c .libs/libob.a \
 *       $(pkg-config --libs libmariadb libcjson libesmtp-1.0 libssl libcrypto) \
 *       -lhpdf -ldl -lm -pthread -o bench/out/mail_send
 * Usage: mail_send --port P --count N --mode one|many [--batch B]
 *                  [--no-nodelay] [--write-dir DIR] */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mail_smtp.h"
#include "mime.h"
#include "util.h"

#define ATT_LEN 102400
#define FROM "overblik@bench.invalid"
#define RCPT "owner@bench.invalid"

static unsigned char attachment[ATT_LEN];
static double build_cpu; /* seconds inside ob_mime_build */

static void usage(void)
{
	fprintf(stderr, "usage: mail_send --port P --count N --mode one|many [--batch B] [--no-nodelay] "
			"[--write-dir DIR]\n");
	exit(2);
}

static double now(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static void fill_attachment(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < ATT_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		attachment[i] = (unsigned char)(x >> 24);
	}
}

static const char *const systems[] = {
	"Økonomistyring (Prisme) – Økonomi og Løn",
	"Sundhedsplatformen – Sundhed og Ældre",
	"Byggesagsbehandling (BOM) – Teknik og Miljø",
	"Skoleintra – Børn og Unge",
	"Fagsystem for jobcentre (Momentum) – Beskæftigelse",
};

/* Builds message number i into out (appended). Returns 0, -1 with err. */
static int build(size_t i, struct ob_buf *out, struct ob_err *err)
{
	struct ob_buf text, html;
	char mid[200];
	int rc;
	double t0 = now(CLOCK_THREAD_CPUTIME_ID);

	ob_buf_init(&text, 0);
	ob_buf_init(&html, 0);
	snprintf(mid, sizeof(mid), "<bench.%ld.%zu@overblik.example.dk>", (long)getpid(), i);
	ob_buf_printf(&text,
		      "Kære Søren Æbelø\n\n"
		      "Du er systemejer i Overblik Kommune. Opgørelsen \"Påmindelser\" pr. 26-11-2026 har %zu "
		      "punkter, som du skal tage stilling til:\n\n",
		      OB_ARRAY_LEN(systems));
	ob_buf_adds(&html, "<!DOCTYPE html>\n<html lang=\"da\">\n<head><meta charset=\"utf-8\"><title>Påmindelser</title>"
			   "</head>\n<body style=\"font-family: Arial, Helvetica, sans-serif; font-size: 14px;\">\n"
			   "<p>Kære Søren Æbelø</p>\n<p>Du er systemejer i Overblik Kommune. Opgørelsen "
			   "<b>Påmindelser</b> pr. 26-11-2026 har 5 punkter, som du skal tage stilling til:</p>\n<ul>\n");
	for (size_t k = 0; k < OB_ARRAY_LEN(systems); k++) {
		ob_buf_printf(&text, "- %s: databehandleraftalen er ikke gennemgået siden 01-03-2025\n", systems[k]);
		ob_buf_printf(&html,
			      "<li style=\"margin-bottom: 6px;\"><b>%s</b>: databehandleraftalen er ikke gennemgået "
			      "siden 01-03-2025</li>\n",
			      systems[k]);
	}
	ob_buf_printf(&text, "\nHele rapporten er vedhæftet som Påmindelse 2026-11-26.pdf.\n\n"
			     "Venlig hilsen\noverblik – Overblik Kommune\n\n(Kørsel %zu. Denne mail er sendt "
			     "automatisk.)\n",
		      i + 1);
	ob_buf_printf(&html, "</ul>\n<p>Hele rapporten er vedhæftet som <i>Påmindelse 2026-11-26.pdf</i>.</p>\n"
			     "<p>Venlig hilsen<br>overblik – Overblik Kommune</p>\n<p style=\"color: #777;\">Kørsel "
			     "%zu. Denne mail er sendt automatisk.</p>\n</body>\n</html>\n",
		      i + 1);

	struct ob_mime_addr to = {"Søren Æbelø", RCPT};
	struct ob_mime_attachment att = {"Påmindelse 2026-11-26.pdf", "application/pdf", attachment, ATT_LEN};
	struct ob_mime_message m;
	memset(&m, 0, sizeof(m));
	m.from.name = "overblik – Overblik Kommune";
	m.from.email = FROM;
	m.to = &to;
	m.nto = 1;
	m.subject = "Påmindelser: 5 punkter til dig pr. 26-11-2026 (æøå ÆØÅ)";
	m.message_id = mid;
	m.date = time(NULL);
	m.text = text.data;
	m.html = html.data;
	m.att = &att;
	m.natt = 1;
	rc = ob_mime_build(&m, out, err);
	ob_buf_free(&text);
	ob_buf_free(&html);
	build_cpu += now(CLOCK_THREAD_CPUTIME_ID) - t0;
	return rc;
}

static int write_dir(const char *dir, size_t count)
{
	struct ob_err err = {{0}};
	size_t bytes = 0;

	if (ob_mkdir_p(dir) < 0) {
		fprintf(stderr, "mail_send: cannot create %s: %s\n", dir, strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < count; i++) {
		struct ob_buf b;
		char path[4096];
		FILE *f;
		ob_buf_init(&b, 0);
		if (build(i, &b, &err) < 0) {
			fprintf(stderr, "mail_send: message %zu: %s\n", i, err.msg);
			return 1;
		}
		snprintf(path, sizeof(path), "%s/%06zu.eml", dir, i);
		f = fopen(path, "wb");
		if (f == NULL || fwrite(b.data, 1, b.len, f) != b.len || fclose(f) != 0) {
			fprintf(stderr, "mail_send: cannot write %s: %s\n", path, strerror(errno));
			return 1;
		}
		bytes += b.len;
		ob_buf_free(&b);
	}
	printf("{\"mode\": \"write\", \"messages\": %zu, \"bytes\": %zu, \"dir\": \"%s\"}\n", count, bytes, dir);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},     {"count", required_argument, NULL, 'n'},
		{"mode", required_argument, NULL, 'm'},     {"batch", required_argument, NULL, 'b'},
		{"no-nodelay", no_argument, NULL, 'N'},     {"write-dir", required_argument, NULL, 'w'},
		{NULL, 0, NULL, 0},
	};
	unsigned port = 0;
	long count = -1, batch = 0;
	const char *mode = NULL, *dir = NULL;
	int c, failed = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': port = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': count = strtol(optarg, NULL, 10); break;
		case 'm': mode = optarg; break;
		case 'b': batch = strtol(optarg, NULL, 10); break;
		case 'N': ob_smtp_tcp_nodelay = 0; break;
		case 'w': dir = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || count < 0 || batch < 0)
		usage();
	fill_attachment();
	if (dir)
		return write_dir(dir, (size_t)count);
	if (port == 0 || port > 65535 || mode == NULL || (strcmp(mode, "one") != 0 && strcmp(mode, "many") != 0))
		usage();
	signal(SIGPIPE, SIG_IGN);

	size_t n = (size_t)count;
	size_t per = strcmp(mode, "one") == 0 ? 1 : batch > 0 ? (size_t)batch : (n ? n : 1);
	struct ob_smtp_conf conf = {0};
	conf.host = "127.0.0.1";
	conf.port = port;
	conf.starttls = OB_STARTTLS_OFF;
	conf.tls_verify = 0;
	conf.helo = "bench.invalid";
	conf.connect_timeout = 10;
	conf.command_timeout = 60;

	struct ob_smtp_msg *msgs = ob_xcalloc(per, sizeof(*msgs));
	struct ob_smtp_rcpt *rcpts = ob_xcalloc(per, sizeof(*rcpts));
	struct ob_buf *bufs = ob_xcalloc(per, sizeof(*bufs));
	size_t bytes = 0, sessions = 0;

	double w0 = now(CLOCK_MONOTONIC), c0 = cpu_seconds();
	for (size_t done = 0; done < n && !failed;) {
		size_t k = n - done < per ? n - done : per;
		struct ob_err err = {{0}};
		for (size_t j = 0; j < k; j++) {
			ob_buf_init(&bufs[j], 0);
			if (build(done + j, &bufs[j], &err) < 0) {
				fprintf(stderr, "mail_send: message %zu: %s\n", done + j, err.msg);
				return 1;
			}
			memset(&rcpts[j], 0, sizeof(rcpts[j]));
			rcpts[j].email = RCPT;
			memset(&msgs[j], 0, sizeof(msgs[j]));
			msgs[j].from = FROM;
			msgs[j].rcpt = &rcpts[j];
			msgs[j].nrcpt = 1;
			msgs[j].data = bufs[j].data;
			msgs[j].len = bufs[j].len;
			bytes += bufs[j].len;
		}
		int rc = ob_smtp_send(&conf, msgs, k, NULL, NULL, &err);
		sessions++;
		for (size_t j = 0; j < k && !failed; j++)
			if (rc < 0 || msgs[j].code != 250 || rcpts[j].code != 250) {
				fprintf(stderr, "mail_send: message %zu: DATA \"%s\", RCPT \"%s\"%s%s\n", done + j,
					msgs[j].reply, rcpts[j].reply, err.msg[0] ? ": " : "", err.msg);
				failed = 1;
			}
		for (size_t j = 0; j < k; j++)
			ob_buf_free(&bufs[j]);
		done += k;
	}
	double wall = now(CLOCK_MONOTONIC) - w0, cpu = cpu_seconds() - c0;
	if (failed)
		return 1;

	printf("{\"mode\": \"%s\", \"messages\": %zu, \"bytes\": %zu, \"seconds\": %.6f, \"cpu_seconds\": %.6f, "
	       "\"msg_per_s\": %.1f, \"cpu_ms_per_msg\": %.4f, \"batch\": %zu, \"sessions\": %zu, \"nodelay\": %d, "
	       "\"build_cpu_seconds\": %.6f, \"attachment\": \"%d pseudo-random bytes as application/pdf\"}\n",
	       mode, n, bytes, wall, cpu, wall > 0 ? (double)n / wall : 0.0, n ? 1000.0 * cpu / (double)n : 0.0,
	       per, sessions, ob_smtp_tcp_nodelay, build_cpu, ATT_LEN);
	free(msgs);
	free(rcpts);
	free(bufs);
	return 0;
}
