/* test_spawn.c - spawn.c: a child in a group of its own, stdin from
 * /dev/null, nothing of ours past fd 2, stopped as a group (SIGTERM, then
 * SIGKILL after the grace period), and how it ended as text. */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "spawn.h"

/* Runs sp's child to its end: how it ended as text. */
static const char *wait_text(const struct ob_spawn *sp, char *buf, size_t n)
{
	struct ob_err err = {{0}};
	int status = 0;
	pid_t pid = ob_spawn_start(sp, &err);

	if (pid < 0 || ob_spawn_reap(pid, &status, 1) != 1)
		return "not started";
	return ob_spawn_status_text(status, buf, n);
}

static const char *run(char *const *argv, int out_fd, char *buf, size_t n)
{
	struct ob_spawn sp = {.argv = argv, .out_fd = out_fd, .err_fd = -1, .fail_code = 127};
	return wait_text(&sp, buf, n);
}

static int returns_five(void *arg)
{
	(void)arg;
	return 5;
}

static int crashes(void *arg)
{
	(void)arg;
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
	return 0;
}

static const char *run_fn(int (*fn)(void *), char *buf, size_t n)
{
	struct ob_spawn sp = {.fn = fn, .out_fd = -1, .err_fd = -1, .fail_code = 1};
	return wait_text(&sp, buf, n);
}

/* Processes of group pgid that are not zombies (an orphan's zombie waits
 * for whoever adopted it). */
static int alive_in_group(pid_t pgid)
{
	char cmd[128], line[64];
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ps -e -o pgid=,stat= | awk '$1 == %ld && $2 !~ /^Z/'", (long)pgid);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), p))
		n++;
	pclose(p);
	return n;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

DEF_TEST(status_text)
{
	char buf[64];
	EXPECT_EQ_STR("exited 3", run((char *[]){"/bin/sh", "-c", "exit 3", NULL}, -1, buf, sizeof(buf)));
	EXPECT_EQ_STR("exited 127", run((char *[]){"/nonexistent/program", NULL}, -1, buf, sizeof(buf)));
	EXPECT_EQ_STR("exited 5", run_fn(returns_five, buf, sizeof(buf)));
	EXPECT_EQ_STR("killed by SIGSEGV", run_fn(crashes, buf, sizeof(buf)));
}

DEF_TEST(isolation)
{
	char buf[256] = "", text[64];
	int fds[2], leak = dup(STDOUT_FILENO); /* not close-on-exec: the child must not see it */
	char *script = NULL;
	ssize_t n;

	OK(pipe(fds) == 0);
	OK(asprintf(&script, "read -r x; echo \"$$ $(cut -d' ' -f5 /proc/$$/stat) ${x:-eof} "
			     "$(test -e /proc/$$/fd/%d && echo leaked || echo closed)\"", leak) > 0);
	EXPECT_EQ_STR("exited 0", run((char *[]){"/bin/sh", "-c", script, NULL}, fds[1], text, sizeof(text)));
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	{
		long pid = 0, pgid = -1;
		char in[16] = "", fd[16] = "";
		OK(sscanf(buf, "%ld %ld %15s %15s", &pid, &pgid, in, fd) == 4);
		TAP_RESULT(pid == pgid && pgid != (long)getpgrp(), "a process group of its own: %s", buf);
		EXPECT_EQ_STR("eof", in);
		EXPECT_EQ_STR("closed", fd);
	}
	close(fds[0]);
	close(leak);
	free(script);
}

DEF_TEST(stop)
{
	struct ob_spawn sp = {.out_fd = -1, .err_fd = -1, .fail_code = 127};
	struct ob_err err = {{0}};
	char text[64];
	int status = 0;
	double t0;
	pid_t pid;

	/* Ends at SIGTERM. */
	sp.argv = (char *[]){"/bin/sleep", "30", NULL};
	pid = ob_spawn_start(&sp, &err);
	t0 = now();
	OK(ob_spawn_stop(pid, 5000, &status) == 0);
	EXPECT_EQ_STR("killed by SIGTERM", ob_spawn_status_text(status, text, sizeof(text)));
	TAP_RESULT(now() - t0 < 2, "without waiting for the grace period (%.2f s)", now() - t0);
	/* Ignores SIGTERM, with a child of its own: SIGKILL after the grace period, the group with it. */
	sp.argv = (char *[]){"/bin/sh", "-c", "trap '' TERM; sleep 30 & wait; wait", NULL};
	pid = ob_spawn_start(&sp, &err);
	usleep(200000);
	t0 = now();
	OK(ob_spawn_stop(pid, 300, &status) == 0);
	EXPECT_EQ_STR("killed by SIGKILL", ob_spawn_status_text(status, text, sizeof(text)));
	TAP_RESULT(now() - t0 >= 0.3 && now() - t0 < 3, "after the grace period of 0.3 s (%.2f s)", now() - t0);
	usleep(100000);
	TAP_RESULT(alive_in_group(pid) == 0, "nothing left alive in its group (its sleep was killed too)");
}

DEF_TEST(wait)
{
	struct ob_spawn sp = {.out_fd = -1, .err_fd = -1, .fail_code = 127};
	struct ob_err err = {{0}};
	int status = 0;
	double t0;
	pid_t pid;

	/* Back when the child ends, long before the limit; it is not reaped. */
	sp.argv = (char *[]){"/bin/sleep", "0.1", NULL};
	pid = ob_spawn_start(&sp, &err);
	t0 = now();
	ob_spawn_wait(pid, 20000);
	TAP_RESULT(now() - t0 < 10, "ob_spawn_wait is back when the child ends (%.2f s of 20)", now() - t0);
	OK(ob_spawn_reap(pid, &status, 0) == 1);
	/* A child that runs on: back after the limit, the child still there. */
	sp.argv = (char *[]){"/bin/sleep", "30", NULL};
	pid = ob_spawn_start(&sp, &err);
	t0 = now();
	ob_spawn_wait(pid, 200);
	TAP_RESULT(now() - t0 >= 0.19, "and after the limit while it runs (%.2f s of 0.2)", now() - t0);
	OK(ob_spawn_reap(pid, &status, 0) == 0);
	OK(ob_spawn_stop(pid, 1000, &status) == 0);
	/* One that is gone (reaped just above): back at once. */
	t0 = now();
	ob_spawn_wait(pid, 20000);
	TAP_RESULT(now() - t0 < 10, "and at once for a process that is gone (%.2f s of 20)", now() - t0);
}

int main(void)
{
	RUN_TEST(status_text);
	RUN_TEST(isolation);
	RUN_TEST(stop);
	RUN_TEST(wait);
	END_TEST;
}
