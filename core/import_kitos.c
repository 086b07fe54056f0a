/* import_kitos.c - KITOS records (kitos.c) into the portfolio tables.
 *
 * Every file is parsed before the database is touched, so a file that is
 * not KITOS JSON changes nothing; the writes are one transaction. The
 * parser reads each file a megabyte and an object at a time, so memory
 * holds the records of all files, not their text or trees (100
 * municipalities: about 85 MB at the peak, against 400 MB with whole
 * trees). Every string in the records fits its column (kitos.h). Rows are
 * matched by (organisation, KITOS uuid) and carry src_hash, a hash of the
 * imported fields: an unchanged object is not written at all, and the rest
 * are written with INSERT ... ON DUPLICATE KEY UPDATE through MariaDB's
 * array binding, 2000 rows an execution, so that 100 municipalities import
 * in seconds. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "import.h"
#include "kitos.h"
#include "log.h"
#include "map.h"

#define CHUNK 2000 /* rows per bulk execution */
#define FILES_MAX 65535 /* bytes in imports.files */
/* Bytes of warnings in the summary stored in imports.summary, below the
 * server's max_allowed_packet (16 MB by default) with room to spare; the
 * summary printed has them all. */
#define STORED_WARNINGS_MAX ((size_t)4 << 20)

struct counts {
	long created, updated, unchanged, skipped;
};

struct imp {
	struct ob_db *db;
	const struct ob_import_opts *o;
	struct ob_kitos_batch *b;
	struct ob_err *err;
	long long default_org;       /* --org, or the only organisation; 0 if none */
	struct ob_map org_ids;       /* KITOS org uuid -> id */
	long long *orgs;             /* every organisation this import touches */
	size_t norgs;
	struct ob_map units, people, systems, contracts, dprs; /* "org:uuid" -> id */
	struct ob_map no_email;      /* "org:uuid" of people without an e-mail address */
	struct ob_map sys_written;   /* "id" of systems this import inserted or updated */
	int stale_supplier;          /* a new contract link to a system not written now */
	struct counts c_sys, c_con, c_ppl, c_dpr;
};

static double now_secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- small helpers ---- */

static void key_of(char *buf, size_t n, long long org, const char *uuid)
{
	snprintf(buf, n, "%lld:%s", org, uuid);
}

static int lookup(const struct ob_map *m, long long org, const char *uuid, uint64_t *id)
{
	char key[96];
	if (uuid == NULL)
		return 0;
	key_of(key, sizeof(key), org, uuid);
	return ob_map_get(m, key, id);
}

static void add_org(struct imp *im, long long id)
{
	for (size_t i = 0; i < im->norgs; i++)
		if (im->orgs[i] == id)
			return;
	im->orgs = ob_xrealloc(im->orgs, (im->norgs + 1) * sizeof(*im->orgs));
	im->orgs[im->norgs++] = id;
}

/* The organisation of a record: its organizationContext, else the default. */
static long long org_of(struct imp *im, const struct ob_kitos_org *org)
{
	uint64_t id;
	if (org->uuid && ob_map_get(&im->org_ids, org->uuid, &id))
		return (long long)id;
	return im->default_org;
}

struct hasher {
	uint64_t h;
};
static void h_str(struct hasher *h, const char *s)
{
	h->h = s ? ob_hash64(s, strlen(s) + 1, h->h) : ob_hash64("\xff", 1, h->h);
}
static void h_int(struct hasher *h, long long v)
{
	h->h = ob_hash64(&v, sizeof(v), h->h);
}
static long long h_done(struct hasher *h)
{
	return (long long)(h->h & 0x7fffffffffffffffULL); /* fits a signed bind */
}

/* A growing multi-row upsert: rows are added as parameter arrays and sent
 * CHUNK at a time. */
struct bulk {
	const char *head;   /* "INSERT INTO t (a, b)" */
	const char *tail;   /* " ON DUPLICATE KEY UPDATE ..." or "" */
	size_t ncols;
	struct ob_db_param *params;
	size_t nrows;
};

static void bulk_init(struct bulk *k, const char *head, const char *tail, size_t ncols)
{
	k->head = head;
	k->tail = tail;
	k->ncols = ncols;
	k->params = ob_xcalloc(CHUNK * ncols, sizeof(struct ob_db_param));
	k->nrows = 0;
}

static int bulk_flush(struct imp *im, struct bulk *k)
{
	struct ob_buf sql;
	int rc;

	if (k->nrows == 0)
		return 0;
	ob_buf_init(&sql, 0);
	ob_buf_adds(&sql, k->head);
	ob_buf_adds(&sql, " VALUES (");
	for (size_t c = 0; c < k->ncols; c++)
		ob_buf_adds(&sql, c ? ",?" : "?");
	ob_buf_addc(&sql, ')');
	ob_buf_adds(&sql, k->tail);
	rc = ob_db_exec_bulk(im->db, sql.data, k->params, k->ncols, k->nrows, im->err);
	ob_buf_free(&sql);
	k->nrows = 0;
	return rc;
}

/* The parameter slots of the next row; flushes a full chunk first. */
static struct ob_db_param *bulk_row(struct imp *im, struct bulk *k, int *rc)
{
	if (k->nrows == CHUNK && bulk_flush(im, k) < 0)
		*rc = -1;
	return &k->params[k->nrows++ * k->ncols];
}

static void bulk_free(struct bulk *k)
{
	free(k->params);
}

/* Loads "org:uuid" -> id (and optionally -> src_hash) for every touched org. */
static int load_ids(struct imp *im, const char *table, struct ob_map *ids, struct ob_map *hashes)
{
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT id, kitos_uuid%s FROM %s WHERE org_id = ?",
		 hashes ? ", src_hash" : "", table);
	for (size_t i = 0; i < im->norgs; i++) {
		struct ob_db_param p[1] = {ob_p_int(im->orgs[i])};
		struct ob_db_rows *r;
		if (ob_db_query(im->db, sql, p, 1, &r, im->err) < 0)
			return -1;
		for (size_t j = 0; j < r->nrows; j++) {
			char key[96];
			key_of(key, sizeof(key), im->orgs[i], ob_db_cell(r, j, 1));
			ob_map_put(ids, key, strtoull(ob_db_cell(r, j, 0), NULL, 10));
			if (hashes)
				ob_map_put(hashes, key, strtoull(ob_db_cell(r, j, 2), NULL, 10));
		}
		ob_db_rows_free(r);
	}
	return 0;
}

/* Decides created/updated/unchanged for one object; 1 when it must be written. */
static int classify(const struct ob_map *hashes, long long org, const char *uuid, long long hash,
		    struct counts *c)
{
	uint64_t old;
	if (!lookup(hashes, org, uuid, &old)) {
		c->created++;
		return 1;
	}
	if ((long long)old == hash) {
		c->unchanged++;
		return 0;
	}
	c->updated++;
	return 1;
}

