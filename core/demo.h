/* demo.h - a deterministic generator of fictional Danish municipalities.
 *
 * ob_demo_write() writes the portfolio of `municipalities` invented
 * municipalities (the first is "Nørre Vesterå Kommune") as the files the
 * importers read:
 *
 *   OUTDIR/kitos/it-system-usages.json             KITOS API v2 objects, each file
 *   OUTDIR/kitos/it-contracts.json                 a bare JSON array holding the
 *   OUTDIR/kitos/data-processing-registrations.json   objects of all municipalities
 *   OUTDIR/kitos/organization-users.json
 *   OUTDIR/csv/org_units.csv, people.csv, systems.csv, contracts.csv,
 *       assessments.csv, incidents.csv, future_picture.csv,
 *       target_picture.csv, shared_solutions.csv
 *                                 the CSV kinds of README "CSV", ';'-separated,
 *                                 every row naming its municipality by CVR in
 *                                 the `organisation` column
 *   OUTDIR/README.txt             what was generated, with which seed and as_of
 *
 * Per municipality: an organisation tree of four levels, ≈120 people, ≈330
 * systems (≈15 foundation, ≈40 cross-cutting), ≈300 contracts, ≈60 data
 * processing registrations, GDPR assessments, incidents, two fremtidsbillede
 * and two målbillede versions and ≈12 shared municipal solutions, with the
 * gaps and deadlines the four reports look for. Every date is placed relative
 * to as_of (days since 1970-01-01): "expiring soon" is soon after as_of.
 *
 * The same (municipalities, seed, as_of) gives byte-identical files, and
 * municipality i is the same whatever the count. Every object a
 * municipality owns (organisation, unit, person, usage, contract, DPR) has
 * a uuid unique across all municipalities of one run; what KITOS shares
 * between municipalities (systemContext of the IT-system catalogue, supplier
 * organisations, role and option types) has one uuid per name, the same in
 * every municipality. The users file has no organizationContext, as KITOS
 * returns it; every user owns a system, so the importer can place each user
 * in a municipality even when the file holds many. Intended gaps: ~3 owners
 * per municipality without e-mail, ~1% of owners not among the users, ~2%
 * of systems without a Systemejer.
 *
 * Each file is written as FILE.tmp and renamed; existing files are
 * overwritten. Returns 0, or -1 with err naming the file that could not be
 * written (files written before it stay). */
#ifndef OB_DEMO_H
#define OB_DEMO_H

#include <stdint.h>

#include "util.h"

int ob_demo_write(const char *outdir, unsigned municipalities, uint64_t seed, int32_t as_of,
		  struct ob_err *err);

#endif
