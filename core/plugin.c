/* plugin.c - the loader of report plugins: every .so in the plugin directory
 * with a well-formed descriptor for this ABI major; the others refused, each
 * with its file and reason in the log. */
#include "config.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "json.h"
#include "log.h"
#include "overblik/plugin.h"
#include "plugin.h"
#include "spawn.h"

/* The end of a member, to check a plugin's size can hold it. */
#define MEMBER_END(type, m) (offsetof(type, m) + sizeof(((type *)0)->m))

static int load_file(const char *path, const char *stem, struct ob_loaded_plugin *out, char **why)
{
	void *h;
	const struct ob_plugin *d;

	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		*why = ob_xasprintf("dlopen failed: %s (check its dependencies with ldd)", dlerror());
		return -1;
	}
	d = dlsym(h, "ob_plugin");
	if (d == NULL) {
		*why = ob_xstrdup("no ob_plugin descriptor (is it built with OB_PLUGIN(...)?)");
		goto fail;
	}
	if (d->abi_major != OB_PLUGIN_ABI_MAJOR) {
		*why = ob_xasprintf("built for ABI %u.%u, this overblik has %d.%d", d->abi_major, d->abi_minor,
				    OB_PLUGIN_ABI_MAJOR, OB_PLUGIN_ABI_MINOR);
		goto fail;
	}
	if (d->size < MEMBER_END(struct ob_plugin, run)) {
		*why = ob_xasprintf("descriptor of %u bytes cannot hold run() (malformed)", d->size);
		goto fail;
	}
	if (d->run == NULL) {
		*why = ob_xstrdup("descriptor has no run()");
		goto fail;
	}
	if (d->name == NULL || strcmp(d->name, stem) != 0) {
		*why = ob_xasprintf("descriptor names it \"%s\", but the file is %s.so: they must match",
				    d->name ? d->name : "(null)", stem);
		goto fail;
	}
	{
		/* Declared settings that cannot be read, or defaults that
		 * break their own rules: the plugin is refused as malformed. */
		cJSON *res = NULL;
		struct ob_err e = {{0}};
		if (ob_settings_resolve(d, stem, NULL, &res, &e) < 0) {
			*why = ob_xstrdup(e.msg);
			goto fail;
		}
		cJSON_Delete(res);
	}
	out->name = ob_xstrdup(d->name);
	out->version = ob_xstrdup(d->version ? d->version : "");
	out->path = ob_xstrdup(path);
	out->abi_major = d->abi_major;
	out->abi_minor = d->abi_minor;
	out->handle = h;
	out->desc = d;
	return 0;
fail:
	dlclose(h);
	return -1;
}

static int is_so(const char *name, char **stem)
{
	size_t n = strlen(name);
	if (n <= 3 || strcmp(name + n - 3, ".so") != 0 || name[0] == '.')
		return 0;
	*stem = ob_xstrndup(name, n - 3);
	return 1;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void refuse(struct ob_plugin_set *set, const char *file, const char *why)
{
	set->refused = ob_xrealloc(set->refused, (set->failures + 1) * sizeof(char *));
	set->reasons = ob_xrealloc(set->reasons, (set->failures + 1) * sizeof(char *));
	set->refused[set->failures] = ob_xstrdup(file);
	set->reasons[set->failures] = ob_xstrdup(why);
	set->failures++;
}

int ob_plugin_load_one(const char *dir, const char *name, struct ob_loaded_plugin *out, struct ob_err *err)
{
	char *file = ob_xasprintf("%s.so", name), *path = ob_path_join(dir, file), *why = NULL;
	int rc = 1;

	memset(out, 0, sizeof(*out));
	if (access(path, F_OK) < 0)
		rc = 0;
	else if (load_file(path, name, out, &why) < 0) {
		ob_err_set(err, "plugin %s refused: %s", path, why);
		rc = -1;
	}
	free(why);
	free(file);
	free(path);
	return rc;
}

const struct ob_loaded_plugin *ob_plugins_find(const struct ob_plugin_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->v[i].name, name) == 0)
			return &set->v[i];
	return NULL;
}

void ob_plugin_unload(struct ob_loaded_plugin *p)
{
	if (p->handle)
		dlclose(p->handle);
	free(p->name);
	free(p->version);
	free(p->path);
	free(p->settings_spec);
	free(p->settings_error);
	memset(p, 0, sizeof(*p));
}

void ob_plugins_free(struct ob_plugin_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		ob_plugin_unload(&set->v[i]);
	for (size_t i = 0; i < set->failures; i++) {
		free(set->refused[i]);
		free(set->reasons[i]);
	}
	free(set->refused);
	free(set->reasons);
	free(set->v);
	memset(set, 0, sizeof(*set));
}

/* ---- the inventory in a process of its own ---- */

/* What a plugin prints while it loads (stdout and stderr, its constructors,
 * ASan) goes to a memory file the inventory process hands back per plugin,
 * and overblikd logs its first OB_PLUGIN_OUTPUT_SHOWN bytes (at most
 * OB_PLUGIN_OUTPUT_LINES lines), once per inventory, each line prefixed
 * with the file and escaped: a plugin cannot flood the log or forge lines
 * in it. Past OB_PLUGIN_OUTPUT_LIMIT bytes its writes fail (EFBIG). */
#define OB_PLUGIN_OUTPUT_SHOWN 4096
#define OB_PLUGIN_OUTPUT_LINES 40
#define OB_PLUGIN_OUTPUT_LIMIT (16 << 20)