/* Marks later duplicates: returns 1 if this record (file, index) is the last
 * with its uuid in the org; earlier ones are warned about and skipped. */
static int is_last(struct ob_map *last, long long org, const char *uuid, size_t i)
{
	uint64_t at;
	return lookup(last, org, uuid, &at) && at == i;
}

static void note_dups(struct imp *im, struct ob_map *last, long long org, const char *uuid, size_t i,
		      const char *file, long index, const char *what)
{
	char key[96];
	uint64_t prev;
	key_of(key, sizeof(key), org, uuid);
	if (ob_map_get(last, key, &prev))
		ob_kitos_warn(im->b, file, index, uuid, "uuid",
			      "%s appears again later in this import; the later object is used", what);
	ob_map_put(last, key, i);
}

/* ---- organisations ---- */

static int import_orgs(struct imp *im)
{
	struct ob_kitos_batch *b = im->b;
	const struct ob_kitos_org *first = NULL;
	int distinct = 0;

	size_t n = b->n_usages + b->n_contracts + b->n_dprs + b->n_users;
	for (size_t i = 0; i < n; i++) {
		const struct ob_kitos_org *org =
			i < b->n_usages ? &b->usages[i].org
			: i < b->n_usages + b->n_contracts ? &b->contracts[i - b->n_usages].org
			: i < b->n_usages + b->n_contracts + b->n_dprs
				? &b->dprs[i - b->n_usages - b->n_contracts].org
				: &b->users[i - b->n_usages - b->n_contracts - b->n_dprs].org;
		uint64_t id;
		if (org->uuid == NULL || ob_map_get(&im->org_ids, org->uuid, &id))
			continue;
		struct ob_db_param p[3] = {ob_p_str(org->uuid), ob_p_str(org->cvr),
					   ob_p_str(org->name ? org->name : org->uuid)};
		struct ob_db_rows *r;
		if (ob_db_exec(im->db,
			       "INSERT INTO organisations (kitos_uuid, cvr, name) VALUES (?, ?, ?) "
			       "ON DUPLICATE KEY UPDATE cvr = COALESCE(VALUES(cvr), cvr), name = VALUES(name)",
			       p, 3, NULL, im->err) < 0 ||
		    ob_db_query(im->db, "SELECT id FROM organisations WHERE kitos_uuid = ?", p, 1, &r,
				im->err) < 0)
			return -1;
		id = strtoull(ob_db_cell(r, 0, 0), NULL, 10);
		ob_db_rows_free(r);
		ob_map_put(&im->org_ids, org->uuid, id);
		add_org(im, (long long)id);
		if (first == NULL)
			first = org;
		distinct++;
	}

	/* Records without organizationContext (organisation users, as KITOS
	 * returns them) go to --org, to the batch's only organisation, or to
	 * the database's only one. */
	if (im->o->org) {
		unsigned long id;
		int f = ob_import_find_org(im->db, im->o->org, &id, im->err);
		if (f < 0)
			return -1;
		if (f == 0) {
			char *org = ob_kitos_printable(im->o->org, strnlen(im->o->org, 80));
			ob_err_set(im->err, "--org %s%s: no organisation with that KITOS uuid or CVR", org,
				   strlen(im->o->org) > 80 ? "..." : "");
			free(org);
			return -1;
		}
		im->default_org = (long long)id;
	} else if (distinct == 1) {
		uint64_t id;
		ob_map_get(&im->org_ids, first->uuid, &id);
		im->default_org = (long long)id;
	} else if (distinct == 0) {
		unsigned long id;
		int f = ob_import_find_org(im->db, NULL, &id, im->err);
		if (f < 0)
			return -1;
		if (f == 1)
			im->default_org = (long long)id;
	}
	if (im->default_org)
		add_org(im, im->default_org);
	return 0;
}

/* ---- org units named by usages and contracts ---- */

static int import_units(struct imp *im)
{
	struct ob_kitos_batch *b = im->b;
	struct ob_map seen;
	struct bulk k;
	int rc = 0;

	ob_map_init(&seen);
	bulk_init(&k, "INSERT INTO org_units (org_id, kitos_uuid, name)",
		  " ON DUPLICATE KEY UPDATE name = VALUES(name)", 3);
	for (size_t i = 0; i < b->n_usages + b->n_contracts && rc == 0; i++) {
		const char *uuid, *name;
		long long org;
		char key[96];
		if (i < b->n_usages) {
			uuid = b->usages[i].department_uuid;
			name = b->usages[i].department_name;
			org = org_of(im, &b->usages[i].org);
		} else {
			const struct ob_kitos_contract *c = &b->contracts[i - b->n_usages];
			uuid = c->responsible_unit_uuid;
			name = c->responsible_unit_name;
			org = org_of(im, &c->org);
		}
		if (uuid == NULL || org == 0)
			continue;
		key_of(key, sizeof(key), org, uuid);
		if (ob_map_get(&seen, key, NULL))
			continue;
		ob_map_put(&seen, key, 1);
		struct ob_db_param *p = bulk_row(im, &k, &rc);
		p[0] = ob_p_int(org);
		p[1] = ob_p_str(uuid);
		p[2] = ob_p_str(name ? name : uuid);
	}
	if (rc == 0)
		rc = bulk_flush(im, &k);
	bulk_free(&k);
	ob_map_free(&seen);
	if (rc == 0)
		rc = load_ids(im, "org_units", &im->units, NULL);
	return rc;
}

/* ---- people (organisation users) ---- */

