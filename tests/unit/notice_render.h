/* notice_render.h - for the report plugins' unit tests (after tap.h and
 * fake_api.h): a recorded notice's item template rendered both ways by the
 * core's template engine, each rendering a TAP result, the text echoed to
 * the log for a reader of the Danish. */
#ifndef OB_NOTICE_RENDER_H
#define OB_NOTICE_RENDER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_api.h"
#include "fake_core.h"

static const char *tpl_dir(void)
{
	static char dir[4096];
	const char *top = getenv("OB_TOP_SRCDIR");
	snprintf(dir, sizeof(dir), "%s/templates/da", top ? top : ".");
	return dir;
}

/* The notice's text (the caller frees; "" when it did not render). */
static char *render(const struct fake_notice *n)
{
	char err[1024], *txt = NULL, *html = NULL;
	int rt = fake_render(tpl_dir(), n->template, "txt", (const char *const *)n->kv, &txt, err, sizeof(err));
	TAP_RESULT(rt == 0, "%s.txt renders for %s: %s", n->template, n->key, rt ? err : "ok");
	int rh = fake_render(tpl_dir(), n->template, "html", (const char *const *)n->kv, &html, err, sizeof(err));
	TAP_RESULT(rh == 0, "%s.html renders for %s: %s", n->template, n->key, rh ? err : "ok");
	for (const char *p = txt; p && *p;) {
		size_t len = strcspn(p, "\n");
		printf("#   %.*s\n", (int)len, p);
		p += len + (p[len] == '\n');
	}
	free(html);
	return txt ? txt : calloc(1, 1);
}

#endif