/* Tabs and newlines would break the line protocol below. */
static void put_field(FILE *out, const char *v)
{
	for (; v && *v; v++)
		fputc(*v == '\t' || *v == '\n' || *v == '\r' ? ' ' : *v, out);
}

/* Bytes in the protocol, both ways: control characters, DEL and the
 * backslash as \xHH, the rest as they are. */
static void put_bytes(FILE *out, const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
}

static size_t get_bytes(const char *v, char *to)
{
	size_t n = 0;
	for (; *v; v++) {
		unsigned int c;
		if (v[0] == '\\' && v[1] == 'x' && sscanf(v + 2, "%2x", &c) == 1 && v[2] && v[3]) {
			to[n++] = (char)c;
			v += 3;
		} else
			to[n++] = *v;
	}
	to[n] = '\0';
	return n;
}

/* The output captured on fd since it was last emptied: its size, and
 * its first OB_PLUGIN_OUTPUT_SHOWN bytes in buf (returns how many). */
static size_t capture_read(int fd, char *buf, long long *total)
{
	struct stat st;
	ssize_t n;

	*total = 0;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0)
		return 0;
	*total = (long long)st.st_size;
	n = pread(fd, buf, OB_PLUGIN_OUTPUT_SHOWN, 0);
	return n > 0 ? (size_t)n : 0;
}

/* In the inventory process: what the file just loaded printed, as an
 * "out" line, and the capture emptied for the next. */
static void emit_output(FILE *out, const char *file, int capture)
{
	char buf[OB_PLUGIN_OUTPUT_SHOWN];
	long long total;
	size_t n;

	if (!capture)
		return;
	fflush(stdout);
	fflush(stderr);
	n = capture_read(STDERR_FILENO, buf, &total);
	if (total > 0) {
		fprintf(out, "out\t%s\t%lld\t", file, total);
		put_bytes(out, buf, n);
		fputc('\n', out);
	}
	if (ftruncate(STDERR_FILENO, 0) < 0) { /* cannot happen on a memory file */
	}
}

int ob_plugins_list(const char *dir, char *const *skip, size_t nskip, FILE *out)
{
	struct ob_plugin_set set;
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t nnames = 0;
	struct stat st;
	/* Run by overblikd, stderr (and stdout) is its capture file: a
	 * regular file, read-write and appended to. */
	int fl = fcntl(STDERR_FILENO, F_GETFL);
	int capture = fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode) && fl >= 0 &&
		      (fl & O_ACCMODE) == O_RDWR && (fl & O_APPEND);

	memset(&set, 0, sizeof(set));
	if (capture) {
		struct rlimit rl = {OB_PLUGIN_OUTPUT_LIMIT, OB_PLUGIN_OUTPUT_LIMIT};
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		setvbuf(stderr, NULL, _IONBF, 0);
	}
	if (d == NULL) {
		fprintf(out, "error\tcannot read the plugin directory %s: %s\n", dir, strerror(errno));
		fflush(out);
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		char *stem;
		int skipped = 0;
		if (!is_so(e->d_name, &stem))
			continue;
		free(stem);
		for (size_t k = 0; k < nskip; k++)
			skipped |= strcmp(skip[k], e->d_name) == 0;
		if (skipped)
			continue;
		if (!ob_utf8_printable(e->d_name)) {
			/* Refused unloaded: its name could not be carried, or
			 * skipped, and would garble the log. */
			char shown[1300];
			ob_json_quote_for_message(e->d_name, strlen(e->d_name), 300, shown, sizeof(shown));
			fprintf(out, "badname\t%s\n", shown);
			continue;
		}
		names = ob_xrealloc(names, (nnames + 1) * sizeof(char *));
		names[nnames++] = ob_xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, nnames, sizeof(char *), cmp_name);
	set.v = ob_xcalloc(nnames ? nnames : 1, sizeof(*set.v));
	for (size_t i = 0; i < nnames; i++) {
		char *stem = NULL, *why = NULL, *path = ob_path_join(dir, names[i]);
		struct ob_loaded_plugin p = {0};
		/* Flushed before and after: whatever ends this process while a
		 * file loads (a crash, exit(), a hang), the parent knows which. */
		fflush(stdout);
		fflush(stderr);
		if (capture && ftruncate(STDERR_FILENO, 0) < 0) { /* cannot happen on a memory file */
		}
		fprintf(out, "try\t%s\n", names[i]);
		fflush(out);
		is_so(names[i], &stem);
		int loaded = load_file(path, stem, &p, &why);
		emit_output(out, names[i], capture);
		if (loaded < 0) {
			fprintf(out, "refused\t%s\t", names[i]);
			put_field(out, why);
			fputc('\n', out);
		} else if (ob_plugins_find(&set, p.name)) {
			fprintf(out, "refused\t%s\tthe name is taken\n", names[i]);
			ob_plugin_unload(&p);
		} else {
			fprintf(out, "ok\t%s\t", names[i]);
			put_field(out, p.name);
			fputc('\t', out);
			put_field(out, p.version);
			fprintf(out, "\t%u\t%u\n", p.abi_major, p.abi_minor);
			if (ob_plugin_nsettings(p.desc) > 0) {
				/* Its declared settings, so overblikd can check the
				 * configuration against them without loading it. */
				cJSON *decl = ob_settings_describe(p.desc);
				char *text = cJSON_PrintUnformatted(decl);
				fprintf(out, "settings\t%s\t", names[i]);
				put_bytes(out, text, strlen(text));
				fputc('\n', out);
				cJSON_free(text);
				cJSON_Delete(decl);
			}
			set.v[set.n++] = p;
		}
		fflush(out);
		free(why);
		free(stem);
		free(path);
		free(names[i]);
	}
	free(names);
	/* Only this line says the inventory is whole: an exit(0) in a
	 * constructor must not pass for the end of the list. */
	fputs("done\n", out);
	fflush(out);
	fflush(stdout);
	fflush(stderr);
	if (capture && ftruncate(STDERR_FILENO, 0) < 0) { /* what destructors print is read by overblikd */
	}
	ob_plugins_free(&set); /* destructors run after "done": their end is not a plugin's refusal */
	return 0;
}