static int import_people(struct imp *im)
{
	struct ob_kitos_batch *b = im->b;
	struct ob_map hashes, last, owner_org;
	struct bulk k;
	int rc = 0;

	ob_map_init(&hashes);
	ob_map_init(&last);
	ob_map_init(&owner_org);
	/* A user belongs to the organisation whose usages name it as owner. */
	for (size_t i = 0; i < b->n_usages; i++) {
		long long org = org_of(im, &b->usages[i].org);
		if (b->usages[i].owner_uuid && org && !ob_map_get(&owner_org, b->usages[i].owner_uuid, NULL))
			ob_map_put(&owner_org, b->usages[i].owner_uuid, (uint64_t)org);
	}
	if (load_ids(im, "people", &im->people, &hashes) < 0)
		goto fail;
	bulk_init(&k, "INSERT INTO people (org_id, kitos_uuid, name, email, src_hash)",
		  " ON DUPLICATE KEY UPDATE name = VALUES(name), email = VALUES(email), "
		  "src_hash = VALUES(src_hash)",
		  5);
	long long *orgs = ob_xcalloc(b->n_users ? b->n_users : 1, sizeof(long long));
	for (size_t i = 0; i < b->n_users; i++) {
		struct ob_kitos_user *u = &b->users[i];
		uint64_t o;
		orgs[i] = u->org.uuid ? org_of(im, &u->org)
			  : ob_map_get(&owner_org, u->uuid, &o) ? (long long)o
								: im->default_org;
		if (orgs[i] == 0) {
			ob_kitos_warn(b, u->file, u->index, u->uuid, "organizationContext",
				      "user %s belongs to no known organisation (no usage names the user "
				      "and no --org was given); skipped",
				      u->name ? u->name : u->uuid);
			im->c_ppl.skipped++;
			continue;
		}
		note_dups(im, &last, orgs[i], u->uuid, i, u->file, u->index, "user");
	}
	for (size_t i = 0; i < b->n_users && rc == 0; i++) {
		struct ob_kitos_user *u = &b->users[i];
		struct hasher h = {OB_HASH64_INIT};
		if (orgs[i] == 0 || !is_last(&last, orgs[i], u->uuid, i))
			continue;
		h_str(&h, u->name);
		h_str(&h, u->email);
		if (!classify(&hashes, orgs[i], u->uuid, h_done(&h), &im->c_ppl))
			continue;
		struct ob_db_param *p = bulk_row(im, &k, &rc);
		p[0] = ob_p_int(orgs[i]);
		p[1] = ob_p_str(u->uuid);
		p[2] = ob_p_str(u->name ? u->name : u->uuid);
		p[3] = ob_p_str(u->email);
		p[4] = ob_p_int(h_done(&h));
	}
	if (rc == 0)
		rc = bulk_flush(im, &k);
	bulk_free(&k);
	free(orgs);
	if (rc == 0)
		rc = load_ids(im, "people", &im->people, NULL);
	for (size_t i = 0; i < im->norgs && rc == 0; i++) {
		struct ob_db_param p[1] = {ob_p_int(im->orgs[i])};
		struct ob_db_rows *r;
		if ((rc = ob_db_query(im->db, "SELECT kitos_uuid FROM people WHERE org_id = ? AND email IS NULL",
				      p, 1, &r, im->err)) < 0)
			break;
		for (size_t j = 0; j < r->nrows; j++) {
			char key[96];
			key_of(key, sizeof(key), im->orgs[i], ob_db_cell(r, j, 0));
			ob_map_put(&im->no_email, key, 1);
		}
		ob_db_rows_free(r);
	}
	ob_map_free(&hashes);
	ob_map_free(&last);
	ob_map_free(&owner_org);
	return rc;
fail:
	ob_map_free(&hashes);
	ob_map_free(&last);
	ob_map_free(&owner_org);
	return -1;
}

/* ---- systems (it-system-usages) ---- */

#define SYS_COLS 25
static const char sys_head[] =
	"INSERT INTO systems (org_id, kitos_uuid, name, local_name, owner_id, owner_kitos_uuid, owner_name, "
	"department_id, users_min, users_max, operations_model, kitos_lifecycle, lifecycle_phase, "
	"personal_data, legal_data, business_critical, ra_conducted, ra_date, ra_result, ra_planned, "
	"dpia_conducted, dpia_date, dpa_required, src_hash, supplier)";
static const char sys_tail[] =
	" ON DUPLICATE KEY UPDATE name = VALUES(name), local_name = VALUES(local_name), "
	"owner_id = VALUES(owner_id), owner_kitos_uuid = VALUES(owner_kitos_uuid), "
	"owner_name = VALUES(owner_name), department_id = VALUES(department_id), "
	"users_min = VALUES(users_min), users_max = VALUES(users_max), "
	"operations_model = VALUES(operations_model), kitos_lifecycle = VALUES(kitos_lifecycle), "
	"lifecycle_phase = VALUES(lifecycle_phase), personal_data = VALUES(personal_data), "
	"legal_data = VALUES(legal_data), business_critical = VALUES(business_critical), "
	"ra_conducted = VALUES(ra_conducted), ra_date = VALUES(ra_date), ra_result = VALUES(ra_result), "
	"ra_planned = VALUES(ra_planned), dpia_conducted = VALUES(dpia_conducted), "
	"dpia_date = VALUES(dpia_date), dpa_required = VALUES(dpa_required), src_hash = VALUES(src_hash), "
	"supplier = COALESCE(supplier, VALUES(supplier))";

static long long usage_hash(const struct ob_kitos_usage *u)
{
	struct hasher h = {OB_HASH64_INIT};
	h_str(&h, u->name);
	h_str(&h, u->local_name);
	h_str(&h, u->owner_uuid);
	h_str(&h, u->owner_name);
	h_str(&h, u->department_uuid);
	h_int(&h, u->users_min);
	h_int(&h, u->users_max);
	h_str(&h, u->operations_model);
	h_str(&h, u->kitos_lifecycle);
	h_str(&h, u->lifecycle_phase);
	h_str(&h, u->personal_data);
	h_int(&h, u->legal_data);
	h_int(&h, u->business_critical);
	h_str(&h, u->ra_conducted);
	h_int(&h, u->ra_date);
	h_str(&h, u->ra_result);
	h_int(&h, u->ra_planned);
	h_str(&h, u->dpia_conducted);
	h_int(&h, u->dpia_date);
	h_str(&h, u->dpa_required);
	return h_done(&h);
}

