/* worker_host.c - the run workers' host (worker_host.h): overblikd's side
 * and the host's. One line each way over a socketpair:
 *
 *   overblikd -> host  "R <id> <verbosity> <config path, or - >\n"
 *   host -> overblikd  "S <id> <pid>\n"     the worker is started
 *                      "F <id> <errno>\n"   it could not be (fork failed)
 *                      "E <pid> <status>\n" a worker ended (waitpid's status)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "run.h"
#include "run_worker.h"
#include "spawn.h"
#include "worker_host.h"

#define HOST_ANSWER_MS 10000 /* a host that does not answer a request by then is taken as gone */

struct ended {
	pid_t pid;
	int status;
};

struct ob_worker_host {
	pid_t pid;
	int fd;
	int dead;
	char buf[4096];
	size_t have;
	struct ended *ended;
	size_t nended, cap;
	/* The answer to the request being waited for. */
	unsigned long long want;
	pid_t got;
	int got_errno, answered;
};

static int write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- overblikd's side ---- */

struct ob_worker_host *ob_worker_host_start(const char *exe, struct ob_err *err)
{
	int sv[2];
	char *argv[] = {(char *)exe, "--worker-host", NULL};
	struct ob_spawn sp = {.argv = argv, .in_set = 1, .out_fd = -1, .err_fd = -1, .fail_code = 127,
			      .die_with_parent = 1};
	struct ob_worker_host *h;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ob_err_set(err, "worker host: socketpair: %s", strerror(errno));
		return NULL;
	}
	sp.in_fd = sv[1];
	pid = ob_spawn_start(&sp, err);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return NULL;
	}
	h = ob_xcalloc(1, sizeof(*h));
	h->pid = pid;
	h->fd = sv[0];
	return h;
}

int ob_worker_host_fd(const struct ob_worker_host *h)
{
	return h->fd;
}

int ob_worker_host_dead(const struct ob_worker_host *h)
{
	return h->dead;
}

pid_t ob_worker_host_pid(const struct ob_worker_host *h)
{
	return h->pid;
}

static void host_line(struct ob_worker_host *h, char *line)
{
	unsigned long long id;
	long a;
	int b;

	if (sscanf(line, "E %ld %d", &a, &b) == 2) {
		if (h->nended == h->cap) {
			h->cap = h->cap ? 2 * h->cap : 16;
			h->ended = ob_xrealloc(h->ended, h->cap * sizeof(*h->ended));
		}
		h->ended[h->nended++] = (struct ended){(pid_t)a, b};
	} else if (sscanf(line, "S %llu %ld", &id, &a) == 2 && id == h->want) {
		h->got = (pid_t)a;
		h->answered = 1;
	} else if (sscanf(line, "F %llu %d", &id, &b) == 2 && id == h->want) {
		h->got = -1;
		h->got_errno = b;
		h->answered = 1;
	} else {
		ob_log(OB_LOG_ERR, "worker host: unexpected line from it: %.100s", line);
	}
}

/* Reads what is there (blocking: waits for something first); 0, or -1 when
 * the host is gone. */
static int host_read(struct ob_worker_host *h, int block)
{
	for (;;) {
		ssize_t n;
		char *nl;

		if (h->have == sizeof(h->buf) - 1) { /* no line is this long */
			h->dead = 1;
			return -1;
		}
		n = recv(h->fd, h->buf + h->have, sizeof(h->buf) - 1 - h->have, block ? 0 : MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			h->dead = 1;
			return -1;
		}
		h->have += (size_t)n;
		h->buf[h->have] = '\0';
		while ((nl = memchr(h->buf, '\n', h->have)) != NULL) {
			*nl = '\0';
			host_line(h, h->buf);
			h->have -= (size_t)(nl + 1 - h->buf);
			memmove(h->buf, nl + 1, h->have);
		}
		if (block)
			return 0;
	}
}

void ob_worker_host_poll(struct ob_worker_host *h)
{
	if (!h->dead)
		host_read(h, 0);
}

pid_t ob_worker_host_run(struct ob_worker_host *h, unsigned long long id, const char *config, int verbosity,
			 struct ob_err *err)
{
	char *req;
	int rc;