struct ob_inventory {
	char *self, *dir;
	char **skip;        /* files refused for ending a round, and why */
	char **skip_why;
	size_t nskip;
	int rounds;
	pid_t pid;          /* this round's process, 0 when none */
	int fd;             /* its lines, -1 when none */
	int eof;
	int status;         /* how it ended */
	struct ob_buf out;
	int capfd;          /* the round's stdout and stderr (a memory file) */
	struct inv_output { /* what each file printed, its first round only */
		char *file;
		char *text;
		size_t len;
		long long total;
	} *outputs;
	size_t noutputs;
	int finished;       /* no round left to run */
	int failed;
	char error[1024];
	struct ob_plugin_set set; /* the last round's, once finished */
};

static int round_start(struct ob_inventory *inv)
{
	int fds[2];
	char **argv = ob_xcalloc(4 + 2 * inv->nskip + 1, sizeof(char *));
	size_t a = 0;
	pid_t pid;
	struct ob_spawn sp = {.fail_code = 1, .die_with_parent = 1};
	struct ob_err err = {{0}};

	argv[a++] = inv->self;
	argv[a++] = "--list-plugins";
	argv[a++] = inv->dir;
	for (size_t k = 0; k < inv->nskip; k++) {
		argv[a++] = "--skip";
		argv[a++] = inv->skip[k];
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(inv->error, sizeof(inv->error), "plugins: pipe: %s", strerror(errno));
		free(argv);
		return -1;
	}
	if (ftruncate(inv->capfd, 0) < 0) { /* cannot happen on a memory file */
	}
	/* Its own group, killed as one: what a constructor started too. */
	sp.argv = argv;
	sp.out_fd = fds[1];
	sp.err_fd = inv->capfd; /* what it prints, read back per plugin */
	pid = ob_spawn_start(&sp, &err);
	if (pid < 0) {
		snprintf(inv->error, sizeof(inv->error), "plugins: %.900s", err.msg);
		close(fds[0]);
		close(fds[1]);
		free(argv);
		return -1;
	}
	close(fds[1]);
	free(argv);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	inv->pid = pid;
	inv->fd = fds[0];
	inv->eof = 0;
	inv->rounds++;
	ob_buf_reset(&inv->out);
	return 0;
}

struct ob_inventory *ob_inventory_start(const char *self, const char *dir, struct ob_err *err)
{
	struct ob_inventory *inv = ob_xcalloc(1, sizeof(*inv));

	inv->self = ob_xstrdup(self);
	inv->dir = ob_xstrdup(dir);
	inv->fd = -1;
	inv->capfd = -1;
	ob_buf_init(&inv->out, 8 << 20); /* each file's output line is at most 16 KiB */
	inv->capfd = memfd_create("overblik-plugin-output", MFD_CLOEXEC);
	if (inv->capfd < 0 || fcntl(inv->capfd, F_SETFL, O_APPEND) < 0) {
		ob_err_set(err, "plugins: memfd_create: %s", strerror(errno));
		ob_inventory_cancel(inv);
		return NULL;
	}
	if (round_start(inv) < 0) {
		ob_err_set(err, "%s", inv->error);
		ob_inventory_cancel(inv);
		return NULL;
	}
	return inv;
}

int ob_inventory_fd(const struct ob_inventory *inv)
{
	return inv->fd;
}