static int import_systems(struct imp *im)
{
	struct ob_kitos_batch *b = im->b;
	struct ob_map hashes, last, supplier_of;
	struct bulk k;
	long long *orgs = ob_xcalloc(b->n_usages ? b->n_usages : 1, sizeof(long long));
	size_t *written = ob_xcalloc(b->n_usages ? b->n_usages : 1, sizeof(size_t)), nwritten = 0;
	int rc = 0;

	ob_map_init(&hashes);
	ob_map_init(&last);
	ob_map_init(&supplier_of);
	if (load_ids(im, "systems", &im->systems, &hashes) < 0) {
		rc = -1;
		goto out;
	}
	/* A system's supplier, until somebody sets one, is its contract's
	 * (the alphabetically first, when several contracts name it). */
	for (size_t i = 0; i < b->n_contracts; i++) {
		const struct ob_kitos_contract *c = &b->contracts[i];
		long long org = org_of(im, &c->org);
		if (c->supplier == NULL || org == 0)
			continue;
		for (size_t j = 0; j < c->n_usage_uuids; j++) {
			uint64_t prev;
			char key[96];
			key_of(key, sizeof(key), org, c->usage_uuids[j]);
			if (!ob_map_get(&supplier_of, key, &prev) ||
			    strcmp(c->supplier, b->contracts[prev - 1].supplier) < 0)
				ob_map_put(&supplier_of, key, i + 1);
		}
	}
	for (size_t i = 0; i < b->n_usages; i++) {
		struct ob_kitos_usage *u = &b->usages[i];
		orgs[i] = org_of(im, &u->org);
		if (orgs[i] == 0) {
			ob_kitos_warn(b, u->file, u->index, u->uuid, "organizationContext",
				      "no organisation (organizationContext missing and no --org given); skipped");
			im->c_sys.skipped++;
			continue;
		}
		note_dups(im, &last, orgs[i], u->uuid, i, u->file, u->index, "it-system-usage");
	}
	bulk_init(&k, sys_head, sys_tail, SYS_COLS);
	for (size_t i = 0; i < b->n_usages && rc == 0; i++) {
		struct ob_kitos_usage *u = &b->usages[i];
		uint64_t owner = 0, dept = 0;
		long long h;
		if (orgs[i] == 0 || !is_last(&last, orgs[i], u->uuid, i))
			continue;
		if (u->owner_uuid && !lookup(&im->people, orgs[i], u->owner_uuid, &owner))
			ob_kitos_warn(b, u->file, u->index, u->uuid, "roles",
				      "system owner %s (%s) is not among the organisation's users: no e-mail "
				      "address to send reminders to",
				      u->owner_name ? u->owner_name : "?", u->owner_uuid);
		else if (u->owner_uuid && lookup(&im->no_email, orgs[i], u->owner_uuid, NULL))
			ob_kitos_warn(b, u->file, u->index, u->uuid, "roles",
				      "system owner %s (%s) has no e-mail address: reminders go to IT support "
				      "instead",
				      u->owner_name ? u->owner_name : "?", u->owner_uuid);
		lookup(&im->units, orgs[i], u->department_uuid, &dept);
		h = usage_hash(u);
		if (!classify(&hashes, orgs[i], u->uuid, h, &im->c_sys))
			continue;
		written[nwritten++] = i;
		struct ob_db_param *p = bulk_row(im, &k, &rc);
		p[0] = ob_p_int(orgs[i]);
		p[1] = ob_p_str(u->uuid);
		p[2] = ob_p_str(u->name);
		p[3] = ob_p_str(u->local_name);
		p[4] = owner ? ob_p_int((long long)owner) : ob_p_null();
		p[5] = ob_p_str(u->owner_uuid);
		p[6] = ob_p_str(u->owner_name);
		p[7] = dept ? ob_p_int((long long)dept) : ob_p_null();
		p[8] = ob_p_intu(u->users_min);
		p[9] = ob_p_intu(u->users_max);
		p[10] = ob_p_str(u->operations_model);
		p[11] = ob_p_str(u->kitos_lifecycle);
		p[12] = ob_p_str(u->lifecycle_phase);
		p[13] = ob_p_str(u->personal_data);
		p[14] = ob_p_intu(u->legal_data);
		p[15] = ob_p_intu(u->business_critical);
		p[16] = ob_p_str(u->ra_conducted);
		p[17] = ob_p_date(u->ra_date);
		p[18] = ob_p_str(u->ra_result);
		p[19] = ob_p_date(u->ra_planned);
		p[20] = ob_p_str(u->dpia_conducted);
		p[21] = ob_p_date(u->dpia_date);
		p[22] = ob_p_str(u->dpa_required);
		p[23] = ob_p_int(h);
		uint64_t ci;
		p[24] = lookup(&supplier_of, orgs[i], u->uuid, &ci) ? ob_p_str(b->contracts[ci - 1].supplier)
								     : ob_p_null();
	}
	if (rc == 0)
		rc = bulk_flush(im, &k);
	bulk_free(&k);
	if (rc == 0)
		rc = load_ids(im, "systems", &im->systems, NULL);
	for (size_t w = 0; w < nwritten && rc == 0; w++) {
		uint64_t id;
		char key[32];
		if (lookup(&im->systems, orgs[written[w]], b->usages[written[w]].uuid, &id)) {
			snprintf(key, sizeof(key), "%" PRIu64, id);
			ob_map_put(&im->sys_written, key, 1);
		}
	}
	/* Owners imported now, or earlier, for systems that name them. */
	for (size_t i = 0; i < im->norgs && rc == 0; i++) {
		struct ob_db_param p[1] = {ob_p_int(im->orgs[i])};
		rc = ob_db_exec(im->db,
				"UPDATE systems s JOIN people p ON p.org_id = s.org_id AND "
				"p.kitos_uuid = s.owner_kitos_uuid SET s.owner_id = p.id "
				"WHERE s.org_id = ? AND NOT (s.owner_id <=> p.id)",
				p, 1, NULL, im->err);
	}
out:
	ob_map_free(&hashes);
	ob_map_free(&last);
	ob_map_free(&supplier_of);
	free(orgs);
	free(written);
	return rc;
}

/* ---- contracts ---- */

#define CON_COLS 19
static const char con_head[] =
	"INSERT INTO contracts (org_id, kitos_uuid, name, contract_number, supplier, supplier_cvr, "
	"responsible_unit_id, start_date, end_date, continuous, enforced_valid, notice_months, "
	"notice_by_end_of, extension_options, extension_total, extensions_used, irrevocable_until, "
	"terminated_at, src_hash)";
static const char con_tail[] =
	" ON DUPLICATE KEY UPDATE name = VALUES(name), contract_number = VALUES(contract_number), "
	"supplier = VALUES(supplier), supplier_cvr = VALUES(supplier_cvr), "
	"responsible_unit_id = VALUES(responsible_unit_id), start_date = VALUES(start_date), "
	"end_date = VALUES(end_date), continuous = VALUES(continuous), "
	"enforced_valid = VALUES(enforced_valid), notice_months = VALUES(notice_months), "
	"notice_by_end_of = VALUES(notice_by_end_of), extension_options = VALUES(extension_options), "
	"extension_total = VALUES(extension_total), extensions_used = VALUES(extensions_used), "
	"irrevocable_until = VALUES(irrevocable_until), terminated_at = VALUES(terminated_at), "
	"src_hash = VALUES(src_hash)";

static long long contract_hash(const struct ob_kitos_contract *c)
{
	struct hasher h = {OB_HASH64_INIT};
	h_str(&h, c->name);
	h_str(&h, c->contract_number);
	h_str(&h, c->supplier);
	h_str(&h, c->supplier_cvr);
	h_str(&h, c->responsible_unit_uuid);
	h_int(&h, c->start_date);
	h_int(&h, c->end_date);
	h_int(&h, c->continuous);
	h_int(&h, c->enforced_valid);
	h_int(&h, c->notice_months);
	h_str(&h, c->notice_by_end_of);
	h_str(&h, c->extension_options);
	h_int(&h, c->extension_total);
	h_int(&h, c->extensions_used);
	h_int(&h, c->irrevocable_until);
	h_int(&h, c->terminated_at);
	for (size_t i = 0; i < c->n_usage_uuids; i++)
		h_str(&h, c->usage_uuids[i]);
	return h_done(&h);
}