	if (h->dead) {
		ob_err_set(err, "the worker host (pid %ld) is gone", (long)h->pid);
		return -1;
	}
	if (config && strchr(config, '\n')) {
		ob_err_set(err, "the configuration's path holds a newline");
		return -1;
	}
	req = ob_xasprintf("R %llu %d %s\n", id, verbosity, config ? config : "-");
	rc = write_all(h->fd, req, strlen(req));
	free(req);
	if (rc < 0) {
		h->dead = 1;
		ob_err_set(err, "the worker host (pid %ld) is gone: %s", (long)h->pid, strerror(errno));
		return -1;
	}
	h->want = id;
	h->answered = 0;
	while (!h->answered) {
		struct pollfd pf = {.fd = h->fd, .events = POLLIN};
		int r = poll(&pf, 1, HOST_ANSWER_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || host_read(h, 1) < 0) {
			h->dead = 1;
			ob_err_set(err, "the worker host (pid %ld) did not answer", (long)h->pid);
			return -1;
		}
	}
	h->want = 0;
	if (h->got < 0) {
		ob_err_set(err, "the worker host could not start a process for it: fork: %s", strerror(h->got_errno));
		return -1;
	}
	return h->got;
}

int ob_worker_host_take(struct ob_worker_host *h, pid_t pid, int *status)
{
	for (size_t i = 0; i < h->nended; i++)
		if (h->ended[i].pid == pid) {
			*status = h->ended[i].status;
			h->ended[i] = h->ended[--h->nended];
			return 1;
		}
	if (h->dead) {
		/* It dies with the host (SIGKILL on its parent's death), a little
		 * after the host's socket closes: make sure, and wait until it has
		 * (a pidfd works for a process that is not our child), so that its
		 * run is recorded once nothing of it runs any more. */
		ob_spawn_signal(pid, SIGKILL);
		ob_spawn_wait(pid, 2000);
		*status = SIGKILL; /* as waitpid says "killed by SIGKILL" */
		return 1;
	}
	return 0;
}

void ob_worker_host_stop(struct ob_worker_host *h)
{
	int status;

	if (h == NULL)
		return;
	close(h->fd);
	ob_spawn_stop(h->pid, 5000, &status);
	free(h->ended);
	free(h);
}

/* ---- the host's side ---- */

/* The worker: as "overblikd --run-worker ID" from here on. */
static void host_child(pid_t host, int sfd, unsigned long long id, int verbosity, const char *config)
{
	sigset_t none;
	int devnull = open("/dev/null", O_RDONLY);

	close(sfd);
	if (devnull >= 0) { /* the request socket goes */
		dup2(devnull, STDIN_FILENO);
		close(devnull);
	}
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != host)
		_exit(OB_RUN_EXIT_UNRECORDED);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	exit(ob_run_worker_main(config ? config : "etc/overblik.json", config != NULL, verbosity, id));
}

static void host_request(pid_t host, int sfd, char *line)
{
	unsigned long long id;
	int verbosity, off = 0;
	char reply[64];
	const char *config;
	pid_t pid;

	if (sscanf(line, "R %llu %d %n", &id, &verbosity, &off) != 2 || off == 0) {
		ob_log(OB_LOG_ERR, "worker host: a request it does not understand: %.100s", line);
		return;
	}
	config = strcmp(line + off, "-") == 0 ? NULL : line + off;
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		host_child(host, sfd, id, verbosity, config);
	if (pid < 0)
		snprintf(reply, sizeof(reply), "F %llu %d\n", id, errno);
	else
		snprintf(reply, sizeof(reply), "S %llu %ld\n", id, (long)pid);
	if (write_all(STDIN_FILENO, reply, strlen(reply)) < 0)
		exit(0); /* overblikd is gone */
}

static void host_reap(void)
{
	pid_t pid;
	int status;
	char line[64];

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		kill(-pid, SIGKILL); /* anything it left in its group */
		snprintf(line, sizeof(line), "E %ld %d\n", (long)pid, status);
		if (write_all(STDIN_FILENO, line, strlen(line)) < 0)
			exit(0);
	}
}

int ob_worker_host_main(void)
{
	sigset_t chld;
	char buf[8192];
	size_t have = 0;
	pid_t self = getpid();
	int sfd;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		ob_log(OB_LOG_ERR, "worker host: signalfd: %s", strerror(errno));
		return 1;
	}
	for (;;) {
		struct pollfd pf[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		char *nl;
		ssize_t n;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (pf[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				;
			host_reap();
		}
		if (!pf[0].revents)
			continue;
		n = read(STDIN_FILENO, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0; /* overblikd closed it: done (the workers die with this process) */
		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = memchr(buf, '\n', have)) != NULL) {
			*nl = '\0';
			host_request(self, sfd, buf);
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have);
		}
		if (have == sizeof(buf) - 1)
			return 1; /* no request is this long */
	}
}