int ob_inventory_read(struct ob_inventory *inv)
{
	char buf[4096];
	int got = 0;

	while (inv->fd >= 0 && !inv->eof) {
		ssize_t n = read(inv->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return got;
		if (n <= 0) { /* the end, or an error: what comes is in the exit status */
			inv->eof = 1; /* closed by poll, after the caller stopped watching it */
			return -1;
		}
		got = 1;
		ob_buf_add(&inv->out, buf, (size_t)n); /* past 1 MiB the rest is dropped: no plugin dir is that big */
	}
	return -1;
}

/* Keeps what file printed, the first time in this inventory: each round
 * loads every file again, and its output is logged once. */
static void record_output(struct ob_inventory *inv, const char *file, const char *text, size_t len, long long total)
{
	struct inv_output *o;

	if (total <= 0)
		return;
	for (size_t i = 0; i < inv->noutputs; i++)
		if (strcmp(inv->outputs[i].file, file) == 0)
			return;
	inv->outputs = ob_xrealloc(inv->outputs, (inv->noutputs + 1) * sizeof(*inv->outputs));
	o = &inv->outputs[inv->noutputs++];
	o->file = ob_xstrdup(file);
	o->text = ob_xmalloc(len + 1); /* may hold NUL bytes */
	memcpy(o->text, text, len);
	o->text[len] = '\0';
	o->len = len;
	o->total = total;
}

/* Logs what each file printed: prefixed, escaped, cut. */
static void log_outputs(struct ob_inventory *inv)
{
	for (size_t i = 0; i < inv->noutputs; i++) {
		struct inv_output *o = &inv->outputs[i];
		size_t shown = 0, lines = 0;
		const char *who = o->file[0] ? o->file : "(outside any plugin)";
		for (size_t at = 0; at < o->len && lines < OB_PLUGIN_OUTPUT_LINES; lines++) {
			const char *nl = memchr(o->text + at, '\n', o->len - at);
			size_t n = nl ? (size_t)(nl - (o->text + at)) : o->len - at;
			char esc[OB_PLUGIN_OUTPUT_SHOWN * 4 + 8];
			ob_json_quote_for_message(o->text + at, n, OB_PLUGIN_OUTPUT_SHOWN, esc, sizeof(esc));
			ob_log(OB_LOG_NOTICE, "plugins: %s/%s printed: %s", inv->dir, who, esc);
			at += n + (nl != NULL);
			shown = at;
		}
		if ((long long)shown < o->total)
			ob_log(OB_LOG_NOTICE, "plugins: %s/%s printed %lld more bytes while loading (not shown)", inv->dir,
			       who, o->total - (long long)shown);
	}
}

/* How the round's process ended, as a refusal of the file it was loading. */
static char *how_it_ended(int status, int timed_out)
{
	if (timed_out)
		return ob_xasprintf("loading it did not finish within %d s (a constructor that hangs?)",
				    OB_INVENTORY_TIMEOUT);
	if (WIFSIGNALED(status))
		return ob_xasprintf("loading it crashed the process (%s): its constructor or a library it pulls in",
				    strsignal(WTERMSIG(status)));
	return ob_xasprintf("loading it ended the process with exit status %d: its constructor or a library it "
			    "pulls in calls exit() (or a sanitizer stopped it: see the log above)",
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Reads the ended round's lines: 1 when it listed every file ("done"),
 * 0 with *culprit when it ended while loading one, -1 otherwise. */
static int round_parse(struct ob_inventory *inv, struct ob_plugin_set *set, char **culprit)
{
	char *last_try = NULL;
	int done = 0, rc = -1;

	*culprit = NULL;
	memset(set, 0, sizeof(*set));
	for (char *line = inv->out.data, *next; line && *line && !done; line = next) {
		char *f[6] = {0};
		int nf = 0;
		next = strchr(line, '\n');
		if (next == NULL)
			break; /* a line cut short */
		*next++ = '\0';
		for (char *t = line; t && nf < 6;) { /* empty fields count (a version may be "") */
			f[nf++] = t;
			t = strchr(t, '\t');
			if (t)
				*t++ = '\0';
		}
		if (nf >= 4 && strcmp(f[0], "out") == 0) {
			char *text = ob_xmalloc(strlen(f[3]) + 1);
			size_t n = get_bytes(f[3], text);
			record_output(inv, f[1], text, n, atoll(f[2]));
			free(text);
		} else if (nf >= 2 && strcmp(f[0], "badname") == 0) {
			refuse(set, f[1], "its file name has control characters or bytes that are not UTF-8 (shown as \\xHH): "
					  "not loaded; rename it");
		} else if (nf >= 2 && strcmp(f[0], "try") == 0) {
			free(last_try);
			last_try = ob_xstrdup(f[1]);
		} else if (nf >= 3 && strcmp(f[0], "refused") == 0) {
			refuse(set, f[1], f[2]);
			free(last_try);
			last_try = NULL;
		} else if (nf == 6 && strcmp(f[0], "ok") == 0) {
			struct ob_loaded_plugin *p;
			set->v = ob_xrealloc(set->v, (set->n + 1) * sizeof(*set->v));
			p = &set->v[set->n++];
			memset(p, 0, sizeof(*p));
			p->name = ob_xstrdup(f[2]);
			p->version = ob_xstrdup(f[3]);
			p->path = ob_path_join(inv->dir, f[1]);
			p->abi_major = (unsigned)atoi(f[4]);
			p->abi_minor = (unsigned)atoi(f[5]);
			free(last_try);
			last_try = NULL;
		} else if (nf >= 3 && strcmp(f[0], "settings") == 0 && set->n > 0) {
			struct ob_loaded_plugin *p = &set->v[set->n - 1];
			char *file = strrchr(p->path, '/') ? strrchr(p->path, '/') + 1 : p->path;
			if (strcmp(file, f[1]) == 0) {
				free(p->settings_spec);
				p->settings_spec = ob_xmalloc(strlen(f[2]) + 1);
				get_bytes(f[2], p->settings_spec);
			}
		} else if (nf >= 2 && strcmp(f[0], "error") == 0) {
			snprintf(inv->error, sizeof(inv->error), "plugins: %s", f[1]);
			goto out;
		} else if (nf == 1 && strcmp(f[0], "done") == 0 && last_try == NULL)
			done = 1;
	}
	if (done)
		rc = 1;
	else if (last_try) {
		*culprit = last_try;
		last_try = NULL;
		rc = 0;
	} else
		snprintf(inv->error, sizeof(inv->error),
			 "plugins: the plugin inventory of %s ended (%s %d) outside any plugin; see the log above",
			 inv->dir, WIFSIGNALED(inv->status) ? "signal" : "status",
			 WIFSIGNALED(inv->status) ? WTERMSIG(inv->status) : WEXITSTATUS(inv->status));
out:
	free(last_try);
	if (rc != 1)
		ob_plugins_free(set);
	return rc;
}

int ob_inventory_poll(struct ob_inventory *inv, int timed_out)
{
	struct ob_plugin_set set;
	char *culprit = NULL;
	int w, r;

	if (inv->finished || inv->pid <= 0)
		return 1;
	if (timed_out)
		ob_spawn_signal(inv->pid, SIGKILL);
	/* Reaped, what its plugins started and left in its group is killed. */
	if ((w = ob_spawn_reap(inv->pid, &inv->status, timed_out)) == 0)
		return 0; /* still at work */
	if (w < 0)
		inv->status = SIGKILL; /* not ours to wait for (cannot happen): as if killed */
	inv->pid = 0;
	ob_inventory_read(inv); /* the lines it wrote before it ended */
	if (inv->fd >= 0) {
		close(inv->fd);
		inv->fd = -1;
	}
	r = round_parse(inv, &set, &culprit);
	{ /* what the file that ended the round printed, or destructors after "done" */
		char buf[OB_PLUGIN_OUTPUT_SHOWN];
		long long total;
		size_t n = capture_read(inv->capfd, buf, &total);
		record_output(inv, r == 0 ? culprit : "", buf, n, total);
	}
	if (r == 1) {
		inv->set = set;
		inv->finished = 1;
		return 1;
	}
	if (r < 0) {
		inv->failed = 1;
		inv->finished = 1;
		return 1;
	}
	/* The file that ended the round is refused; the inventory is taken
	 * again without it. */
	inv->skip = ob_xrealloc(inv->skip, (inv->nskip + 1) * sizeof(char *));
	inv->skip_why = ob_xrealloc(inv->skip_why, (inv->nskip + 1) * sizeof(char *));
	inv->skip[inv->nskip] = culprit;
	inv->skip_why[inv->nskip++] = how_it_ended(inv->status, timed_out);
	if (inv->rounds >= 64) {
		snprintf(inv->error, sizeof(inv->error), "plugins: %s: 64 plugins in a row ended the inventory; giving up",
			 inv->dir);
		inv->failed = inv->finished = 1;
		return 1;
	}
	if (round_start(inv) < 0) {
		inv->failed = inv->finished = 1;
		return 1;
	}
	return 0;
}

int ob_inventory_finish(struct ob_inventory *inv, struct ob_plugin_set *set, struct ob_err *err)
{
	int rc = -1;

	memset(set, 0, sizeof(*set));
	log_outputs(inv);
	if (!inv->finished || inv->failed) {
		ob_err_set(err, "%s", inv->error[0] ? inv->error : "plugins: the inventory did not finish");
		goto out;
	}
	*set = inv->set;
	memset(&inv->set, 0, sizeof(inv->set));
	for (size_t k = 0; k < inv->nskip; k++)
		refuse(set, inv->skip[k], inv->skip_why[k]);
	/* Logged here, once: a round that ended early is not logged. */
	for (size_t i = 0; i < set->failures; i++)
		ob_log(OB_LOG_ERR, "plugins: %s/%s refused: %s", inv->dir, set->refused[i], set->reasons[i]);
	for (size_t i = 0; i < set->n; i++)
		ob_info("plugins: loaded %s %s (ABI %u.%u) from %s", set->v[i].name, set->v[i].version,
			set->v[i].abi_major, set->v[i].abi_minor, set->v[i].path);
	rc = 0;
out:
	ob_inventory_cancel(inv);
	return rc;
}

void ob_inventory_cancel(struct ob_inventory *inv)
{
	if (inv == NULL)
		return;
	if (inv->pid > 0) {
		int status;
		ob_spawn_signal(inv->pid, SIGKILL);
		ob_spawn_reap(inv->pid, &status, 1);
	}
	if (inv->fd >= 0)
		close(inv->fd);
	if (inv->capfd >= 0)
		close(inv->capfd);
	for (size_t i = 0; i < inv->noutputs; i++) {
		free(inv->outputs[i].file);
		free(inv->outputs[i].text);
	}
	free(inv->outputs);
	for (size_t k = 0; k < inv->nskip; k++) {
		free(inv->skip[k]);
		free(inv->skip_why[k]);
	}
	free(inv->skip);
	free(inv->skip_why);
	ob_plugins_free(&inv->set);
	ob_buf_free(&inv->out);
	free(inv->self);
	free(inv->dir);
	free(inv);
}

const char *ob_inventory_dir(const struct ob_inventory *inv)
{
	return inv->dir;
}

pid_t ob_inventory_pid(const struct ob_inventory *inv)
{
	return inv->pid;
}

/* ---- declared settings ---- */

/* The i-th of the plugin's declared settings, read with the first one's size
 * as the stride and members past it as zero. */
static int spec_at(const struct ob_plugin *d, size_t i, struct ob_setting *out)
{
	const unsigned char *base = (const unsigned char *)d->settings;
	uint32_t stride;

	memset(out, 0, sizeof(*out));
	if (base == NULL)
		return -1;
	stride = d->settings[0].size;
	if (stride < MEMBER_END(struct ob_setting, help))
		return -1; /* not made with OB_INIT */
	memcpy(out, base + i * stride, stride < sizeof(*out) ? stride : sizeof(*out));
	return 0;
}

size_t ob_plugin_nsettings(const struct ob_plugin *d)
{
	if (d->size < MEMBER_END(struct ob_plugin, nsettings) || d->settings == NULL)
		return 0;
	return d->nsettings;
}

const char *ob_plugin_title(const struct ob_plugin *d)
{
	return d->size >= MEMBER_END(struct ob_plugin, title) ? d->title : NULL;
}

static const char *type_name(enum ob_setting_type t)
{
	switch (t) {
	case OB_SETTING_INT: return "a whole number";
	case OB_SETTING_INT_LIST: return "a list of whole numbers";
	case OB_SETTING_CHOICE: return "one of its choices";
	case OB_SETTING_BOOL: return "true or false";
	case OB_SETTING_TEXT: return "a string";
	case OB_SETTING_CHOICE_LIST: return "a list of its choices";
	default: return "?";
	}
}

static int whole(const cJSON *v, long long min, long long max, long long *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return 0;
	d = v->valuedouble;
	if (d != (double)(long long)d || d < (double)min || d > (double)max)
		return 0;
	*out = (long long)d;
	return 1;
}

static int choice_ok(const char *choices, const char *s)
{
	size_t n = strlen(s);
	for (const char *p = choices; p && *p;) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);
		if (l == n && strncmp(p, s, n) == 0 && n > 0)
			return 1;
		p = bar ? bar + 1 : NULL;
	}
	return 0;
}

int ob_setting_check_value(const struct ob_setting *s, const cJSON *v, const char *ptr, struct ob_err *err)
{
	long long n;

	switch (s->type) {
	case OB_SETTING_INT:
		if (!whole(v, s->min, s->max, &n)) {
			ob_err_set(err, "%s: expected a whole number from %lld to %lld", ptr, s->min, s->max);
			return -1;
		}
		return 0;
	case OB_SETTING_INT_LIST: {
		const cJSON *it;
		int i = 0, count = cJSON_GetArraySize(v);
		if (!cJSON_IsArray(v) || count < 1 || count > 64) {
			ob_err_set(err, "%s: expected a list of 1 to 64 whole numbers from %lld to %lld", ptr, s->min,
				   s->max);
			return -1;
		}
		cJSON_ArrayForEach(it, v)
		{
			if (!whole(it, s->min, s->max, &n)) {
				ob_err_set(err, "%s/%d: expected a whole number from %lld to %lld", ptr, i, s->min, s->max);
				return -1;
			}
			for (const cJSON *o = v->child; o != it; o = o->next)
				if (o->valuedouble == it->valuedouble) {
					ob_err_set(err, "%s/%d: %lld is in the list twice", ptr, i, n);
					return -1;
				}
			i++;
		}
		return 0;
	}
	case OB_SETTING_CHOICE:
		if (!cJSON_IsString(v) || !choice_ok(s->choices, v->valuestring)) {
			ob_err_set(err, "%s: expected one of \"%s\" (separated by |)", ptr, s->choices ? s->choices : "");
			return -1;
		}
		return 0;
	case OB_SETTING_CHOICE_LIST: {
		const cJSON *it;
		int i = 0;
		if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 64) {
			ob_err_set(err, "%s: expected a list of at most 64 of \"%s\" (separated by |)", ptr,
				   s->choices ? s->choices : "");
			return -1;
		}
		cJSON_ArrayForEach(it, v)
		{
			if (!cJSON_IsString(it) || !choice_ok(s->choices, it->valuestring)) {
				ob_err_set(err, "%s/%d: expected one of \"%s\" (separated by |)", ptr, i,
					   s->choices ? s->choices : "");
				return -1;
			}
			for (const cJSON *o = v->child; o != it; o = o->next)
				if (strcmp(o->valuestring, it->valuestring) == 0) {
					ob_err_set(err, "%s/%d: \"%s\" is in the list twice", ptr, i, it->valuestring);
					return -1;
				}
			i++;
		}
		return 0;
	}
	case OB_SETTING_BOOL:
		if (!cJSON_IsBool(v)) {
			ob_err_set(err, "%s: expected true or false", ptr);
			return -1;
		}
		return 0;
	case OB_SETTING_TEXT: {
		long long max = s->max > 0 ? s->max : 1000;
		if (!cJSON_IsString(v) || ob_utf8_check(v->valuestring, strlen(v->valuestring), NULL) < 0) {
			ob_err_set(err, "%s: expected a string", ptr);
			return -1;
		}
		if ((long long)ob_utf8_len(v->valuestring) > max) {
			ob_err_set(err, "%s: at most %lld characters", ptr, max);
			return -1;
		}
		return 0;
	}
	}
	ob_err_set(err, "%s: the plugin declares it of an unknown type %d", ptr, (int)s->type);
	return -1;
}

