/* spawn.c - starting, stopping and reaping child processes (spawn.h): the
 * run workers, the plugin inventory, the mail delivery, the managed
 * mariadbd and its installer all start here. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "spawn.h"

/* In the child, forked perhaps from threads: async-signal-safe calls only. */
static void child_setup(const struct ob_spawn *sp, pid_t parent, int devnull)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (sp->session)
		setsid();
	else
		setpgid(0, 0);
	if (sp->die_with_parent) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) /* it died before the line above */
			_exit(sp->fail_code);
	}
	if (sp->in_set)
		dup2(sp->in_fd, STDIN_FILENO);
	else if (devnull >= 0)
		dup2(devnull, STDIN_FILENO);
	if (sp->out_fd >= 0 && sp->out_fd != STDOUT_FILENO)
		dup2(sp->out_fd, STDOUT_FILENO);
	if (sp->err_fd >= 0 && sp->err_fd != STDERR_FILENO)
		dup2(sp->err_fd, STDERR_FILENO);
	if (sp->argv)
		close_range(3, ~0U, 0); /* nothing of ours leaks into what it executes */
}

pid_t ob_spawn_start(const struct ob_spawn *sp, struct ob_err *err)
{
	static const char msg[] = ": cannot execute it\n";
	pid_t parent = getpid(), pid;
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (devnull < 0) {
		ob_err_set(err, "/dev/null: %s", strerror(errno));
		return -1;
	}
	if (sp->fn)
		fflush(NULL); /* the child's exit() must not write our buffers again */
	pid = fork();
	if (pid < 0) {
		ob_err_set(err, "cannot start %s: fork: %s", sp->argv ? sp->argv[0] : "a process", strerror(errno));
		close(devnull);
		return -1;
	}
	if (pid > 0) {
		close(devnull);
		return pid;
	}
	child_setup(sp, parent, devnull);
	if (sp->argv == NULL)
		_exit(sp->fn(sp->arg));
	execv(sp->argv[0], sp->argv);
	if (write(STDERR_FILENO, sp->argv[0], strlen(sp->argv[0])) < 0 || write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
	}
	_exit(sp->fail_code);
}

void ob_spawn_signal(pid_t pid, int sig)
{
	if (pid <= 0)
		return;
	if (kill(-pid, sig) < 0) /* its group: what it started too */
		kill(pid, sig);
}

int ob_spawn_reap(pid_t pid, int *status, int block)
{
	pid_t w;

	while ((w = waitpid(pid, status, block ? 0 : WNOHANG)) < 0 && errno == EINTR)
		;
	if (w == pid) {
		kill(-pid, SIGKILL); /* anything it left in its group */
		return 1;
	}
	return w == 0 ? 0 : -1;
}

void ob_spawn_wait(pid_t pid, int ms)
{
	int fd = -1;

#ifdef SYS_pidfd_open
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
#endif
	if (fd >= 0) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		while (poll(&pf, 1, ms) < 0 && errno == EINTR)
			;
		close(fd);
	} else if (errno != ESRCH) { /* a kernel before 5.3 (ESRCH: it is gone already) */
		struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
}

int ob_spawn_stop(pid_t pid, int grace_ms, int *status)
{
	int r;

	ob_spawn_signal(pid, SIGTERM);
	for (int waited = 0; (r = ob_spawn_reap(pid, status, 0)) == 0 && waited < grace_ms; waited += 10) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (r == 0) {
		ob_spawn_signal(pid, SIGKILL);
		r = ob_spawn_reap(pid, status, 1);
	}
	return r == 1 ? 0 : -1;
}

const char *ob_spawn_status_text(int status, char *buf, size_t n)
{
	if (WIFSIGNALED(status))
		snprintf(buf, n, "killed by %s", ob_signal_name(WTERMSIG(status)));
	else
		snprintf(buf, n, "exited %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return buf;
}
