/* kitos.h - KITOS API v2 JSON into typed records.
 *
 * The parser reads real exports: it-system-usages, it-contracts,
 * data-processing-registrations and organisation users; a file holds one
 * object or a bare array of them, of any of these kinds, in the 2025 upstream
 * or the newer shape, with enums as strings or integers and null or
 * 0001-01-01T00:00:00Z for "no date". It touches no database: import_kitos.c
 * writes what it returns. */
#ifndef OB_KITOS_H
#define OB_KITOS_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define OB_NO_DATE INT32_MIN /* a date field that holds no date */

/* The widths, in characters as MariaDB counts them (code points), of the
 * columns the records' strings go to (core/sql/001_portfolio.sql). The
 * parser cuts a longer value at a character boundary, with a warning. */
#define OB_KITOS_NAME_MAX 255            /* every name: systems, contracts, people, units, organisations */
#define OB_KITOS_CVR_MAX 16              /* organisations.cvr (ASCII), contracts.supplier_cvr */
#define OB_KITOS_CONTRACT_NUMBER_MAX 100 /* contracts.contract_number */
#define OB_KITOS_EXTENSION_MAX 100       /* contracts.extension_options */
#define OB_KITOS_PROCESSORS_MAX 1000     /* data_processing.processors */
#define OB_KITOS_EMAIL_MAX 320           /* people.email */

enum ob_kitos_kind { OB_KITOS_USAGE, OB_KITOS_CONTRACT, OB_KITOS_DPR, OB_KITOS_USER, OB_KITOS_NKINDS };

/* Every string below is owned by the batch (NULL = absent), valid UTF-8
 * without NUL, and fits its column (the _MAX above). Enum-like fields point
 * at static strings that equal the database's ENUM values. Tri-state flags
 * are -1 unknown, 0 no, 1 yes. */
struct ob_kitos_org {
	char *uuid;
	char *cvr;
	char *name;
};

struct ob_kitos_usage {
	const char *file;            /* where it came from: batch->files[] */
	long index;                  /* position in the file's array; -1 for a lone object */
	char *uuid;
	struct ob_kitos_org org;     /* organizationContext */
	char *name;                  /* systemContext.name */
	char *local_name;            /* general.localCallName */
	char *owner_uuid;            /* roles[] entry whose role.name is the owner role */
	char *owner_name;
	char *department_uuid;       /* organizationUsage.responsibleOrganizationUnit */
	char *department_name;
	int users_min, users_max;    /* general.numberOfExpectedUsers; -1 unknown */
	const char *operations_model;/* general.hostedAt or gdpr.hostedAt:
	                                OnPremise internal, External supplier_hosted, Hybrid hybrid */
	const char *kitos_lifecycle; /* undecided not_in_use phasing_in operational phasing_out pilot */
	const char *lifecycle_phase; /* derived: undecided needs, pilot/phasing_in procurement,
	                                operational contract_followup, phasing_out/not_in_use exit */
	const char *personal_data;   /* from gdpr.dataSensitivityLevels: none ordinary sensitive */
	int legal_data;              /* LegalData among the levels */
	int business_critical;       /* general.isBusinessCritical or gdpr.businessCritical */
	const char *ra_conducted;    /* yes no dont_know undecided irrelevant */
	int32_t ra_date;             /* gdpr.riskAssessmentConductedDate */
	const char *ra_result;       /* low medium high undecided */
	int32_t ra_planned;          /* gdpr.plannedRiskAssessmentDate */
	const char *dpia_conducted;  /* yes no dont_know undecided */
	int32_t dpia_date;
	const char *dpa_required;    /* gdpr.isDataProcessingAgreementRequired: yes no decided_by_law */
	char *main_contract_uuid;    /* general.mainContract.uuid */
	char **dpr_uuids;            /* dataProcessingRegistrations[].uuid, if present */
	size_t n_dpr_uuids;
};

struct ob_kitos_contract {
	const char *file;            /* where it came from: batch->files[] */
	long index;                  /* position in the file's array; -1 for a lone object */
	char *uuid;
	struct ob_kitos_org org;
	char *name;
	char *contract_number;       /* general.contractId */
	char *supplier;              /* supplier.organization.name */
	char *supplier_cvr;
	char *responsible_unit_uuid; /* responsible.organizationUnit */
	char *responsible_unit_name;
	int32_t start_date;          /* general.validity.validFrom */
	int32_t end_date;            /* general.validity.validTo */
	int enforced_valid;          /* general.validity.enforcedValid */
	int continuous;              /* agreementPeriod.isContinuous */
	int notice_months;           /* termination.terms.noticePeriodMonths.name as a number; -1 */
	const char *notice_by_end_of;/* month quarter year */
	char *extension_options;     /* agreementPeriod.extensionOptions.name: "2 x 1 år" */
	int extension_total;         /* the leading count of that text; -1 unknown */
	int extensions_used;         /* agreementPeriod.extensionOptionsUsed; -1 */
	int32_t irrevocable_until;
	int32_t terminated_at;       /* termination.terminatedAt */
	char **usage_uuids;          /* systemUsages[].uuid */
	size_t n_usage_uuids;
	char **dpr_uuids;            /* dataProcessingRegistrations[].uuid */
	size_t n_dpr_uuids;
};