static int import_contracts(struct imp *im, long long *orgs, struct ob_map *last)
{
	struct ob_kitos_batch *b = im->b;
	struct ob_map hashes;
	struct bulk k;
	int rc = 0;

	ob_map_init(&hashes);
	if (load_ids(im, "contracts", &im->contracts, &hashes) < 0) {
		ob_map_free(&hashes);
		return -1;
	}
	for (size_t i = 0; i < b->n_contracts; i++) {
		struct ob_kitos_contract *c = &b->contracts[i];
		orgs[i] = org_of(im, &c->org);
		if (orgs[i] == 0) {
			ob_kitos_warn(b, c->file, c->index, c->uuid, "organizationContext",
				      "no organisation (organizationContext missing and no --org given); skipped");
			im->c_con.skipped++;
			continue;
		}
		note_dups(im, last, orgs[i], c->uuid, i, c->file, c->index, "it-contract");
	}
	bulk_init(&k, con_head, con_tail, CON_COLS);
	for (size_t i = 0; i < b->n_contracts && rc == 0; i++) {
		struct ob_kitos_contract *c = &b->contracts[i];
		uint64_t unit = 0;
		long long h;
		if (orgs[i] == 0 || !is_last(last, orgs[i], c->uuid, i))
			continue;
		lookup(&im->units, orgs[i], c->responsible_unit_uuid, &unit);
		h = contract_hash(c);
		if (!classify(&hashes, orgs[i], c->uuid, h, &im->c_con))
			continue;
		struct ob_db_param *p = bulk_row(im, &k, &rc);
		p[0] = ob_p_int(orgs[i]);
		p[1] = ob_p_str(c->uuid);
		p[2] = ob_p_str(c->name);
		p[3] = ob_p_str(c->contract_number);
		p[4] = ob_p_str(c->supplier);
		p[5] = ob_p_str(c->supplier_cvr);
		p[6] = unit ? ob_p_int((long long)unit) : ob_p_null();
		p[7] = ob_p_date(c->start_date);
		p[8] = ob_p_date(c->end_date);
		p[9] = ob_p_int(c->continuous > 0);
		p[10] = ob_p_int(c->enforced_valid > 0);
		p[11] = ob_p_intu(c->notice_months);
		p[12] = ob_p_str(c->notice_by_end_of);
		p[13] = ob_p_str(c->extension_options);
		p[14] = ob_p_intu(c->extension_total);
		p[15] = ob_p_intu(c->extensions_used);
		p[16] = ob_p_date(c->irrevocable_until);
		p[17] = ob_p_date(c->terminated_at);
		p[18] = ob_p_int(h);
	}
	if (rc == 0)
		rc = bulk_flush(im, &k);
	bulk_free(&k);
	ob_map_free(&hashes);
	if (rc == 0)
		rc = load_ids(im, "contracts", &im->contracts, NULL);
	return rc;
}

/* ---- data processing registrations ---- */

static long long dpr_hash(const struct ob_kitos_dpr *d)
{
	struct hasher h = {OB_HASH64_INIT};
	h_str(&h, d->name);
	h_str(&h, d->agreement_concluded);
	h_int(&h, d->concluded_on);
	h_int(&h, d->valid);
	h_str(&h, d->third_country);
	h_str(&h, d->processors);
	h_int(&h, d->oversight_next);
	return h_done(&h);
}

static int import_dprs(struct imp *im, long long *orgs, struct ob_map *last)
{
	struct ob_kitos_batch *b = im->b;
	struct ob_map hashes;
	struct bulk k;
	int rc = 0;

	ob_map_init(&hashes);
	if (load_ids(im, "data_processing", &im->dprs, &hashes) < 0) {
		ob_map_free(&hashes);
		return -1;
	}
	for (size_t i = 0; i < b->n_dprs; i++) {
		struct ob_kitos_dpr *d = &b->dprs[i];
		orgs[i] = org_of(im, &d->org);
		if (orgs[i] == 0) {
			ob_kitos_warn(b, d->file, d->index, d->uuid, "organizationContext",
				      "no organisation (organizationContext missing and no --org given); skipped");
			im->c_dpr.skipped++;
			continue;
		}
		note_dups(im, last, orgs[i], d->uuid, i, d->file, d->index, "data-processing-registration");
	}
	bulk_init(&k,
		  "INSERT INTO data_processing (org_id, kitos_uuid, name, agreement_concluded, concluded_on, "
		  "valid, third_country, processors, oversight_next, src_hash)",
		  " ON DUPLICATE KEY UPDATE name = VALUES(name), agreement_concluded = "
		  "VALUES(agreement_concluded), concluded_on = VALUES(concluded_on), valid = VALUES(valid), "
		  "third_country = VALUES(third_country), processors = VALUES(processors), "
		  "oversight_next = VALUES(oversight_next), src_hash = VALUES(src_hash)",
		  10);
	for (size_t i = 0; i < b->n_dprs && rc == 0; i++) {
		struct ob_kitos_dpr *d = &b->dprs[i];
		long long h;
		if (orgs[i] == 0 || !is_last(last, orgs[i], d->uuid, i))
			continue;
		h = dpr_hash(d);
		if (!classify(&hashes, orgs[i], d->uuid, h, &im->c_dpr))
			continue;
		struct ob_db_param *p = bulk_row(im, &k, &rc);
		p[0] = ob_p_int(orgs[i]);
		p[1] = ob_p_str(d->uuid);
		p[2] = ob_p_str(d->name);
		p[3] = ob_p_str(d->agreement_concluded);
		p[4] = ob_p_date(d->concluded_on);
		p[5] = ob_p_intu(d->valid);
		p[6] = ob_p_str(d->third_country);
		p[7] = ob_p_str(d->processors);
		p[8] = ob_p_date(d->oversight_next);
		p[9] = ob_p_int(h);
	}
	if (rc == 0)
		rc = bulk_flush(im, &k);
	bulk_free(&k);
	ob_map_free(&hashes);
	if (rc == 0)
		rc = load_ids(im, "data_processing", &im->dprs, NULL);
	return rc;
}

/* ---- links ---- */

/* A link table made to match: for every parent in scope, pairs not wanted
 * are deleted; wanted pairs not there are inserted. */
struct links {
	const char *table, *col_a, *col_b, *parent; /* parent: the table of col_a */
	struct ob_map want;   /* "a:b" -> 1 */
	struct ob_map scope;  /* "a" -> 1: parents whose whole set this import states */
	long long *pairs;     /* wanted pairs, in order */
	size_t npairs;
	int track_supplier;   /* contract_systems: note links to systems not written now */
};

static void links_init(struct links *l, const char *table, const char *a, const char *b, const char *parent)
{
	memset(l, 0, sizeof(*l));
	l->table = table;
	l->col_a = a;
	l->col_b = b;
	l->parent = parent;
	ob_map_init(&l->want);
	ob_map_init(&l->scope);
}

static void links_scope(struct links *l, uint64_t a)
{
	char key[32];
	snprintf(key, sizeof(key), "%" PRIu64, a);
	ob_map_put(&l->scope, key, 1);
}

