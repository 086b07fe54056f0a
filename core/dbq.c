/* dbq.c - a database worker thread for the event loop. Jobs run in the
 * order submitted; their done callbacks come back through a pipe that the
 * loop watches. */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "db.h"
#include "dbq.h"
#include "log.h"
#include "util.h"

struct job {
	ob_dbq_work_fn work;
	ob_dbq_done_fn done;
	void *arg;
	int posted; /* from ob_dbq_post: not a pending job */
	struct job *next;
};

struct ob_dbq {
	struct ob_db *db;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *todo, *todo_tail; /* for the worker */
	struct job *done, *done_tail; /* for the loop */
	int pending;
	int stop;
	int pipe_fd[2];
	struct event *ev;
	void (*idle_cb)(void *);
	void *idle_arg;
};

static void push(struct job **head, struct job **tail, struct job *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static void *worker(void *arg)
{
	struct ob_dbq *q = arg;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct job *j;
		while (q->todo == NULL && !q->stop)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->todo == NULL && q->stop)
			break;
		j = q->todo;
		q->todo = j->next;
		if (q->todo == NULL)
			q->todo_tail = NULL;
		pthread_mutex_unlock(&q->mu);
		if (j->work)
			j->work(q->db, j->arg);
		pthread_mutex_lock(&q->mu);
		push(&q->done, &q->done_tail, j);
		/* One byte wakes the loop; a full pipe means it is awake anyway. */
		if (write(q->pipe_fd[1], "x", 1) < 0 && errno != EAGAIN)
			ob_warn("dbq: cannot wake the loop");
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static void run_done(struct ob_dbq *q)
{
	struct job *list;

	pthread_mutex_lock(&q->mu);
	list = q->done;
	q->done = q->done_tail = NULL;
	pthread_mutex_unlock(&q->mu);
	while (list) {
		struct job *n = list->next;
		if (!list->posted)
			q->pending--;
		if (list->done)
			list->done(list->arg);
		free(list);
		list = n;
	}
	if (q->pending == 0 && q->idle_cb)
		q->idle_cb(q->idle_arg);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	char buf[256];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	run_done(arg);
}

struct ob_dbq *ob_dbq_start(struct event_base *base, struct ob_db *db)
{
	struct ob_dbq *q = ob_xcalloc(1, sizeof(*q));

	q->db = db;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	if (pipe2(q->pipe_fd, O_NONBLOCK | O_CLOEXEC) < 0) {
		ob_warn("dbq: pipe");
		free(q);
		return NULL;
	}
	q->ev = event_new(base, q->pipe_fd[0], EV_READ | EV_PERSIST, on_wake, q);
	event_add(q->ev, NULL);
	if (pthread_create(&q->thread, NULL, worker, q) != 0) {
		ob_warn("dbq: cannot start the database thread");
		event_free(q->ev);
		close(q->pipe_fd[0]);
		close(q->pipe_fd[1]);
		free(q);
		return NULL;
	}
	return q;
}

void ob_dbq_submit(struct ob_dbq *q, ob_dbq_work_fn work, ob_dbq_done_fn done, void *arg)
{
	struct job *j = ob_xcalloc(1, sizeof(*j));
	j->work = work;
	j->done = done;
	j->arg = arg;
	q->pending++;
	pthread_mutex_lock(&q->mu);
	push(&q->todo, &q->todo_tail, j);
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void ob_dbq_post(struct ob_dbq *q, ob_dbq_done_fn fn, void *arg)
{
	struct job *j = ob_xcalloc(1, sizeof(*j));
	j->done = fn;
	j->arg = arg;
	j->posted = 1;
	pthread_mutex_lock(&q->mu);
	push(&q->done, &q->done_tail, j);
	if (write(q->pipe_fd[1], "x", 1) < 0 && errno != EAGAIN)
		ob_warn("dbq: cannot wake the loop");
	pthread_mutex_unlock(&q->mu);
}

void ob_dbq_on_idle(struct ob_dbq *q, void (*cb)(void *arg), void *arg)
{
	q->idle_cb = cb;
	q->idle_arg = arg;
}

int ob_dbq_pending(const struct ob_dbq *q)
{
	return q->pending;
}

void ob_dbq_stop(struct ob_dbq *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	q->idle_cb = NULL; /* the loop is over */
	run_done(q);
	event_free(q->ev);
	close(q->pipe_fd[0]);
	close(q->pipe_fd[1]);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	ob_db_close(q->db);
	free(q);
}
