/* template.h - the Danish texts of reports and mails: a small subset of
 * mustache rendered against a cJSON tree.
 *
 * Syntax:
 *   {{name}}          the value of name; {{ name }} with spaces is the same
 *   {{owner.name}}    dotted names: the first part is looked up through the
 *                     context stack (innermost first), the rest inside it
 *   {{.}}             the current context (an item of a list of strings)
 *   {{{name}}}        the value inserted raw, also in OB_TPL_HTML ({{&name}}
 *                     is the same)
 *   {{#name}}...{{/name}}  for an array: once per element, the element being
 *                     the innermost context; for a non-empty object or a
 *                     non-empty string: once, with it as the innermost
 *                     context; for true or a number other than 0: once.
 *                     Not at all for a missing name, null, false, 0, "",
 *                     an empty array or an empty object.
 *   {{^name}}...{{/name}}  once exactly when {{#name}} would not render
 *   {{! comment }}    nothing; may span lines
 * Names are made of A-Z a-z 0-9 _ - separated by dots, at most 255 bytes.
 * There are no partials, no lambdas and no delimiter changes ({{> and {{=
 * are errors); a literal "{{" cannot be written.
 *
 * Values: strings as they are (UTF-8 untouched), numbers as integers when
 * whole ("7", "-3") and otherwise in the shortest form that reads back the
 * same ("2.5"), with a decimal point: amounts and dates in Danish form
 * ("1.250.000 kr.", "3,5") are formatted by the caller and passed as
 * strings. true and false print "true"/"false" (write Danish words with a
 * section: {{#aktiv}}ja{{/aktiv}}{{^aktiv}}nej{{/aktiv}}); null prints
 * nothing. An array or object in {{name}} is an error.
 *
 * A name that is not found in {{name}} is an error; in {{#name}} and
 * {{^name}} it counts as false, so optional data needs no placeholder.
 *
 * A line holding only a section tag, a closing tag or a comment (and
 * spaces or tabs) is removed whole, newline included (mustache's
 * "standalone" rule), so sections on their own lines leave no blank lines.
 *
 * The whole template is checked before anything is rendered: unterminated
 * tags, unclosed and mismatched sections, bad names are errors even inside
 * sections that are not rendered. Every error names the template and line:
 *   template contract_expiry/reminder:3: no value for "owner.email" */
#ifndef OB_TEMPLATE_H
#define OB_TEMPLATE_H

#include <cjson/cJSON.h>

#include "util.h"

enum ob_tpl_escape {
	OB_TPL_TEXT = 0, /* values inserted as they are */
	OB_TPL_HTML = 1, /* & < > " ' in every {{value}} become entities */
};

/* Renders text (NUL-terminated, borrowed) with the data ctx (borrowed; may
 * be NULL for a template without values) and appends the result to out.
 * name is only used in error messages ("contract_expiry/reminder").
 * Returns 0, or -1 with err set and out as it was before the call; an out
 * whose max would be exceeded is an error ("output exceeds 4096 bytes"). */
int ob_tpl_render(const char *name, const char *text, const cJSON *ctx, enum ob_tpl_escape esc,
		  struct ob_buf *out, struct ob_err *err);

/* The entity OB_TPL_HTML writes for c (& < > " '), or NULL for a
 * character written as it is. */
const char *ob_tpl_html_entity(int c);

/* Reads dir/name.ext (dir "/usr/share/overblik/templates/da", name
 * "contract_expiry/reminder", ext "txt") and renders it as ob_tpl_render()
 * does; errors name the template as "contract_expiry/reminder.txt". name
 * must be relative and free of ".." parts; a file that cannot be read or
 * holds a NUL byte is an error. Returns 0, or -1 with err set. */
int ob_tpl_render_file(const char *dir, const char *name, const char *ext, const cJSON *ctx,
		       enum ob_tpl_escape esc, struct ob_buf *out, struct ob_err *err);

#endif