static void links_want(struct links *l, uint64_t a, uint64_t b)
{
	char key[48];
	snprintf(key, sizeof(key), "%" PRIu64 ":%" PRIu64, a, b);
	if (ob_map_get(&l->want, key, NULL))
		return;
	ob_map_put(&l->want, key, 1);
	l->pairs = ob_xrealloc(l->pairs, (l->npairs + 1) * 2 * sizeof(long long));
	l->pairs[l->npairs * 2] = (long long)a;
	l->pairs[l->npairs * 2 + 1] = (long long)b;
	l->npairs++;
}

static int links_apply(struct imp *im, struct links *l)
{
	struct ob_map have;
	char sql[400], head[160];
	struct bulk k;
	int rc = 0;

	ob_map_init(&have);
	snprintf(sql, sizeof(sql), "SELECT t.%s, t.%s FROM %s t JOIN %s p ON p.id = t.%s WHERE p.org_id = ?",
		 l->col_a, l->col_b, l->table, l->parent, l->col_a);
	for (size_t i = 0; i < im->norgs && rc == 0; i++) {
		struct ob_db_param p[1] = {ob_p_int(im->orgs[i])};
		struct ob_db_rows *r;
		if ((rc = ob_db_query(im->db, sql, p, 1, &r, im->err)) < 0)
			break;
		for (size_t j = 0; j < r->nrows && rc == 0; j++) {
			const char *a = ob_db_cell(r, j, 0), *b = ob_db_cell(r, j, 1);
			char key[48];
			snprintf(key, sizeof(key), "%s:%s", a, b);
			ob_map_put(&have, key, 1);
			if (ob_map_get(&l->scope, a, NULL) && !ob_map_get(&l->want, key, NULL)) {
				char del[200];
				struct ob_db_param d[2] = {ob_p_int(atoll(a)), ob_p_int(atoll(b))};
				snprintf(del, sizeof(del), "DELETE FROM %s WHERE %s = ? AND %s = ?", l->table,
					 l->col_a, l->col_b);
				rc = ob_db_exec(im->db, del, d, 2, NULL, im->err);
			}
		}
		ob_db_rows_free(r);
	}
	snprintf(head, sizeof(head), "INSERT IGNORE INTO %s (%s, %s)", l->table, l->col_a, l->col_b);
	bulk_init(&k, head, "", 2);
	for (size_t i = 0; i < l->npairs && rc == 0; i++) {
		char key[48];
		snprintf(key, sizeof(key), "%lld:%lld", l->pairs[i * 2], l->pairs[i * 2 + 1]);
		if (ob_map_get(&have, key, NULL))
			continue;
		if (l->track_supplier) {
			char sid[32];
			snprintf(sid, sizeof(sid), "%lld", l->pairs[i * 2 + 1]);
			if (!ob_map_get(&im->sys_written, sid, NULL))
				im->stale_supplier = 1;
		}
		struct ob_db_param *p = bulk_row(im, &k, &rc);
		p[0] = ob_p_int(l->pairs[i * 2]);
		p[1] = ob_p_int(l->pairs[i * 2 + 1]);
	}
	if (rc == 0)
		rc = bulk_flush(im, &k);
	bulk_free(&k);
	ob_map_free(&have);
	return rc;
}

static void links_free(struct links *l)
{
	ob_map_free(&l->want);
	ob_map_free(&l->scope);
	free(l->pairs);
}

static int import_links(struct imp *im, const long long *c_orgs, struct ob_map *c_last,
			const long long *d_orgs, struct ob_map *d_last)
{
	struct ob_kitos_batch *b = im->b;
	struct links cs, ds, dc;
	int rc;

	links_init(&cs, "contract_systems", "contract_id", "system_id", "contracts");
	cs.track_supplier = 1;
	links_init(&ds, "data_processing_systems", "dpr_id", "system_id", "data_processing");
	links_init(&dc, "data_processing_contracts", "dpr_id", "contract_id", "data_processing");
	for (size_t i = 0; i < b->n_contracts; i++) {
		const struct ob_kitos_contract *c = &b->contracts[i];
		uint64_t cid, sid, did;
		if (c_orgs[i] == 0 || !is_last(c_last, c_orgs[i], c->uuid, i) ||
		    !lookup(&im->contracts, c_orgs[i], c->uuid, &cid))
			continue;
		links_scope(&cs, cid);
		for (size_t j = 0; j < c->n_usage_uuids; j++) {
			if (lookup(&im->systems, c_orgs[i], c->usage_uuids[j], &sid))
				links_want(&cs, cid, sid);
			else
				ob_kitos_warn(b, c->file, c->index, c->uuid, "systemUsages",
					      "it-system-usage %s is not in this organisation's portfolio; "
					      "the contract is imported without it",
					      c->usage_uuids[j]);
		}
		for (size_t j = 0; j < c->n_dpr_uuids; j++) {
			if (lookup(&im->dprs, c_orgs[i], c->dpr_uuids[j], &did))
				links_want(&dc, did, cid);
			else
				ob_kitos_warn(b, c->file, c->index, c->uuid, "dataProcessingRegistrations",
					      "data-processing-registration %s is not in this organisation's "
					      "portfolio",
					      c->dpr_uuids[j]);
		}
	}
	for (size_t i = 0; i < b->n_dprs; i++) {
		const struct ob_kitos_dpr *d = &b->dprs[i];
		uint64_t did, id;
		if (d_orgs[i] == 0 || !is_last(d_last, d_orgs[i], d->uuid, i) ||
		    !lookup(&im->dprs, d_orgs[i], d->uuid, &did))
			continue;
		links_scope(&ds, did);
		links_scope(&dc, did);
		for (size_t j = 0; j < d->n_usage_uuids; j++) {
			if (lookup(&im->systems, d_orgs[i], d->usage_uuids[j], &id))
				links_want(&ds, did, id);
			else
				ob_kitos_warn(b, d->file, d->index, d->uuid, "systemUsages",
					      "it-system-usage %s is not in this organisation's portfolio",
					      d->usage_uuids[j]);
		}
		for (size_t j = 0; j < d->n_contract_uuids; j++) {
			if (lookup(&im->contracts, d_orgs[i], d->contract_uuids[j], &id))
				links_want(&dc, did, id);
			else
				ob_kitos_warn(b, d->file, d->index, d->uuid, "general.associatedContracts",
					      "it-contract %s is not in this organisation's portfolio",
					      d->contract_uuids[j]);
		}
	}
	for (size_t i = 0; i < b->n_usages; i++) {
		const struct ob_kitos_usage *u = &b->usages[i];
		long long org = org_of(im, &u->org);
		uint64_t sid, did;
		if (org == 0 || !lookup(&im->systems, org, u->uuid, &sid))
			continue;
		for (size_t j = 0; j < u->n_dpr_uuids; j++)
			if (lookup(&im->dprs, org, u->dpr_uuids[j], &did))
				links_want(&ds, did, sid);
	}
	double t0 = now_secs();
	rc = links_apply(im, &cs);
	if (rc == 0)
		rc = links_apply(im, &ds);
	if (rc == 0)
		rc = links_apply(im, &dc);
	ob_debug("import kitos: links applied in %.2f s (%zu contract-system pairs)", now_secs() - t0, cs.npairs);
	/* Systems not written now (inserted by an earlier import) that got a
	 * contract now get its supplier, if they have none; one statement for
	 * all organisations, and only when there are such. */
	if (rc == 0 && im->stale_supplier)
		rc = ob_db_exec(im->db,
				"UPDATE systems s JOIN (SELECT cs.system_id, MIN(c.supplier) AS supplier "
				"FROM contract_systems cs JOIN contracts c ON c.id = cs.contract_id "
				"WHERE c.supplier IS NOT NULL GROUP BY cs.system_id) x "
				"ON x.system_id = s.id SET s.supplier = x.supplier WHERE s.supplier IS NULL",
				NULL, 0, NULL, im->err);
	links_free(&cs);
	links_free(&ds);
	links_free(&dc);
	return rc;
}

