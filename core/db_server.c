/* db_server.c - the managed private mariadbd under state_dir/db. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "db_server.h"
#include "spawn.h"
#include "log.h"

struct ob_dbserver {
	char *dir;      /* state_dir/db, absolute */
	char *datadir;
	char *socket;
	char *pidfile;
	char *logfile;
	char *user;
	int users_fd;   /* users.lock, held shared while we use the server */
	pid_t child;    /* the server, when this process started it */
};

/* The servers this process started, so that one that dies is reaped
 * whichever thread notices first: overblikd's loop on SIGCHLD
 * (ob_dbserver_reap), or the thread that waits for it to start or stop.
 * A server killed while in use would otherwise stay a zombie. */
#define MAX_KIDS 64
static pthread_mutex_t kids_mu = PTHREAD_MUTEX_INITIALIZER;
static struct kid {
	pid_t pid;
	int owned;     /* a handle or a start still refers to it */
	int exited;
	int status;
} kids[MAX_KIDS];

static void kid_add(pid_t pid)
{
	pthread_mutex_lock(&kids_mu);
	for (size_t i = 0; i < MAX_KIDS; i++)
		if (kids[i].pid == 0) {
			kids[i] = (struct kid){pid, 1, 0, 0};
			break;
		}
	pthread_mutex_unlock(&kids_mu);
}

static struct kid *kid_find(pid_t pid)
{
	for (size_t i = 0; i < MAX_KIDS; i++)
		if (kids[i].pid == pid)
			return &kids[i];
	return NULL;
}

/* waitpid(pid, WNOHANG) that sees an exit the reaper took first: 1 with
 * *status when it has exited, 0 while it runs, -1 when it is not our child. */
static int kid_wait(pid_t pid, int *status)
{
	struct kid *k;
	pid_t w;
	int rc = 0;

	pthread_mutex_lock(&kids_mu);
	k = kid_find(pid);
	if (k && k->exited) {
		*status = k->status;
		rc = 1;
	} else if ((w = waitpid(pid, status, WNOHANG)) == pid) {
		rc = 1;
		if (k) {
			k->exited = 1;
			k->status = *status;
		}
	} else if (w < 0 && errno != EINTR)
		rc = -1;
	pthread_mutex_unlock(&kids_mu);
	return rc;
}

/* The handle that referred to pid is gone: forget it once it has exited
 * (the reaper does, later, when it still runs for other users). */
static void kid_release(pid_t pid)
{
	struct kid *k;
	int status;

	pthread_mutex_lock(&kids_mu);
	k = kid_find(pid);
	if (k) {
		if (!k->exited && waitpid(pid, &status, WNOHANG) == pid)
			k->exited = 1;
		if (k->exited)
			k->pid = 0;
		else
			k->owned = 0;
	}
	pthread_mutex_unlock(&kids_mu);
}