/* The declarations as an array (specs[i], n of them), checked; then given
 * against them. */
static int resolve_specs(const struct ob_setting *specs, size_t n, const char *report, const cJSON *given,
			 cJSON **out, struct ob_err *err)
{
	cJSON *res = cJSON_CreateObject();
	const cJSON *g;
	char ptr[400];

	*out = NULL;
	if (n > 256) {
		ob_err_set(err, "plugin %s: declares %zu settings; at most 256", report, n);
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ob_setting *s = &specs[i];
		cJSON *def;
		struct ob_json_error je;
		char *text;
		if (s->name == NULL || s->name[0] == '\0' || strlen(s->name) > 64 || s->def == NULL ||
		    cJSON_GetObjectItemCaseSensitive(res, s->name)) {
			ob_err_set(err, "plugin %s: setting %zu has no name, a name twice, or no default", report, i);
			goto fail;
		}
		text = ob_xstrdup(s->def);
		def = ob_json_parse(text, strlen(text), 0, 8, &je);
		free(text);
		snprintf(ptr, sizeof(ptr), "plugin %s: the default of setting %s", report, s->name);
		if (def == NULL) {
			ob_err_set(err, "%s is not JSON: %s", ptr, je.what);
			goto fail;
		}
		if (ob_setting_check_value(s, def, ptr, err) < 0) {
			cJSON_Delete(def);
			goto fail;
		}
		cJSON_AddItemToObject(res, s->name, def);
	}
	cJSON_ArrayForEach(g, given)
	{
		size_t i;
		snprintf(ptr, sizeof(ptr), "/reports/%s/settings/%s", report, g->string);
		for (i = 0; i < n; i++)
			if (strcmp(specs[i].name, g->string) == 0)
				break;
		if (i == n) {
			struct ob_buf names;
			ob_buf_init(&names, 0);
			for (size_t k = 0; k < n; k++)
				ob_buf_printf(&names, "%s%s", k ? ", " : "", specs[k].name);
			if (n)
				ob_err_set(err, "%s: %s has no such setting; it has %s", ptr, report, names.data);
			else
				ob_err_set(err, "%s: %s has no settings", ptr, report);
			ob_buf_free(&names);
			goto fail;
		}
		if (ob_setting_check_value(&specs[i], g, ptr, err) < 0)
			goto fail;
		cJSON_ReplaceItemInObjectCaseSensitive(res, specs[i].name, cJSON_Duplicate(g, 1));
	}
	*out = res;
	return 0;
fail:
	cJSON_Delete(res);
	return -1;
}

