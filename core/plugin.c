/* plugin.c - the loader of report plugins: every .so in the plugin directory
 * with a well-formed descriptor for this ABI major; the others refused, each
 * with its file and reason in the log. */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
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

int ob_plugins_load(const char *dir, struct ob_plugin_set *set, struct ob_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t nnames = 0;

	memset(set, 0, sizeof(*set));
	if (d == NULL) {
		ob_err_set(err, "plugins: cannot read the plugin directory %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char *stem;
		if (!is_so(e->d_name, &stem))
			continue;
		free(stem);
		names = ob_xrealloc(names, (nnames + 1) * sizeof(char *));
		names[nnames++] = ob_xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, nnames, sizeof(char *), cmp_name); /* a stable order for logs and "taken" */
	set->v = ob_xcalloc(nnames ? nnames : 1, sizeof(*set->v));
	for (size_t i = 0; i < nnames; i++) {
		char *stem = NULL, *why = NULL, *path = ob_path_join(dir, names[i]);
		struct ob_loaded_plugin p = {0};
		is_so(names[i], &stem);
		if (load_file(path, stem, &p, &why) < 0) {
			ob_log(OB_LOG_ERR, "plugins: %s refused: %s", path, why);
			refuse(set, names[i], why);
		} else if (ob_plugins_find(set, p.name)) {
			ob_log(OB_LOG_ERR, "plugins: %s refused: the name %s is taken", path, p.name);
			refuse(set, names[i], "the name is taken");
			ob_plugin_unload(&p);
		} else {
			ob_info("plugins: loaded %s %s (ABI %u.%u) from %s", p.name, p.version, p.abi_major,
				p.abi_minor, path);
			set->v[set->n++] = p;
		}
		free(why);
		free(stem);
		free(path);
		free(names[i]);
	}
	free(names);
	return 0;
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
