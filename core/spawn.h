/* spawn.h - the one way the core starts a child process and ends it.
 *
 * A child gets a process group of its own (or a session, for a server that
 * outlives us), stdin from /dev/null, stdout and stderr where asked, no
 * descriptor of ours past 2, an empty signal mask, and optionally dies with
 * its parent. Stopping it signals its whole group: what it started goes too. */
#ifndef OB_SPAWN_H
#define OB_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

struct ob_spawn {
	char *const *argv;   /* executed: argv[0] is a path; or NULL, and fn runs */
	int (*fn)(void *arg); /* where exec is impossible: runs in the fresh process, */
	void *arg;           /* its return the exit code (descriptors kept) */
	int in_set, in_fd;   /* in_set: in_fd is the child's stdin (else /dev/null) */
	int out_fd, err_fd;  /* the child's stdout and stderr; -1 keeps ours */
	int fail_code;       /* the exit code when the exec fails */
	int die_with_parent; /* SIGKILL when this process (its forking thread) ends */
	int session;         /* setsid() instead of a process group: no terminal */
};

/* Starts the child: its pid, or -1 with err. Forks from threads are safe:
 * the child calls only async-signal-safe functions before the exec. */
pid_t ob_spawn_start(const struct ob_spawn *sp, struct ob_err *err);
/* Sends sig to the child's group (to the child alone when the group is gone). */
void ob_spawn_signal(pid_t pid, int sig);
/* Reaps it: 1 with *status when it ended, 0 while it runs (block: waits),
 * -1 when it is not our child. */
int ob_spawn_reap(pid_t pid, int *status, int block);
/* Waits up to ms for it to end, without reaping it (it need not be our
 * child): returns as soon as it has (a pidfd's poll), at once when there
 * is no such process, or after ms. */
void ob_spawn_wait(pid_t pid, int ms);
/* Stops it: SIGTERM to its group, SIGKILL after grace_ms, then reaps it
 * (and SIGKILLs what is left in its group). 0 with *status, -1 not ours. */
int ob_spawn_stop(pid_t pid, int grace_ms, int *status);
/* How it ended, as text: "exited 3", "killed by SIGSEGV". */
const char *ob_spawn_status_text(int status, char *buf, size_t n);

#endif