int ob_settings_resolve(const struct ob_plugin *d, const char *report, const cJSON *given, cJSON **out,
			struct ob_err *err)
{
	size_t n = ob_plugin_nsettings(d);
	struct ob_setting *specs;
	int rc;

	*out = NULL;
	if (n > 0 && d->settings[0].size < MEMBER_END(struct ob_setting, help)) {
		ob_err_set(err, "plugin %s: its settings are not made with OB_INIT (size %u)", report,
			   (unsigned)d->settings[0].size);
		return -1;
	}
	if (n > 256) {
		ob_err_set(err, "plugin %s: declares %zu settings; at most 256", report, n);
		return -1;
	}
	specs = ob_xcalloc(n ? n : 1, sizeof(*specs));
	for (size_t i = 0; i < n; i++)
		spec_at(d, i, &specs[i]);
	rc = resolve_specs(specs, n, report, given, out, err);
	free(specs);
	return rc;
}

int ob_settings_resolve_described(const char *described, const char *report, const cJSON *given, cJSON **out,
				  struct ob_err *err)
{
	cJSON *a = described ? cJSON_Parse(described) : cJSON_CreateArray(), *it;
	struct ob_setting *specs;
	size_t n = 0;
	int rc;

	*out = NULL;
	if (!cJSON_IsArray(a)) {
		cJSON_Delete(a);
		ob_err_set(err, "plugin %s: its settings could not be read from the inventory", report);
		return -1;
	}
	specs = ob_xcalloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(*specs));
	cJSON_ArrayForEach(it, a)
	{
		const cJSON *v;
		struct ob_setting *s = &specs[n++];
		s->size = sizeof(*s);
		s->name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "name"));
		s->def = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "default"));
		s->choices = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "choices"));
		v = cJSON_GetObjectItemCaseSensitive(it, "type_code");
		s->type = cJSON_IsNumber(v) ? (enum ob_setting_type)v->valueint : 0;
		v = cJSON_GetObjectItemCaseSensitive(it, "min");
		s->min = cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
		v = cJSON_GetObjectItemCaseSensitive(it, "max");
		s->max = cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
	}
	rc = resolve_specs(specs, n, report, given, out, err);
	free(specs);
	cJSON_Delete(a);
	return rc;
}

