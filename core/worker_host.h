/* worker_host.h - overblikd's run workers, forked from a process that has
 * its libraries loaded already.
 *
 * Every run has a worker process of its own (a plugin that crashes, exits
 * or hangs takes only its run). An exec of the worker costs a run ~40 ms of
 * wall time and ~15 ms of CPU before it does anything: loading and
 * relocating its nine libraries. The worker host is "overblikd
 * --worker-host", started once: single-threaded, holding no configuration,
 * no database connection and no descriptor of overblikd's but the socket it
 * reads requests on. For each request it forks a child that runs the run
 * as "overblikd --run-worker ID" would (reading the configuration file
 * overblikd names, connecting anew), and tells overblikd the child's pid
 * and, when it ends, how: the host is its parent and reaps it.
 *
 * The child has a process group of its own (overblikd's timeouts and stops
 * signal the group, as for an exec'd worker), dies with the host (SIGKILL),
 * and the host dies with overblikd. When the host is gone its workers are
 * taken as killed, and overblikd starts another host for the next run, or
 * execs the worker when it cannot. */
#ifndef OB_WORKER_HOST_H
#define OB_WORKER_HOST_H

#include <sys/types.h>

#include "util.h"

struct ob_worker_host;

/* Starts "exe --worker-host": the host, or NULL with err. */
struct ob_worker_host *ob_worker_host_start(const char *exe, struct ob_err *err);
/* The socket to watch for readability (ob_worker_host_poll then). */
int ob_worker_host_fd(const struct ob_worker_host *h);
/* Asks for run id's worker with the configuration file config (NULL: the
 * default lookup) and verbosity (> 0 debug, < 0 warnings only): its pid, or
 * -1 with err (the host is gone or did not answer). */
pid_t ob_worker_host_run(struct ob_worker_host *h, unsigned long long id, const char *config, int verbosity,
			 struct ob_err *err);
/* Reads what the host said without blocking. */
void ob_worker_host_poll(struct ob_worker_host *h);
/* 1 with *status (as waitpid's) when worker pid has ended, else 0. A
 * worker of a host that is gone has ended killed by SIGKILL. */
int ob_worker_host_take(struct ob_worker_host *h, pid_t pid, int *status);
/* 1 when the host is gone (its socket closed, or it did not answer). */
int ob_worker_host_dead(const struct ob_worker_host *h);
/* The host's pid (a child of this process, to reap). */
pid_t ob_worker_host_pid(const struct ob_worker_host *h);
/* Closes its socket (the host exits, its running workers with it) and
 * reaps it; frees h. */
void ob_worker_host_stop(struct ob_worker_host *h);

/* The host's side: reads requests on stdin until it closes. Returns the
 * exit code. */
int ob_worker_host_main(void);

#endif
