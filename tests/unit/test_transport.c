/* test_transport.c - the outbox's transport table (transport.h): the
 * configuration chooses SMTP or the maildir, and the maildir transport
 * writes each message's bytes as they are and reports every recipient;
 * struct ob_err's code (util.h). The SMTP transport is tested against a
 * real SMTP server in tests/integration/t_mail.py. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "conf.h"
#include "transport.h"
#include "util.h"

DEF_TEST(table_chooses)
{
	struct ob_config *cfg = ob_config_defaults();
	const struct ob_transport *t = ob_transport_for(cfg);
	EXPECT_EQ_STR("maildir", t->name);
	cfg->mail.smtp_host = ob_xstrdup("smtp.example.dk");
	t = ob_transport_for(cfg);
	EXPECT_EQ_STR("smtp", t->name);
	OK(t->wanted && t->open && t->send && t->close);
	OK(ob_transport_maildir.wanted && ob_transport_maildir.open && ob_transport_maildir.send &&
	   ob_transport_maildir.close);
	ob_config_free(cfg);
}

struct seen {
	int calls;
	int code[4];
	char why[4][OB_TRANSPORT_REPLY];
};

static int done(struct ob_transport_msg *m, void *arg)
{
	struct seen *s = arg;
	if (s->calls < 4) {
		s->code[s->calls] = m->code;
		snprintf(s->why[s->calls], sizeof(s->why[0]), "%s", m->why);
	}
	s->calls++;
	return 0;
}

/* Sends msgs through the maildir transport into dir; done() fills s. */
static void maildir_send(const char *dir, struct ob_transport_msg *msgs, size_t n, struct seen *s)
{
	struct ob_config *cfg = ob_config_defaults();
	struct ob_err err = {{0}};
	void *st = NULL;

	free(cfg->mail.outbox_dir);
	cfg->mail.outbox_dir = ob_xstrdup(dir);
	EXPECT_EQ_INT(0, ob_transport_maildir.open(cfg, &st, &err));
	EXPECT_EQ_INT(0, ob_transport_maildir.send(st, msgs, n, done, s, &err));
	EXPECT_EQ_STR("", err.msg); /* a message's failure is its own */
	ob_transport_maildir.close(st);
	ob_config_free(cfg);
}

DEF_TEST(maildir_writes)
{
	char dir[] = "/tmp/ob-test-transport-XXXXXX", *path, *text = NULL;
	size_t len = 0;
	struct ob_transport_rcpt r[2] = {{"a@example.dk", 0, ""}, {"b@example.dk", 0, ""}};
	static const char data[] = "Subject: Hej\r\n\r\nÆblegrød\r\n";
	struct ob_transport_msg m = {.id = 42, .from = "overblik@example.dk", .data = data, .len = sizeof(data) - 1,
				     .rcpt = r, .nrcpt = 2};
	struct seen s = {0};

	if (mkdtemp(dir) == NULL) {
		OK(!"mkdtemp");
		return;
	}
	maildir_send(dir, &m, 1, &s);
	EXPECT_EQ_INT(1, s.calls);
	EXPECT_EQ_INT(250, s.code[0]);
	EXPECT_EQ_INT(250, r[0].code);
	EXPECT_EQ_INT(250, r[1].code);
	path = ob_xasprintf("%s/new/outbox-42.eml", dir);
	EXPECT_CONTAINS("250 written to ", s.why[0]);
	EXPECT_CONTAINS(path, r[1].reply);
	OK(ob_read_file(path, &text, &len) == 0 && len == sizeof(data) - 1 && memcmp(text, data, len) == 0);
	free(path);
	free(text);
	path = ob_xasprintf("rm -rf '%s'", dir);
	OK(system(path) == 0);
	free(path);
}

DEF_TEST(maildir_failure_is_per_message)
{
	struct ob_transport_rcpt r[1] = {{"a@example.dk", 0, ""}};
	struct ob_transport_msg m[2] = {{.id = 1, .data = "x\r\n", .len = 3, .rcpt = r, .nrcpt = 1},
					{.id = 2, .data = "y\r\n", .len = 3, .rcpt = r, .nrcpt = 1}};
	struct seen s = {0};

	maildir_send("/proc/self/no-such-maildir", m, 2, &s);
	EXPECT_EQ_INT(2, s.calls);
	EXPECT_EQ_INT(0, s.code[0]);
	EXPECT_EQ_INT(0, r[0].code);
	EXPECT_CONTAINS("cannot create the maildir /proc/self/no-such-maildir", s.why[1]);
}

DEF_TEST(err_code)
{
	struct ob_err err = {{0}};
	EXPECT_EQ_INT(OB_E_NONE, err.code);
	EXPECT_EQ_INT(0, (int)err.sqlerrno);
	ob_err_setc(&err, OB_E_DEADLOCK, 1213, "database: Deadlock found (in: %s)", "UPDATE outbox");
	ob_err_setc(&err, OB_E_DUPLICATE, 1062, "second");
	ob_err_set(&err, "third");
	EXPECT_EQ_INT(OB_E_DEADLOCK, err.code);
	EXPECT_EQ_INT(1213, (int)err.sqlerrno);
	EXPECT_EQ_STR("database: Deadlock found (in: UPDATE outbox)", err.msg);
	ob_err_clear(&err);
	EXPECT_EQ_INT(OB_E_NONE, err.code);
	EXPECT_EQ_INT(0, (int)err.sqlerrno);
	ob_err_set(&err, "a template is missing");
	EXPECT_EQ_INT(OB_E_NONE, err.code); /* told apart by no caller */
}

int main(void)
{
	RUN_TEST(table_chooses);
	RUN_TEST(maildir_writes);
	RUN_TEST(maildir_failure_is_per_message);
	RUN_TEST(err_code);
	END_TEST;
}