cJSON *ob_settings_describe(const struct ob_plugin *d)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < ob_plugin_nsettings(d); i++) {
		struct ob_setting s;
		cJSON *o;
		if (spec_at(d, i, &s) < 0)
			break;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", s.name ? s.name : "");
		cJSON_AddStringToObject(o, "type", type_name(s.type));
		cJSON_AddNumberToObject(o, "type_code", (double)s.type);
		cJSON_AddStringToObject(o, "default", s.def ? s.def : "");
		if (s.type == OB_SETTING_INT || s.type == OB_SETTING_INT_LIST || s.type == OB_SETTING_TEXT) {
			cJSON_AddNumberToObject(o, "min", (double)s.min);
			cJSON_AddNumberToObject(o, "max", (double)s.max);
		}
		if ((s.type == OB_SETTING_CHOICE || s.type == OB_SETTING_CHOICE_LIST) && s.choices)
			cJSON_AddStringToObject(o, "choices", s.choices);
		if (s.help)
			cJSON_AddStringToObject(o, "help", s.help);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/* ---- plugins checked in a process of their own ---- */

struct check_job {
	const struct ob_config *cfg;
	const char *const *names;
	size_t n;
	int fd;
};

/* In the child: each report's plugin loaded and its settings resolved, a
 * line before and one after each. A constructor that crashes, exits or
 * hangs ends this process only; what it prints is not ours. */
static int check_child(void *arg)
{
	struct check_job *cj = arg;
	FILE *w = fdopen(cj->fd, "w");

	for (size_t i = 0; w && i < cj->n; i++) {
		const struct ob_config_report *r = ob_config_report(cj->cfg, cj->names[i]);
		struct ob_loaded_plugin p;
		struct ob_err e = {{0}};
		cJSON *res = NULL;
		fprintf(w, "try\t%zu\n", i);
		fflush(w);
		int f = ob_plugin_load_one(cj->cfg->plugin_dir, cj->names[i], &p, &e);
		if (f == 0)
			fprintf(w, "missing\t%zu\t\n", i);
		else if (f < 0)
			fprintf(w, "refused\t%zu\t%s\n", i, e.msg);
		else {
			if (ob_settings_resolve(p.desc, cj->names[i], r ? r->settings_json : NULL, &res, &e) < 0)
				fprintf(w, "settings\t%zu\t%s\n", i, e.msg);
			cJSON_Delete(res);
			ob_plugin_unload(&p);
		}
		fprintf(w, "done\t%zu\n", i);
		fflush(w);
	}
	return 0;
}

/* The child's lines into res: the verdict of each plugin it finished, and
 * the one it was loading when it ended. */
static void check_parse(char *text, struct ob_plugin_check *res, size_t n, int status, int hung)
{
	static const char *const kinds[] = {"", "missing", "refused", "settings"};
	long last_try = -1;

	for (char *line = text, *next; line && *line; line = next) {
		char *f[3] = {NULL, NULL, NULL};
		size_t i;
		next = strchr(line, '\n');
		if (next == NULL)
			break;
		*next++ = '\0';
		f[0] = line;
		for (int k = 1; k < 3 && f[k - 1] && (f[k] = strchr(f[k - 1], '\t')) != NULL; k++)
			*f[k]++ = '\0';
		if (f[1] == NULL || (i = strtoul(f[1], NULL, 10)) >= n)
			continue;
		if (strcmp(f[0], "try") == 0)
			last_try = (long)i;
		else if (strcmp(f[0], "done") == 0) {
			last_try = -1;
			if (res[i].verdict == OB_PLUGIN_UNCHECKED)
				res[i].verdict = OB_PLUGIN_OK;
		}
		for (int k = 1; k < 4 && f[2]; k++)
			if (strcmp(f[0], kinds[k]) == 0) {
				res[i].verdict = k;
				res[i].msg = ob_xstrdup(f[2]);
			}
	}
	if (last_try >= 0) {
		res[last_try].verdict = OB_PLUGIN_ENDED;
		res[last_try].status = status;
		res[last_try].hung = hung;
	}
}

int ob_plugins_check(const struct ob_config *cfg, const char *const *names, size_t n, struct ob_plugin_check *res,
		     struct ob_err *err)
{
	int fds[2], status = 0, hung = 0, null;
	struct check_job cj = {cfg, names, n, -1};
	struct ob_spawn sp = {.fn = check_child, .arg = &cj, .fail_code = 1, .die_with_parent = 1};
	struct ob_buf got;
	time_t until = time(NULL) + OB_INVENTORY_TIMEOUT;
	pid_t pid;

	memset(res, 0, n * sizeof(*res));
	if (pipe2(fds, O_CLOEXEC) < 0) {
		ob_err_set(err, "pipe: %s", strerror(errno));
		return -1;
	}
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	cj.fd = fds[1];
	sp.out_fd = sp.err_fd = null;
	pid = ob_spawn_start(&sp, err);
	close(fds[1]);
	if (null >= 0)
		close(null);
	if (pid < 0) {
		close(fds[0]);
		return -1;
	}
	ob_buf_init(&got, 0);
	for (;;) {
		struct pollfd pfd = {fds[0], POLLIN, 0};
		char buf[4096];
		ssize_t got_n;
		int left = (int)(until - time(NULL));
		if (left <= 0 || poll(&pfd, 1, left * 1000) <= 0) {
			ob_spawn_signal(pid, SIGKILL);
			hung = 1;
			break;
		}
		if ((got_n = read(fds[0], buf, sizeof(buf))) <= 0)
			break;
		ob_buf_add(&got, buf, (size_t)got_n);
	}
	close(fds[0]);
	ob_spawn_reap(pid, &status, 1);
	check_parse(got.data, res, n, status, hung);
	ob_buf_free(&got);
	return 0;
}

void ob_plugins_check_free(struct ob_plugin_check *res, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(res[i].msg);
}

/* ---- check-config ---- */

int ob_settings_check_config(const struct ob_config *cfg, FILE *out)
{
	const char **names;
	struct ob_plugin_check *res;
	struct ob_err err = {{0}};
	int errors = 0;

	if (cfg->nreports == 0)
		return 0;
	fflush(out);
	names = ob_xcalloc(cfg->nreports, sizeof(char *));
	res = ob_xcalloc(cfg->nreports, sizeof(*res));
	for (size_t i = 0; i < cfg->nreports; i++)
		names[i] = cfg->reports[i].name;
	if (ob_plugins_check(cfg, names, cfg->nreports, res, &err) < 0) {
		fprintf(out, "cannot check the reports' settings: %s\n", err.msg);
		errors = 1;
	}
	for (size_t i = 0; i < cfg->nreports && errors == 0; i++) {
		const char *name = names[i];
		switch (res[i].verdict) {
		case OB_PLUGIN_MISSING:
			fprintf(out, "warning: /reports/%s: no plugin %s.so in %s: its settings are not checked\n", name,
				name, cfg->plugin_dir);
			break;
		case OB_PLUGIN_REFUSED: fprintf(out, "warning: /reports/%s: %s\n", name, res[i].msg); break;
		case OB_PLUGIN_BAD_SETTINGS:
			fprintf(out, "%s\n", res[i].msg);
			errors++;
			break;
		case OB_PLUGIN_ENDED:
			fprintf(out, "/reports/%s: its plugin %s while it loaded (%s): its settings are not checked\n", name,
				res[i].hung ? "hung" : "ended the checking process",
				WIFSIGNALED(res[i].status) ? strsignal(WTERMSIG(res[i].status)) : "exit");
			errors++;
			break;
		}
	}
	ob_plugins_check_free(res, cfg->nreports);
	free(res);
	free(names);
	return errors;
}