void ob_dbserver_reap(void)
{
	int status;

	pthread_mutex_lock(&kids_mu);
	for (size_t i = 0; i < MAX_KIDS; i++) {
		struct kid *k = &kids[i];
		if (k->pid <= 0 || k->exited || waitpid(k->pid, &status, WNOHANG) != k->pid)
			continue;
		ob_log(OB_LOG_WARNING, "database: mariadbd (pid %ld) %s %d", (long)k->pid,
		       WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		if (k->owned) {
			k->exited = 1;
			k->status = status;
		} else
			k->pid = 0;
	}
	pthread_mutex_unlock(&kids_mu);
}

struct paths {
	char *dir, *datadir, *socket, *pidfile, *logfile, *startlock, *userslock, *keep;
};

static void paths_free(struct paths *p)
{
	free(p->dir);
	free(p->datadir);
	free(p->socket);
	free(p->pidfile);
	free(p->logfile);
	free(p->startlock);
	free(p->userslock);
	free(p->keep);
}

static int paths_init(const struct ob_config *cfg, struct paths *p, struct ob_err *err)
{
	char *state, *rel;

	memset(p, 0, sizeof(*p));
	if (ob_mkdir_p(cfg->state_dir) < 0) {
		ob_err_set(err, "database: cannot create state directory %s: %s", cfg->state_dir,
			   strerror(errno));
		return -1;
	}
	state = realpath(cfg->state_dir, NULL);
	if (state == NULL) {
		ob_err_set(err, "database: state directory %s: %s", cfg->state_dir, strerror(errno));
		return -1;
	}
	rel = ob_path_join(state, "db");
	free(state);
	p->dir = rel;
	if (ob_mkdir_p(p->dir) < 0) {
		ob_err_set(err, "database: cannot create %s: %s", p->dir, strerror(errno));
		free(p->dir);
		p->dir = NULL;
		return -1;
	}
	p->datadir = ob_path_join(p->dir, "data");
	p->socket = ob_path_join(p->dir, "mysqld.sock");
	p->pidfile = ob_path_join(p->dir, "mysqld.pid");
	p->logfile = ob_path_join(p->dir, "mariadbd.log");
	p->startlock = ob_path_join(p->dir, "start.lock");
	p->userslock = ob_path_join(p->dir, "users.lock");
	p->keep = ob_path_join(p->dir, "keep");
	if (strlen(p->socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		ob_err_set(err, "database: socket path %s is longer than a unix socket allows (%zu bytes): "
				"choose a shorter state_dir",
			   p->socket, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		paths_free(p);
		return -1;
	}
	return 0;
}

static const char *os_user(void)
{
	struct passwd *pw = getpwuid(geteuid());
	return pw ? pw->pw_name : "root";
}

static int lock_file(const char *path, int how, struct ob_err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		ob_err_set(err, "database: cannot open lock file %s: %s", path, strerror(errno));
		return -1;
	}
	while (flock(fd, how) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			ob_err_set(err, "database: cannot lock %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* 1 when something accepts connections on the socket. */
static int socket_answers(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return rc;
}

/* Whether pid is a live mariadbd: not a zombie whose parent has not reaped
 * it yet, and not another program that got the number after a crash. Where
 * /proc is missing, a live pid is taken at its word. */
static int process_is_server(pid_t pid)
{
	char path[64], *text = NULL;
	size_t len;
	int rc = 1;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (ob_read_file(path, &text, &len) < 0)
		return errno == ENOENT && access("/proc/self/stat", F_OK) == 0 ? 0 : 1;
	const char *close_paren = strrchr(text, ')');
	if (close_paren && close_paren[1] == ' ' && (close_paren[2] == 'Z' || close_paren[2] == 'X'))
		rc = 0;
	else if (strstr(text, "(mariadbd)") == NULL && strstr(text, "(mysqld)") == NULL)
		rc = 0;
	free(text);
	return rc;
}

/* The pid in the pid file if that process is a live server, else 0. */
static pid_t live_pid(const char *pidfile)
{
	char *text = NULL;
	long pid;

	if (ob_read_file(pidfile, &text, NULL) < 0)
		return 0;
	pid = strtol(text, NULL, 10);
	free(text);
	if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
		return 0;
	return process_is_server((pid_t)pid) ? (pid_t)pid : 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The last lines of the server's log, for error messages. */
static char *log_tail(const char *logfile, int lines)
{
	char *text = NULL;
	size_t len = 0;
	const char *p;
	int n = 0;

	if (ob_read_file(logfile, &text, &len) < 0)
		return ob_xstrdup("(no log)");
	p = text + len;
	while (p > text && len > 0) {
		p--;
		if (*p == '\n' && p != text + len - 1 && ++n >= lines) {
			p++;
			break;
		}
	}
	char *out = ob_xstrdup(p);
	free(text);
	for (char *q = out; *q; q++)
		if (*q == '\n' && q[1] != '\0')
			*q = '|';
	return out;
}

/* Runs argv to completion with stdout and stderr into logfile. */
static int run_wait(char *const argv[], const char *logfile)
{
	int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640), status;
	struct ob_spawn sp = {.argv = argv, .out_fd = fd, .err_fd = fd, .fail_code = 127, .die_with_parent = 1};
	struct ob_err err = {{0}};
	pid_t pid = ob_spawn_start(&sp, &err);

	if (fd >= 0)
		close(fd);
	if (pid < 0 || ob_spawn_reap(pid, &status, 1) != 1)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int install_db(const struct ob_config *cfg, const struct paths *p, struct ob_err *err)
{
	char *tmp = ob_xasprintf("%s.new", p->datadir);
	char *arg_datadir = ob_xasprintf("--datadir=%s", tmp);
	char *arg_user = ob_xasprintf("--user=%s", os_user());
	char *argv[] = {cfg->db.install_db, "--no-defaults", arg_datadir, arg_user, "--skip-test-db",
			"--auth-root-authentication-method=socket", NULL};
	struct timespec t0, t1;
	int rc = -1, st;

	if (access(cfg->db.install_db, X_OK) < 0) {
		ob_err_set(err, "database: %s: %s: install the Debian package mariadb-server, or set "
				"/database/install_db",
			   cfg->db.install_db, strerror(errno));
		goto out;
	}
	/* Install into a new directory and rename it, so that an interrupted
	 * install never leaves a half data directory behind. */
	run_wait((char *[]){"/bin/rm", "-rf", tmp, NULL}, "/dev/null");
	ob_info("database: creating the data directory %s with %s", p->datadir, cfg->db.install_db);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = run_wait(argv, p->logfile);
	if (st != 0) {
		char *tail = log_tail(p->logfile, 5);
		ob_err_set(err, "database: %s failed (exit %d) for %s; its log %s ends: %s", cfg->db.install_db,
			   st, tmp, p->logfile, tail);
		free(tail);
		goto out;
	}
	if (rename(tmp, p->datadir) < 0) {
		ob_err_set(err, "database: cannot rename %s to %s: %s", tmp, p->datadir, strerror(errno));
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ob_info("database: data directory created in %.1f s",
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	rc = 0;
out:
	free(tmp);
	free(arg_datadir);
	free(arg_user);
	return rc;
}

static int spawn_server(const struct ob_config *cfg, const struct paths *p, pid_t *child, struct ob_err *err)
{
	char *a_datadir = ob_xasprintf("--datadir=%s", p->datadir);
	char *a_socket = ob_xasprintf("--socket=%s", p->socket);
	char *a_pid = ob_xasprintf("--pid-file=%s", p->pidfile);
	char *a_log = ob_xasprintf("--log-error=%s", p->logfile);
	char *a_user = ob_xasprintf("--user=%s", os_user());
	/* A temporary directory of its own: every mariadbd that starts deletes
	 * the #sql files in its tmpdir, which in the shared /tmp are other
	 * servers' temporary tables (an import's staging table vanished so). */
	char *tmpdir = ob_path_join(p->dir, "tmp");
	char *a_tmp = ob_xasprintf("--tmpdir=%s", tmpdir);
	char *argv[] = {cfg->db.mariadbd, "--no-defaults", a_datadir, a_socket, a_pid, a_log, a_user, a_tmp,
			"--skip-networking", "--character-set-server=utf8mb4",
			"--collation-server=utf8mb4_unicode_ci", "--skip-name-resolve",
			"--innodb-buffer-pool-size=256M", "--innodb-log-file-size=256M",
			"--max-allowed-packet=256M", NULL};
	struct ob_spawn sp = {.fail_code = 127, .session = 1};
	struct ob_err serr = {{0}};
	int rc = -1;
	pid_t pid;

	if (access(cfg->db.mariadbd, X_OK) < 0) {
		ob_err_set(err, "database: %s: %s: install the Debian package mariadb-server, or set "
				"/database/mariadbd",
			   cfg->db.mariadbd, strerror(errno));
		goto out;
	}
	if (mkdir(tmpdir, 0700) < 0 && errno != EEXIST) {
		ob_err_set(err, "database: cannot create %s: %s", tmpdir, strerror(errno));
		goto out;
	}
	/* A session of its own: a Ctrl-C at the terminal is ours to handle. */
	sp.argv = argv;
	sp.err_fd = open(p->logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	sp.out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	pid = ob_spawn_start(&sp, &serr);
	if (sp.err_fd >= 0)
		close(sp.err_fd);
	if (sp.out_fd >= 0)
		close(sp.out_fd);
	if (pid < 0) {
		ob_err_set(err, "database: %.900s", serr.msg);
		goto out;
	}
	*child = pid;
	kid_add(pid);
	rc = 0;
out:
	free(a_datadir);
	free(a_socket);
	free(a_pid);
	free(a_log);
	free(a_user);
	free(a_tmp);
	free(tmpdir);
	return rc;
}

static int wait_ready(const struct ob_config *cfg, const struct paths *p, pid_t child, struct ob_err *err)
{
	int waited = 0, limit = 60000, status;

	while (!socket_answers(p->socket)) {
		if (kid_wait(child, &status) == 1) {
			char *tail = log_tail(p->logfile, 6);
			ob_err_set(err, "database: %s exited (%s %d) before it was ready; its log %s ends: %s",
				   cfg->db.mariadbd, WIFEXITED(status) ? "status" : "signal",
				   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), p->logfile, tail);
			free(tail);
			return -1;
		}
		if (waited >= limit) {
			ob_err_set(err, "database: %s did not open %s within %d s; see %s", cfg->db.mariadbd,
				   p->socket, limit / 1000, p->logfile);
			return -1;
		}
		sleep_ms(20);
		waited += 20;
	}
	return 0;
}

/* Stops the server of pid (ours if child), waiting until it has exited. */
static int stop_pid(pid_t pid, int ours, const char *what, struct ob_err *err)
{
	int status;

	if (kill(pid, SIGTERM) < 0 && errno != ESRCH) {
		ob_err_set(err, "database: cannot stop %s (pid %ld): %s", what, (long)pid, strerror(errno));
		return -1;
	}
	for (int waited = 0; waited < 120000; waited += 20) {
		if (ours) {
			if (kid_wait(pid, &status) != 0)
				return 0;
		} else if (!process_is_server(pid))
			return 0;
		sleep_ms(20);
	}
	ob_err_set(err, "database: %s (pid %ld) did not stop within 120 s", what, (long)pid);
	return -1;
}

int ob_dbserver_acquire(const struct ob_config *cfg, struct ob_dbserver **out, struct ob_err *err)
{
	struct paths p;
	struct ob_dbserver *s = NULL;
	int start_fd = -1, users_fd = -1, rc = -1;
	pid_t child = 0, pid;
	struct stat st;

	if (paths_init(cfg, &p, err) < 0)
		return -1;
	start_fd = lock_file(p.startlock, LOCK_EX, err);
	if (start_fd < 0)
		goto out;
	users_fd = lock_file(p.userslock, LOCK_SH, err);
	if (users_fd < 0)
		goto out;

	for (int waited = 0;; waited += 50) {
		if (socket_answers(p.socket)) {
			ob_debug("database: using the running server on %s", p.socket);
			break;
		}
		pid = live_pid(p.pidfile);
		if (pid == 0) {
			if (access(p.pidfile, F_OK) == 0 || access(p.socket, F_OK) == 0) {
				ob_log(OB_LOG_NOTICE, "database: removing the stale pid file and socket of a "
						      "server that is gone (a crash?) in %s",
				       p.dir);
				unlink(p.pidfile);
				unlink(p.socket);
			}
			if (stat(p.datadir, &st) < 0 && install_db(cfg, &p, err) < 0)
				goto out;
			ob_info("database: starting %s on %s", cfg->db.mariadbd, p.socket);
			if (spawn_server(cfg, &p, &child, err) < 0 || wait_ready(cfg, &p, child, err) < 0)
				goto out;
			break;
		}
		/* Alive but not answering: starting, stopping, or hung. Never
		 * start a second server on the same data directory. */
		if (waited >= 30000) {
			ob_err_set(err, "database: mariadbd (pid %ld) holds %s but has not answered on %s for "
					"30 s; stop it (kill %ld) or see %s",
				   (long)pid, p.datadir, p.socket, (long)pid, p.logfile);
			goto out;
		}
		sleep_ms(50);
	}
	s = ob_xcalloc(1, sizeof(*s));
	s->dir = p.dir;
	s->datadir = p.datadir;
	s->socket = p.socket;
	s->pidfile = p.pidfile;
	s->logfile = p.logfile;
	p.dir = p.datadir = p.socket = p.pidfile = p.logfile = NULL;
	s->user = ob_xstrdup(os_user());
	s->users_fd = users_fd;
	s->child = child;
	users_fd = -1;
	*out = s;
	rc = 0;
out:
	if (rc < 0 && child > 0) {
		stop_pid(child, 1, "mariadbd", NULL);
		kid_release(child);
	}
	if (users_fd >= 0)
		close(users_fd);
	if (start_fd >= 0)
		close(start_fd);
	paths_free(&p);
	return rc;
}

const char *ob_dbserver_socket(const struct ob_dbserver *s)
{
	return s->socket;
}

const char *ob_dbserver_user(const struct ob_dbserver *s)
{
	return s->user;
}

int ob_dbserver_pin(struct ob_dbserver *s, int pin, struct ob_err *err)
{
	char *keep = ob_path_join(s->dir, "keep");
	int rc = 0;

	if (pin) {
		int fd = open(keep, O_WRONLY | O_CREAT, 0640);
		if (fd < 0) {
			ob_err_set(err, "database: cannot create %s: %s", keep, strerror(errno));
			rc = -1;
		} else
			close(fd);
	} else
		unlink(keep);
	free(keep);
	return rc;
}

void ob_dbserver_release(struct ob_dbserver *s)
{
	char *startlock, *userslock, *keep;
	int start_fd, excl_fd;
	struct ob_err err = {{0}};
	pid_t pid;

	if (s == NULL)
		return;
	startlock = ob_path_join(s->dir, "start.lock");
	userslock = ob_path_join(s->dir, "users.lock");
	keep = ob_path_join(s->dir, "keep");
	start_fd = lock_file(startlock, LOCK_EX, &err);
	close(s->users_fd);
	/* The last user out stops the server, unless it is pinned. */
	excl_fd = access(keep, F_OK) == 0 ? -1 : lock_file(userslock, LOCK_EX | LOCK_NB, &err);
	if (excl_fd >= 0) {
		pid = s->child > 0 ? s->child : live_pid(s->pidfile);
		if (pid > 0) {
			ob_info("database: stopping mariadbd (pid %ld)", (long)pid);
			if (stop_pid(pid, s->child == pid, "mariadbd", &err) < 0)
				ob_warnx("%s", err.msg);
		}
		close(excl_fd);
	} else if (s->child > 0)
		ob_debug("database: leaving mariadbd (pid %ld) running for the other users", (long)s->child);
	if (start_fd >= 0)
		close(start_fd);
	if (s->child > 0)
		kid_release(s->child);
	free(startlock);
	free(userslock);
	free(keep);
	free(s->dir);
	free(s->datadir);
	free(s->socket);
	free(s->pidfile);
	free(s->logfile);
	free(s->user);
	free(s);
}

int ob_dbserver_status(const struct ob_config *cfg, long *pid, struct ob_err *err)
{
	struct paths p;
	int rc;

	if (paths_init(cfg, &p, err) < 0)
		return -1;
	*pid = (long)live_pid(p.pidfile);
	rc = *pid > 0 && socket_answers(p.socket) ? 1 : 0;
	paths_free(&p);
	return rc;
}

int ob_dbserver_stop(const struct ob_config *cfg, struct ob_err *err)
{
	struct paths p;
	int start_fd, rc = 0;
	pid_t pid;

	if (paths_init(cfg, &p, err) < 0)
		return -1;
	start_fd = lock_file(p.startlock, LOCK_EX, err);
	if (start_fd < 0) {
		paths_free(&p);
		return -1;
	}
	unlink(p.keep);
	pid = live_pid(p.pidfile);
	if (pid > 0)
		rc = stop_pid(pid, 0, "mariadbd", err);
	close(start_fd);
	paths_free(&p);
	return rc;
}