/* ---- parsing, on every core ---- */

struct parse_job {
	char *const *files;
	size_t nfiles;
	const struct ob_kitos_opts *ko;
	struct ob_kitos_batch *batches; /* one per file, merged in file order */
	struct ob_err *errs;            /* one per file */
	int *failed;
	size_t next;                    /* the next file to take (atomic) */
	const size_t *order;            /* files by size, largest first */
};

static void *parse_worker(void *arg)
{
	struct parse_job *j = arg;
	size_t k;

	while ((k = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->nfiles) {
		size_t i = j->order[k];
		if (ob_kitos_parse_file(&j->batches[i], j->files[i], j->ko, &j->errs[i]) < 0)
			j->failed[i] = 1;
	}
	return NULL;
}

/* Parses every file into b, the files spread over the cores (each thread
 * holds a read buffer and one object's tree at a time); the records
 * and warnings come out in file order whatever finished first. On a bad
 * file returns -1 with the first bad file's error (in command-line order). */
static int parse_files(struct ob_kitos_batch *b, char *const *files, size_t nfiles,
		       const struct ob_kitos_opts *ko, struct ob_err *err)
{
	struct parse_job j = {files, nfiles, ko, NULL, NULL, NULL, 0, NULL};
	size_t *order = ob_xcalloc(nfiles ? nfiles : 1, sizeof(size_t));
	off_t *sizes = ob_xcalloc(nfiles ? nfiles : 1, sizeof(off_t));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = ncpu > 1 ? (size_t)ncpu : 1;
	pthread_t *threads;
	size_t started = 0;
	int rc = 0;

	j.batches = ob_xcalloc(nfiles ? nfiles : 1, sizeof(*j.batches));
	j.errs = ob_xcalloc(nfiles ? nfiles : 1, sizeof(*j.errs));
	j.failed = ob_xcalloc(nfiles ? nfiles : 1, sizeof(int));
	for (size_t i = 0; i < nfiles; i++) {
		struct stat st;
		ob_kitos_batch_init(&j.batches[i]);
		sizes[i] = stat(files[i], &st) == 0 ? st.st_size : 0;
		order[i] = i;
	}
	/* Largest first, so that the cores finish together. */
	for (size_t i = 1; i < nfiles; i++)
		for (size_t k = i; k > 0 && sizes[order[k]] > sizes[order[k - 1]]; k--) {
			size_t t = order[k];
			order[k] = order[k - 1];
			order[k - 1] = t;
		}
	j.order = order;
	if (nthreads > nfiles)
		nthreads = nfiles;
	threads = ob_xcalloc(nthreads ? nthreads : 1, sizeof(pthread_t));
	for (size_t t = 1; t < nthreads; t++)
		if (pthread_create(&threads[t], NULL, parse_worker, &j) == 0)
			started = t;
		else
			break;
	parse_worker(&j);
	for (size_t t = 1; t <= started; t++)
		pthread_join(threads[t], NULL);
	for (size_t i = 0; i < nfiles; i++) {
		if (j.failed[i] && rc == 0) {
			ob_err_set(err, "%s", j.errs[i].msg);
			rc = -1;
		}
		if (rc == 0)
			ob_kitos_batch_move(b, &j.batches[i]);
		ob_kitos_batch_free(&j.batches[i]);
	}
	free(threads);
	free(j.batches);
	free(j.errs);
	free(j.failed);
	free(order);
	free(sizes);
	return rc;
}

/* ---- summary ---- */

static cJSON *counts_json(const struct counts *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "created", (double)c->created);
	cJSON_AddNumberToObject(o, "updated", (double)c->updated);
	cJSON_AddNumberToObject(o, "unchanged", (double)c->unchanged);
	cJSON_AddNumberToObject(o, "skipped", (double)c->skipped);
	return o;
}

/* The summary; warnings up to about max bytes (then "warnings_omitted"). */
static cJSON *summary_json(const struct imp *im, size_t max)
{
	cJSON *root = cJSON_CreateObject(), *w = cJSON_CreateArray();
	size_t bytes = 0, omitted = 0;
	cJSON_AddItemToObject(root, "systems", counts_json(&im->c_sys));
	cJSON_AddItemToObject(root, "contracts", counts_json(&im->c_con));
	cJSON_AddItemToObject(root, "people", counts_json(&im->c_ppl));
	cJSON_AddItemToObject(root, "data_processing", counts_json(&im->c_dpr));
	cJSON_AddNumberToObject(root, "unknown_objects", (double)im->b->skipped_unknown);
	for (size_t i = 0; i < im->b->n_warnings; i++) {
		const struct ob_kitos_warning *x = &im->b->warnings[i];
		cJSON *o;
		bytes += 80 + (x->file ? strlen(x->file) : 0) + (x->uuid ? strlen(x->uuid) : 0) +
			 (x->field ? strlen(x->field) : 0) + (x->message ? strlen(x->message) : 0);
		if (bytes > max) {
			omitted = im->b->n_warnings - i;
			break;
		}
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "file", x->file ? x->file : "");
		if (x->index >= 0)
			cJSON_AddNumberToObject(o, "index", (double)x->index);
		else
			cJSON_AddNullToObject(o, "index");
		if (x->uuid)
			cJSON_AddStringToObject(o, "uuid", x->uuid);
		else
			cJSON_AddNullToObject(o, "uuid");
		cJSON_AddStringToObject(o, "field", x->field ? x->field : "");
		cJSON_AddStringToObject(o, "message", x->message ? x->message : "");
		cJSON_AddItemToArray(w, o);
	}
	cJSON_AddItemToObject(root, "warnings", w);
	if (omitted)
		cJSON_AddNumberToObject(root, "warnings_omitted", (double)omitted);
	return root;
}

