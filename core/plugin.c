/* plugin.c - the loader of report plugins: every .so in the plugin directory
 * with a well-formed descriptor for this ABI major; the others refused, each
 * with its file and reason in the log. */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "overblik/plugin.h"
#include "plugin.h"

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

/* Tabs and newlines would break the line protocol below. */
static void put_field(FILE *out, const char *v)
{
	for (; v && *v; v++)
		fputc(*v == '\t' || *v == '\n' || *v == '\r' ? ' ' : *v, out);
}

int ob_plugins_list(const char *dir, char *const *skip, size_t nskip, FILE *out)
{
	struct ob_plugin_set set;
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t nnames = 0;

	memset(&set, 0, sizeof(set));
	if (d == NULL) {
		fprintf(out, "error\tcannot read the plugin directory %s: %s\n", dir, strerror(errno));
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
		names = ob_xrealloc(names, (nnames + 1) * sizeof(char *));
		names[nnames++] = ob_xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, nnames, sizeof(char *), cmp_name);
	set.v = ob_xcalloc(nnames ? nnames : 1, sizeof(*set.v));
	for (size_t i = 0; i < nnames; i++) {
		char *stem = NULL, *why = NULL, *path = ob_path_join(dir, names[i]);
		struct ob_loaded_plugin p = {0};
		fprintf(out, "try\t%s\n", names[i]);
		fflush(out); /* the parent knows which file a crash came from */
		is_so(names[i], &stem);
		if (load_file(path, stem, &p, &why) < 0) {
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
			set.v[set.n++] = p;
		}
		fflush(out);
		free(why);
		free(stem);
		free(path);
		free(names[i]);
	}
	free(names);
	ob_plugins_free(&set);
	return 0;
}

/* One run of "self --list-plugins dir --skip ...": its lines into set;
 * *crashed gets the file it was loading when it died (or hung), if any. */
static int inventory_once(const char *self, const char *dir, char **skip, size_t nskip, int timeout,
			  struct ob_plugin_set *set, char **crashed, char **how, struct ob_err *err)
{
	int fds[2], status = 0, rc = -1, eof = 0;
	char **argv = ob_xcalloc(4 + 2 * nskip + 1, sizeof(char *));
	size_t a = 0;
	struct ob_buf out;
	pid_t pid;
	time_t deadline = time(NULL) + timeout;
	char *last_try = NULL;

	*crashed = *how = NULL;
	argv[a++] = (char *)self;
	argv[a++] = "--list-plugins";
	argv[a++] = (char *)dir;
	for (size_t k = 0; k < nskip; k++) {
		argv[a++] = "--skip";
		argv[a++] = skip[k];
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		ob_err_set(err, "plugins: pipe: %s", strerror(errno));
		free(argv);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		ob_err_set(err, "plugins: fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		free(argv);
		return -1;
	}
	if (pid == 0) {
		static const char msg[] = "overblikd: cannot exec the plugin inventory\n";
		sigset_t none;
		int devnull = open("/dev/null", O_RDONLY);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		dup2(fds[1], STDOUT_FILENO);
		execv(self, argv);
		ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
		(void)ignored;
		_exit(1);
	}
	close(fds[1]);
	free(argv);
	ob_buf_init(&out, 1 << 20);
	while (!eof) {
		struct pollfd pf = {fds[0], POLLIN, 0};
		long left = (long)(deadline - time(NULL));
		char buf[4096];
		ssize_t n;
		if (left <= 0 || poll(&pf, 1, (int)left * 1000) == 0) {
			kill(pid, SIGKILL);
			*how = ob_xasprintf("loading it did not finish within %d s", timeout);
			break;
		}
		n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			eof = 1;
		else if (ob_buf_add(&out, buf, (size_t)n) < 0)
			eof = 1;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* The lines. */
	for (char *line = out.data, *next; line && *line; line = next) {
		char *f[6] = {0};
		int nf = 0;
		next = strchr(line, '\n');
		if (next == NULL)
			break; /* a line cut short by a crash */
		*next++ = '\0';
		for (char *t = line; t && nf < 6;) { /* empty fields count (a version may be "") */
			f[nf++] = t;
			t = strchr(t, '\t');
			if (t)
				*t++ = '\0';
		}
		if (nf >= 2 && strcmp(f[0], "try") == 0) {
			free(last_try);
			last_try = ob_xstrdup(f[1]);
		} else if (nf >= 3 && strcmp(f[0], "refused") == 0) {
			refuse(set, f[1], f[2]);
			ob_log(OB_LOG_ERR, "plugins: %s/%s refused: %s", dir, f[1], f[2]);
			free(last_try);
			last_try = NULL;
		} else if (nf == 6 && strcmp(f[0], "ok") == 0) {
			struct ob_loaded_plugin *p;
			set->v = ob_xrealloc(set->v, (set->n + 1) * sizeof(*set->v));
			p = &set->v[set->n++];
			memset(p, 0, sizeof(*p));
			p->name = ob_xstrdup(f[2]);
			p->version = ob_xstrdup(f[3]);
			p->path = ob_path_join(dir, f[1]);
			p->abi_major = (unsigned)atoi(f[4]);
			p->abi_minor = (unsigned)atoi(f[5]);
			ob_info("plugins: loaded %s %s (ABI %u.%u) from %s", p->name, p->version, p->abi_major,
				p->abi_minor, p->path);
			free(last_try);
			last_try = NULL;
		} else if (nf >= 2 && strcmp(f[0], "error") == 0) {
			ob_err_set(err, "plugins: %s", f[1]);
			goto out;
		}
	}
	if (WIFSIGNALED(status) || *how) {
		if (last_try == NULL) {
			ob_err_set(err, "plugins: the plugin inventory of %s died (%s) outside any plugin", dir,
				   WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : *how);
			goto out;
		}
		if (*how == NULL)
			*how = ob_xasprintf("loading it crashed the process (%s): its constructor or a library it "
					    "pulls in",
					    strsignal(WTERMSIG(status)));
		*crashed = last_try;
		last_try = NULL;
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		ob_err_set(err, "plugins: the plugin inventory of %s exited with status %d (see above)", dir,
			   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		goto out;
	}
	rc = 0;
out:
	free(last_try);
	ob_buf_free(&out);
	return rc;
}

int ob_plugins_inventory(const char *self, const char *dir, struct ob_plugin_set *set, struct ob_err *err)
{
	char **skip = NULL;
	size_t nskip = 0;
	int rc = -1;

	memset(set, 0, sizeof(*set));
	for (int round = 0; round < 64; round++) {
		struct ob_plugin_set one;
		char *crashed = NULL, *how = NULL;
		memset(&one, 0, sizeof(one));
		if (inventory_once(self, dir, skip, nskip, 20, &one, &crashed, &how, err) < 0) {
			ob_plugins_free(&one);
			free(how);
			break;
		}
		if (crashed == NULL) {
			/* The files refused in earlier rounds stay refused. */
			for (size_t k = 0; k < set->failures; k++)
				refuse(&one, set->refused[k], set->reasons[k]);
			ob_plugins_free(set);
			*set = one;
			rc = 0;
			break;
		}
		ob_log(OB_LOG_ERR, "plugins: %s/%s refused: %s", dir, crashed, how);
		refuse(set, crashed, how);
		ob_plugins_free(&one); /* loaded again next round, without the crashing file */
		skip = ob_xrealloc(skip, (nskip + 1) * sizeof(char *));
		skip[nskip++] = crashed;
		free(how);
	}
	for (size_t k = 0; k < nskip; k++)
		free(skip[k]);
	free(skip);
	return rc;
}