struct ob_kitos_dpr {
	const char *file;            /* where it came from: batch->files[] */
	long index;                  /* position in the file's array; -1 for a lone object */
	char *uuid;
	struct ob_kitos_org org;
	char *name;
	const char *agreement_concluded; /* general.isAgreementConcluded: yes no irrelevant undecided */
	int32_t concluded_on;            /* general.agreementConcludedAt */
	int valid;                       /* general.validity.valid */
	const char *third_country;       /* general.transferToInsecureThirdCountries */
	char *processors;                /* general.dataProcessors[].name joined by "; " */
	int32_t oversight_next;          /* oversight.oversightScheduledInspectionDate */
	char **usage_uuids;              /* systemUsages[].uuid */
	size_t n_usage_uuids;
	char **contract_uuids;           /* general.associatedContracts[] and mainContract */
	size_t n_contract_uuids;
};

struct ob_kitos_user {
	const char *file;            /* where it came from: batch->files[] */
	long index;                  /* position in the file's array; -1 for a lone object */
	char *uuid;
	struct ob_kitos_org org;     /* organizationContext when the export has it */
	char *name;                  /* "firstName lastName", or name */
	char *email;                 /* NULL when missing or empty */
};

struct ob_kitos_warning {
	char *file;
	long index;                  /* position in the file's array; -1 for a lone object */
	char *uuid;                  /* NULL when the object has none */
	char *field;                 /* JSON path inside the object, e.g. "gdpr.riskAssessmentResult" */
	char *message;
};

struct ob_kitos_opts {
	const char *owner_role;      /* role.name of the system owner; "Systemejer" */
};

struct ob_kitos_batch {
	struct ob_kitos_usage *usages;
	size_t n_usages, cap_usages;
	struct ob_kitos_contract *contracts;
	size_t n_contracts, cap_contracts;
	struct ob_kitos_dpr *dprs;
	size_t n_dprs, cap_dprs;
	struct ob_kitos_user *users;
	size_t n_users, cap_users;
	struct ob_kitos_warning *warnings;
	size_t n_warnings, cap_warnings;
	char **files;                    /* every file parsed, owned */
	size_t n_files, cap_files;
	size_t skipped[OB_KITOS_NKINDS]; /* objects of that kind not imported */
	size_t skipped_unknown;          /* objects of no known kind */
};

void ob_kitos_batch_init(struct ob_kitos_batch *b);
void ob_kitos_batch_free(struct ob_kitos_batch *b);
/* Appends everything src holds to dst (records keep pointing at their file
 * names, which move along) and leaves src empty. */
void ob_kitos_batch_move(struct ob_kitos_batch *dst, struct ob_kitos_batch *src);

/* Parses one file's text and appends its records to the batch, one object
 * of the top-level array at a time (ob_json_parse, then the object's tree
 * is freed), so that memory holds records, not trees.
 * Returns 0 when the file was read. Per-object problems become warnings
 * naming file, index, uuid and field; the object is skipped when it cannot
 * be used: no uuid, no kind recognised, a string that holds "\u0000" or
 * bytes that are not UTF-8, or a value JSON cannot carry (a raw control
 * character, a lone UTF-16 surrogate, a number out of range). A string
 * longer than its column is cut, with a warning.
 * Returns -1 on a fatal error, with err naming the file, line and column
 * ("kitos.json:12:5: JSON syntax error near 'x': expected ',' or '}'"): a
 * syntax error, a key twice in one object, nesting deeper than
 * OB_JSON_MAX_DEPTH, or JSON that is not KITOS data (a top-level number, an
 * array holding something other than objects); the batch then holds no
 * record of that file. Threads may parse into batches of their own at once. */
int ob_kitos_parse(struct ob_kitos_batch *b, const char *file, const char *text, size_t len,
		   const struct ob_kitos_opts *opts, struct ob_err *err);

/* The same for a file read as it is parsed (a buffer of about a megabyte
 * beside the records, whatever the file's size). Also -1 when the file
 * cannot be read: "kitos.json: cannot read: No such file or directory". */
int ob_kitos_parse_file(struct ob_kitos_batch *b, const char *path, const struct ob_kitos_opts *opts,
			struct ob_err *err);

/* An owned copy of s[0..n) that is safe to print or store as text: bytes
 * that are not UTF-8 are written \xHH, a "\u0000" that ob_json_parse
 * marked as \u0000. */
char *ob_kitos_printable(const char *s, size_t n);

/* Adds a warning to the batch (also used by import_kitos.c for problems
 * found against the database, like a contract naming an unknown usage). */
void ob_kitos_warn(struct ob_kitos_batch *b, const char *file, long index, const char *uuid,
		   const char *field, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