static void print_text(const struct imp *im, FILE *out, size_t nfiles, double secs)
{
	static const char *const names[] = {"systems", "contracts", "people", "data processing"};
	const struct counts *cs[] = {&im->c_sys, &im->c_con, &im->c_ppl, &im->c_dpr};

	for (size_t i = 0; i < im->b->n_warnings; i++) {
		const struct ob_kitos_warning *x = &im->b->warnings[i];
		char where[64] = "";
		if (x->index >= 0)
			snprintf(where, sizeof(where), "[%ld]", x->index);
		ob_log(OB_LOG_WARNING, "import kitos: %s%s%s%s: %s%s%s", x->file ? x->file : "", where,
		       x->uuid ? " " : "", x->uuid ? x->uuid : "", x->field && *x->field ? x->field : "",
		       x->field && *x->field ? ": " : "", x->message);
	}
	fprintf(out, "imported %zu file%s in %.2f s\n", nfiles, nfiles == 1 ? "" : "s", secs);
	for (size_t i = 0; i < 4; i++)
		fprintf(out, "  %-16s created %ld, updated %ld, unchanged %ld, skipped %ld\n", names[i],
			cs[i]->created, cs[i]->updated, cs[i]->unchanged, cs[i]->skipped);
	if (im->b->skipped_unknown)
		fprintf(out, "  %zu object%s of no known kind skipped\n", im->b->skipped_unknown,
			im->b->skipped_unknown == 1 ? "" : "s");
	fprintf(out, "  %zu warning%s%s\n", im->b->n_warnings, im->b->n_warnings == 1 ? "" : "s",
		im->b->n_warnings ? " (above)" : "");
}


int ob_import_kitos(struct ob_db *db, char *const *files, size_t nfiles, const struct ob_import_opts *opts,
		    struct ob_err *err)
{
	struct ob_kitos_batch b;
	struct ob_kitos_opts ko = {opts->owner_role};
	struct imp im;
	struct ob_map c_last, d_last;
	long long *c_orgs = NULL, *d_orgs = NULL;
	double t0 = now_secs();
	int rc = -1, in_tx = 0;
	cJSON *summary = NULL;
	char *summary_text = NULL;
	struct ob_buf names;
	FILE *out = opts->out ? opts->out : stdout;

	ob_kitos_batch_init(&b);
	memset(&im, 0, sizeof(im));
	im.db = db;
	im.o = opts;
	im.b = &b;
	im.err = err;
	ob_map_init(&im.org_ids);
	ob_map_init(&im.units);
	ob_map_init(&im.people);
	ob_map_init(&im.systems);
	ob_map_init(&im.contracts);
	ob_map_init(&im.dprs);
	ob_map_init(&im.no_email);
	ob_map_init(&im.sys_written);
	ob_map_init(&c_last);
	ob_map_init(&d_last);
	ob_buf_init(&names, 0);

	/* Read and parse everything first: a bad file stops us before any write. */
	if (parse_files(&b, files, nfiles, &ko, err) < 0)
		goto out;
	/* imports.files is a TEXT: at most 65,535 bytes of UTF-8 (b.files are
	 * the names made printable). */
	for (size_t i = 0; i < b.n_files; i++)
		ob_buf_printf(&names, "%s%s", i ? " " : "", b.files[i]);
	if (names.len > FILES_MAX) {
		size_t n = FILES_MAX - 3;
		while (n > 0 && ((unsigned char)names.data[n] & 0xC0) == 0x80)
			n--;
		names.len = n;
		names.data[n] = '\0';
		ob_buf_adds(&names, "...");
	}
	ob_debug("import kitos: parsed %zu usages, %zu contracts, %zu registrations, %zu users in %.2f s",
		 b.n_usages, b.n_contracts, b.n_dprs, b.n_users, now_secs() - t0);
	im.c_sys.skipped = (long)b.skipped[OB_KITOS_USAGE];
	im.c_con.skipped = (long)b.skipped[OB_KITOS_CONTRACT];
	im.c_dpr.skipped = (long)b.skipped[OB_KITOS_DPR];
	im.c_ppl.skipped = (long)b.skipped[OB_KITOS_USER];

	if (ob_db_begin(db, err) < 0)
		goto out;
	in_tx = 1;
	c_orgs = ob_xcalloc(b.n_contracts ? b.n_contracts : 1, sizeof(long long));
	d_orgs = ob_xcalloc(b.n_dprs ? b.n_dprs : 1, sizeof(long long));
#define PHASE(name, call)                                                                        \
	do {                                                                                     \
		double t_ = now_secs();                                                          \
		if ((call) < 0)                                                                  \
			goto out;                                                                \
		ob_debug("import kitos: %s in %.2f s", name, now_secs() - t_);                   \
	} while (0)
	PHASE("organisations", import_orgs(&im));
	PHASE("org units", import_units(&im));
	PHASE("people", import_people(&im));
	PHASE("systems", import_systems(&im));
	PHASE("contracts", import_contracts(&im, c_orgs, &c_last));
	PHASE("data processing", import_dprs(&im, d_orgs, &d_last));
	PHASE("links", import_links(&im, c_orgs, &c_last, d_orgs, &d_last));
#undef PHASE

	summary = summary_json(&im, STORED_WARNINGS_MAX);
	summary_text = cJSON_PrintUnformatted(summary);
	{
		double secs = now_secs() - t0;
		struct ob_db_param p[3] = {ob_p_str(names.data ? names.data : ""), ob_p_double(secs),
					   ob_p_str(summary_text)};
		if (ob_db_exec(db,
			       "INSERT INTO imports (kind, files, started_at, finished_at, summary) VALUES "
			       "('kitos', ?, NOW(3) - INTERVAL ? SECOND, NOW(3), ?)",
			       p, 3, NULL, err) < 0)
			goto out;
	}
	double t_commit = now_secs();
	if (ob_db_commit(db, err) < 0)
		goto out;
	in_tx = 0;
	ob_debug("import kitos: commit in %.2f s", now_secs() - t_commit);
	if (opts->json) {
		cJSON *all = summary_json(&im, SIZE_MAX);
		char *pretty = cJSON_Print(all);
		fprintf(out, "%s\n", pretty);
		free(pretty);
		cJSON_Delete(all);
	} else
		print_text(&im, out, nfiles, now_secs() - t0);
	rc = 0;
out:
	if (in_tx)
		ob_db_rollback(db);
	cJSON_Delete(summary);
	free(summary_text);
	ob_buf_free(&names);
	free(c_orgs);
	free(d_orgs);
	ob_map_free(&c_last);
	ob_map_free(&d_last);
	ob_map_free(&im.org_ids);
	ob_map_free(&im.units);
	ob_map_free(&im.people);
	ob_map_free(&im.systems);
	ob_map_free(&im.contracts);
	ob_map_free(&im.dprs);
	ob_map_free(&im.no_email);
	ob_map_free(&im.sys_written);
	free(im.orgs);
	ob_kitos_batch_free(&b);
	return rc;
}
