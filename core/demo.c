/* demo.c - a deterministic generator of fictional Danish municipalities
 * (see demo.h). Each municipality is first built as a model in memory
 * (units, people, systems, contracts, data processing registrations and the
 * CSV-only facts), then appended to one text buffer per output file; every
 * file is written once at the end (FILE.tmp, then renamed).
 *
 * Randomness comes from splitmix64 only: municipality i draws from its own
 * stream seeded from (seed, i), so the first municipality is the same
 * whether 1 or 100 are generated. Objects that KITOS shares between
 * municipalities (the IT-system catalogue, supplier organisations, role and
 * option types) get uuids derived from (seed, name), the same in every
 * municipality; every object a municipality owns gets a fresh uuid. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "util.h"

/* ------------------------------------------------------------ randomness */

struct rng {
	uint64_t s;
};

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rng_next(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return mix64(r->s);
}

/* 0 .. n-1 (n > 0); the bias of the modulo is far below what matters here. */
static unsigned rng_below(struct rng *r, unsigned n)
{
	return (unsigned)(rng_next(r) % n);
}

/* lo .. hi inclusive */
static int rng_range(struct rng *r, int lo, int hi)
{
	return lo + (int)rng_below(r, (unsigned)(hi - lo + 1));
}

/* true with probability pm per mille */
static int rng_pm(struct rng *r, unsigned pm)
{
	return rng_below(r, 1000) < pm;
}

static void rng_shuffle(struct rng *r, int *a, int n)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)rng_below(r, (unsigned)i + 1), t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

/* ----------------------------------------------------------------- uuids */

#define UUID_LEN 37

static void uuid_from(uint64_t hi, uint64_t lo, char out[UUID_LEN])
{
	hi = (hi & ~0xf000ULL) | 0x4000ULL;                        /* version 4 */
	lo = (lo & ~0xc000000000000000ULL) | 0x8000000000000000ULL; /* variant 10 */
	snprintf(out, UUID_LEN, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32),
		 (unsigned)(hi >> 16) & 0xffffu, (unsigned)hi & 0xffffu, (unsigned)(lo >> 48),
		 (unsigned long long)(lo & 0xffffffffffffULL));
}

static void uuid_rand(struct rng *r, char out[UUID_LEN])
{
	uint64_t hi = rng_next(r);
	uuid_from(hi, rng_next(r), out);
}

/* The uuid of a shared (catalogue) object: the same for the same name. */
static void uuid_named(uint64_t seed, const char *kind, const char *name, char out[UUID_LEN])
{
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = kind; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ 0x2f) * 1099511628211ULL;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	uuid_from(mix64(seed ^ h), mix64(h + 0x632be59bd9b4e019ULL + seed), out);
}

/* ----------------------------------------------------------------- dates */

#define NO_DATE INT32_MIN       /* JSON null, an empty CSV cell */
#define ZERO_DATE (INT32_MIN + 1) /* KITOS's "0001-01-01T00:00:00Z" */

/* d plus n calendar months (n may be negative); a day past the end of the
 * target month, or a month's last day, gives the target month's last day. */
static int32_t add_months(int32_t d, int n)
{
	int y, m, dd, last;
	long mm;

	ob_civil_from_days(d, &y, &m, &dd);
	last = dd == ob_days_in_month(y, m);
	mm = (long)y * 12 + (m - 1) + n;
	y = (int)(mm / 12);
	m = (int)(mm % 12) + 1;
	if (last || dd > ob_days_in_month(y, m))
		dd = ob_days_in_month(y, m);
	return ob_days_from_civil(y, m, dd);
}

static int32_t end_of_month(int32_t d)
{
	int y, m, dd;
	ob_civil_from_days(d, &y, &m, &dd);
	return ob_days_from_civil(y, m, ob_days_in_month(y, m));
}

/* A KITOS timestamp or null. */
static void j_date(struct ob_buf *b, int32_t d)
{
	char s[11];

	if (d == NO_DATE) {
		ob_buf_adds(b, "null");
		return;
	}
	if (d == ZERO_DATE) {
		ob_buf_adds(b, "\"0001-01-01T00:00:00Z\"");
		return;
	}
	ob_date_format(d, s);
	ob_buf_printf(b, "\"%sT00:00:00Z\"", s);
}

/* ------------------------------------------------------------ JSON text */

static void j_str(struct ob_buf *b, const char *s)
{
	const char *run = s;

	ob_buf_addc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		ob_buf_add(b, run, (size_t)(s - run));
		switch (c) {
		case '"': ob_buf_adds(b, "\\\""); break;
		case '\\': ob_buf_adds(b, "\\\\"); break;
		case '\n': ob_buf_adds(b, "\\n"); break;
		case '\r': ob_buf_adds(b, "\\r"); break;
		case '\t': ob_buf_adds(b, "\\t"); break;
		default: ob_buf_printf(b, "\\u%04x", c); break;
		}
		run = s + 1;
	}
	ob_buf_add(b, run, (size_t)(s - run));
	ob_buf_addc(b, '"');
}

/* "key":"value" */
static void j_kv(struct ob_buf *b, const char *key, const char *val)
{
	ob_buf_printf(b, "\"%s\":", key);
	if (val == NULL)
		ob_buf_adds(b, "null");
	else
		j_str(b, val);
}

/* {"uuid":"...","name":"..."} */
static void j_ref(struct ob_buf *b, const char *uuid, const char *name)
{
	ob_buf_adds(b, "{");
	j_kv(b, "uuid", uuid);
	ob_buf_adds(b, ",");
	j_kv(b, "name", name);
	ob_buf_adds(b, "}");
}

/* ------------------------------------------------------------- CSV text */

struct csv {
	struct ob_buf b;
	const char *eol;
	int col; /* fields written on the current row */
};

static void csv_init(struct csv *c, int bom, int crlf)
{
	ob_buf_init(&c->b, 0);
	c->eol = crlf ? "\r\n" : "\n";
	c->col = 0;
	if (bom)
		ob_buf_adds(&c->b, "\xef\xbb\xbf");
}

static void csv_f(struct csv *c, const char *s)
{
	if (c->col++ > 0)
		ob_buf_addc(&c->b, ';');
	if (s == NULL)
		return;
	if (strpbrk(s, ";\"\r\n") == NULL) {
		ob_buf_adds(&c->b, s);
		return;
	}
	ob_buf_addc(&c->b, '"');
	for (; *s; s++) {
		if (*s == '"')
			ob_buf_addc(&c->b, '"');
		ob_buf_addc(&c->b, *s);
	}
	ob_buf_addc(&c->b, '"');
}

static void csv_end(struct csv *c)
{
	ob_buf_adds(&c->b, c->eol);
	c->col = 0;
}

/* A header: the names separated by ';' in one string. */
static void csv_header(struct csv *c, const char *names)
{
	ob_buf_adds(&c->b, names);
	csv_end(c);
}

/* A date as 2026-11-26 or, Danish, 26-11-2026; NO_DATE is an empty cell. */
static void csv_date(struct csv *c, int32_t d, int danish)
{
	char s[11], t[11];

	if (d == NO_DATE) {
		csv_f(c, "");
		return;
	}
	ob_date_format(d, s);
	if (danish) {
		snprintf(t, sizeof(t), "%.2s-%.2s-%.4s", s + 8, s + 5, s);
		csv_f(c, t);
	} else {
		csv_f(c, s);
	}
}

/* Øre as Danish money: 123456750 -> "1.234.567,50". */
static void dkk_format(long long ore, char out[32])
{
	char digits[24], *p = out;
	int n = snprintf(digits, sizeof(digits), "%lld", ore / 100);

	for (int i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			*p++ = '.';
		*p++ = digits[i];
	}
	snprintf(p, 8, ",%02lld", ore % 100);
}

/* ---------------------------------------------------------------- names */

static const char *const muni_names[] = {
	"Nørre Vesterå", "Østerlund", "Ålbæk", "Bøgeskov", "Søndermølle", "Fjordhøj", "Lyngbæk",
	"Rødkilde", "Skovlænge", "Havbjerg", "Egebæk", "Kærholm", "Mølleå", "Storeskov", "Vesterhøj",
	"Ørnebjerg", "Sølund", "Bækkelund", "Hørvig", "Fælledby", "Grønnæs", "Løvhøj", "Ravnsø",
	"Tåsinge Nord", "Kløvermark", "Æbleholm", "Sønderfjord", "Brændemose", "Hvidbjerg Sø",
	"Nørrebæk", "Ålykke", "Stenløse Mark",
};

struct forv {
	const char *name;
	const char *afd[3];
};
static const struct forv forvaltninger[7] = {
	{"Børn og Skole", {"Skoleafdelingen", "Dagtilbud", "Børn og Familie"}},
	{"Sundhed og Ældre", {"Hjemmepleje", "Sundhed og Forebyggelse", "Myndighed Ældre"}},
	{"Teknik og Miljø", {"Byg og Plan", "Vej og Park", "Natur og Miljø"}},
	{"Økonomi og Personale", {"Økonomi", "Løn og Personale", "Indkøb og Udbud"}},
	{"Job og Arbejdsmarked", {"Jobcenter", "Ydelser", "Integration"}},
	{"Kultur og Fritid", {"Biblioteker", "Idræt og Fritid", "Kulturhuse"}},
	{"Borgerservice og Digitalisering", {"Borgerservice", "IT og Digitalisering", "Informationssikkerhed"}},
};
#define F_DIGI 6 /* Borgerservice og Digitalisering: home of foundation systems */

static const char *const team_names[] = {
	"Team Drift", "Team Myndighed", "Team Rådgivning", "Team Udvikling", "Team Administration",
	"Team Borgerkontakt", "Sekretariatet", "Team Data og Analyse", "Team Nord", "Team Syd",
	"Team Kvalitet", "Team Økonomi",
};

static const char *const first_names[] = {
	"Søren", "Bjørn", "Åse", "Jørgen", "Mette", "Anne", "Lars", "Pernille", "Mads", "Signe",
	"Bodil", "Henrik", "Lærke", "Nikolaj", "Gitte", "Torben", "Birgitte", "Øjvind", "Åge",
	"Jens", "Karen", "Frederik", "Ida", "Rasmus", "Sofie", "Mikkel", "Louise", "Thøger",
	"Helle", "Kåre", "Jytte", "Morten", "Dorthe", "Bent", "Hanne", "Jesper", "Trine", "Søs",
	"Ærling", "Maja",
};
static const char *const last_names[] = {
	"Mølgaard", "Sørensen", "Ærbø", "Løkke", "Jørgensen", "Nørgaard", "Østergaard", "Kjær",
	"Bøgh", "Møller", "Højgaard", "Krøyer", "Lærkesen", "Søgaard", "Dæhnfeldt", "Åberg",
	"Grønbæk", "Hansen", "Nielsen", "Pedersen", "Andersen", "Christensen", "Rasmussen",
	"Thomsen", "Skøtt", "Brøndum", "Holm", "Friis", "Dahl", "Bæk", "Fønss", "Strøm",
	"Vestergaard", "Hørlyck", "Ågesen", "Kræmmer",
};

struct supplier {
	const char *name;
	const char *cvr;
};
enum { S_KMD, S_NETCOMPANY, S_SYSTEMATIC, S_EG, S_FUJITSU, S_ATEA, S_SCHULTZ, S_VISMA, S_MICROSOFT,
       S_BLUEGARDEN, S_KOMBIT, S_AUTODESK, S_CITRIX, S_FORMPIPE, S_IST, S_SEPTIMA, S_MAGENTA,
       S_NETIC, S_TOPDESK, S_DEDU, S_NSUPPLIERS };
static const struct supplier suppliers[S_NSUPPLIERS] = {
	{"KMD A/S", "26911745"}, {"Netcompany A/S", "14814833"}, {"Systematic A/S", "78834412"},
	{"EG A/S", "84667815"}, {"Fujitsu A/S", "29137831"}, {"Atea A/S", "25511484"},
	{"Schultz A/S", "16354327"}, {"Visma Enterprise A/S", "24258193"},
	{"Microsoft Danmark ApS", "13612870"}, {"Bluegarden A/S", "21318716"},
	{"KOMBIT A/S", "19435075"}, {"Autodesk ApS", "15001412"}, {"Citrix Systems Danmark ApS", "27059612"},
	{"Formpipe Software A/S", "33780676"}, {"IST Danmark ApS", "31934214"}, {"Septima P/S", "36425954"},
	{"Magenta ApS", "25014596"}, {"Netic A/S", "28141633"}, {"TOPdesk Danmark ApS", "34058741"},
	{"Dedu ApS", "32776183"},
};

/* A named system of the catalogue: its supplier and the forvaltning that
 * usually owns it (-1: any). */
struct sysname {
	const char *name;
	int supplier;
	int forv;
};

static const struct sysname foundation_sys[] = {
	{"Windows 11", S_MICROSOFT, F_DIGI}, {"Office 365", S_MICROSOFT, F_DIGI},
	{"Active Directory", S_MICROSOFT, F_DIGI}, {"Citrix Workspace", S_CITRIX, F_DIGI},
	{"Microsoft Entra ID", S_MICROSOFT, F_DIGI}, {"Microsoft Intune", S_MICROSOFT, F_DIGI},
	{"VMware vSphere", S_ATEA, F_DIGI}, {"Veeam Backup", S_ATEA, F_DIGI},
	{"Microsoft Defender for Endpoint", S_MICROSOFT, F_DIGI}, {"Cisco AnyConnect VPN", S_ATEA, F_DIGI},
	{"Fortinet FortiGate", S_NETIC, F_DIGI}, {"PaperCut Print og Scan", S_ATEA, F_DIGI},
	{"Windows Server 2022", S_MICROSOFT, F_DIGI}, {"Microsoft SQL Server", S_MICROSOFT, F_DIGI},
	{"Azure Virtual Desktop", S_MICROSOFT, F_DIGI},
};

static const struct sysname cross_sys[] = {
	{"SBSYS", S_FUJITSU, 6}, {"ØS Indsigt", S_KMD, 3}, {"Prisme", S_FUJITSU, 3},
	{"Outlook", S_MICROSOFT, 6}, {"KMD Opus Økonomi", S_KMD, 3}, {"Silkeborg Data Løn", S_VISMA, 3},
	{"Acadre", S_FORMPIPE, 6}, {"GetOrganized", S_NETCOMPANY, 6}, {"F2 Sagsbehandling", S_SCHULTZ, 6},
	{"TOPdesk Servicedesk", S_TOPDESK, 6}, {"Emply Hire", S_VISMA, 3}, {"Penneo Signering", S_VISMA, 3},
	{"Remoteprint", S_KMD, 6}, {"Doc2Mail", S_KMD, 6}, {"Power BI", S_MICROSOFT, 3},
	{"Qlik Sense", S_ATEA, 3}, {"OS2faktor", S_MAGENTA, 6}, {"OS2rollekatalog", S_MAGENTA, 6},
	{"OS2mo Organisation", S_MAGENTA, 6}, {"OS2sync", S_MAGENTA, 6}, {"Digital Post Klient", S_KMD, 6},
	{"Puzzel Kontaktcenter", S_ATEA, 6}, {"Zylinc Omstilling", S_ATEA, 6}, {"Umbraco Hjemmeside", S_NETCOMPANY, 6},
	{"Siteimprove", S_NETCOMPANY, 6}, {"Ibistic Fakturaflow", S_VISMA, 3}, {"Mercell Udbud", S_VISMA, 3},
	{"KMD Indkøb", S_KMD, 3}, {"Intranet Prescriba", S_NETCOMPANY, 6}, {"Kursusportalen", S_DEDU, 3},
	{"ArcGIS Online", S_SEPTIMA, 2}, {"Septima Widget", S_SEPTIMA, 2}, {"Doc2Archive", S_KMD, 6},
	{"Teams Telefoni", S_MICROSOFT, 6}, {"Microsoft Forms", S_MICROSOFT, 6}, {"Mødebooking", S_SCHULTZ, 3},
	{"Bilbooking", S_SCHULTZ, 3}, {"KMD Opus Debitor", S_KMD, 3}, {"Rejseafregning", S_VISMA, 3},
	{"Whistleblowerordning", S_EG, 3},
};

static const struct sysname lob_sys[] = {
	{"Aula", S_NETCOMPANY, 0}, {"Tabulex Tea", S_EG, 0}, {"KMD Institution", S_KMD, 0},
	{"Meebook", S_DEDU, 0}, {"MinUddannelse", S_IST, 0}, {"EasyIQ", S_IST, 0},
	{"DUBU", S_KMD, 0}, {"Hjernen&Hjertet", S_EG, 0}, {"Pladsanvisning", S_KMD, 0},
	{"Skoleporten", S_EG, 0}, {"Cura", S_SYSTEMATIC, 1}, {"KMD Nexus", S_KMD, 1},
	{"FMK-online", S_SYSTEMATIC, 1}, {"T2 Tandpleje", S_EG, 1}, {"Hjælpemiddelbasen", S_KMD, 1},
	{"MedCom Korrespondance", S_SYSTEMATIC, 1}, {"Planet Kørsel", S_EG, 1}, {"Vitae Genoptræning", S_SYSTEMATIC, 1},
	{"AutoCAD", S_AUTODESK, 2}, {"BBR Administration", S_KOMBIT, 2}, {"Byg og Miljø", S_KOMBIT, 2},
	{"GeoEnviron", S_EG, 2}, {"Vejman", S_EG, 2}, {"LER 2.0", S_SEPTIMA, 2},
	{"Dandas", S_EG, 2}, {"QGIS", S_SEPTIMA, 2}, {"Plandata", S_SEPTIMA, 2},
	{"KMD Opus Budget", S_KMD, 3}, {"Ejendomsskat", S_KMD, 3}, {"Momentum", S_NETCOMPANY, 4},
	{"KY Ydelsessystem", S_KMD, 4}, {"Fasit", S_SCHULTZ, 4}, {"Jobindsats Lokal", S_NETCOMPANY, 4},
	{"Integrationsportalen", S_SCHULTZ, 4}, {"Cicero Bibliotek", S_SYSTEMATIC, 5}, {"Conventus", S_VISMA, 5},
	{"Interbook Booking", S_SCHULTZ, 5}, {"Speedadmin Musikskole", S_DEDU, 5}, {"Foreningsportalen", S_NETCOMPANY, 5},
	{"KMD Valg", S_KMD, 6}, {"CPR Web", S_KMD, 6}, {"Pas og Kørekort", S_NETCOMPANY, 6},
	{"Selvbetjeningsformularer", S_NETCOMPANY, 6}, {"KMD Sag", S_KMD, 6}, {"Boligstøtteberegner", S_KMD, 6},
	{"Kviknummer", S_SCHULTZ, 6}, {"Begravelsessystem", S_EG, 6}, {"Sygedagpengeportalen", S_KMD, 4},
	{"Ungdomsskolesystem", S_DEDU, 0}, {"Borgerbooking", S_SCHULTZ, 6},
};

/* Invented line-of-business systems: a domain word of a forvaltning and a
 * suffix, "Affald Online". */
struct domword {
	const char *word;
	int forv;
};
static const struct domword dom_words[] = {
	{"Skole", 0}, {"Dagtilbud", 0}, {"Elev", 0}, {"Børneattest", 0}, {"Forældre", 0}, {"Ældre", 1},
	{"Sundhed", 1}, {"Handicap", 1}, {"Misbrug", 1}, {"Hjemmepleje", 1}, {"Plejebolig", 1},
	{"Byggesag", 2}, {"Vej", 2}, {"Affald", 2}, {"Park", 2}, {"Natur", 2}, {"Vand", 2},
	{"Trafik", 2}, {"Beredskab", 2}, {"Kirkegård", 2}, {"Løn", 3}, {"Vikar", 3}, {"Faktura", 3},
	{"Indkøb", 3}, {"Ejendom", 3}, {"Job", 4}, {"Ydelse", 4}, {"Integration", 4}, {"Kontanthjælp", 4},
	{"Bibliotek", 5}, {"Idræt", 5}, {"Kultur", 5}, {"Fritid", 5}, {"Borger", 6}, {"Journal", 6},
	{"Havn", 2},
};
static const char *const dom_suffixes[] = {
	"Online", "Portal", "Plan", "Data", "Booking", "Tilsyn", "Analyse", "GIS", "Forløb",
	"Indblik", "Pro", "Flow", "Kort", "Web", "Mobil", "Register",
};

/* Appends s with æ ø å (and Æ Ø Å, é) spelled ae oe aa e, lower case,
 * keeping only letters and digits (anything else becomes sep, not twice). */
static void translit(struct ob_buf *b, const char *s, char sep)
{
	int pending = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		const char *rep = NULL;
		char one[2] = {0, 0};
		if (p[0] == 0xc3 && p[1]) {
			switch (p[1]) {
			case 0xa6: case 0x86: rep = "ae"; break;
			case 0xb8: case 0x98: rep = "oe"; break;
			case 0xa5: case 0x85: rep = "aa"; break;
			case 0xa9: case 0x89: rep = "e"; break;
			default: rep = ""; break;
			}
			p++;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) {
			one[0] = (char)*p;
			rep = one;
		} else if (*p >= 'A' && *p <= 'Z') {
			one[0] = (char)(*p - 'A' + 'a');
			rep = one;
		} else {
			pending = sep != 0;
			continue;
		}
		if (pending && b->len > 0 && *rep)
			ob_buf_addc(b, sep);
		pending = 0;
		ob_buf_adds(b, rep);
	}
}

/* ---------------------------------------------------------------- model */

enum { CAT_FOUNDATION, CAT_CROSS, CAT_LOB };
/* KITOS LifeCycleStatusChoice, in the order of its integers */
enum { LC_UNDECIDED, LC_NOT_IN_USE, LC_PHASING_IN, LC_OPERATIONAL, LC_PHASING_OUT, LC_PILOT };
static const char *const lc_names[] = {"Undecided", "NotInUse", "PhasingIn", "Operational", "PhasingOut", "Pilot"};
static const char *const hosted_names[] = {"Undecided", "OnPremise", "External", "Hybrid"};
static const char *const yn_names[] = {"No", "Yes", "DontKnow"};
static const char *const risk_names[] = {"Low", "Medium", "High"};
static const char *const risk_csv[] = {"low", "medium", "high"};
static const char *const citizen_ids[] = {"self_service", "data_display", "information", "digital_meeting",
					  "digital_communication"};
static const char *const citizen_da[] = {"selvbetjening", "udstilling af data", "information/portal",
					 "digitalt møde", "digital kommunikation"};
static const char *const cat_ids[] = {"foundation", "cross_cutting", "line_of_business"};
static const char *const cat_da[] = {"grundlæggende", "tværgående", "fagsystem"};

struct unit {
	char uuid[UUID_LEN];
	const char *name;
	int parent;   /* index, -1 for the root */
	int level;    /* 0 root, 1 forvaltning, 2 afdeling, 3 team */
	int forv;     /* -1 for the root */
};

struct person {
	char uuid[UUID_LEN];
	const char *first, *last;
	char name[96];
	char email[160];
	int unit;
	int no_email;  /* "" in the users JSON and people.csv */
	int owns;      /* systems owned */
};

struct system {
	char uuid[UUID_LEN];
	char ctx_uuid[UUID_LEN];   /* systemContext: the catalogue's, shared */
	char name[96];
	int cat, supplier, forv, unit;
	int owner;                 /* person index; -1 no Systemejer; -2 a former employee */
	char ghost_uuid[UUID_LEN];
	char ghost_name[96];
	int contact;               /* a Kontaktperson, or -1 */
	int users_lo, users_hi;
	int hosted, hosted_int;    /* 1 OnPremise, 2 External, 3 Hybrid; as an integer */
	int critical;
	int lifecycle;
	int pd, pd_int;            /* 0 none, 1 person data, 2 sensitive; levels as integers */
	int ra_conducted;          /* 0 No, 1 Yes, 2 DontKnow */
	int32_t ra_date, ra_planned;
	int ra_result;             /* -1 null */
	int dpia;                  /* 0 No, 1 Yes, -1 absent */
	int32_t dpia_date;
	int dpa_required;
	int main_contract;         /* contract index or -1 */
	/* systems.csv */
	int32_t last_review;
	int citizen;               /* -1 none */
	int ai, algo, rpa, matching;
	int soon;                  /* a contract on it ends within 24 months */
	int32_t latest_ra;         /* the newest risk assessment in assessments.csv */
};

enum { K_EXPIRED, K_SOON90, K_SOON365, K_CONTINUOUS, K_LATER };

struct contract {
	char uuid[UUID_LEN];
	char name[192];
	char number[24];
	int supplier, unit, kind;
	int sys[3], nsys;
	int32_t from, to, irrevocable, terminated;
	int notice;                /* months */
	int by_end;                /* 0 EndOfMonth, 1 EndOfQuarter, 2 EndOfCalendarYear */
	int ext, ext_used;         /* 0 Ingen, 1 "2 x 1 år", 2 "1 x 2 år" */
	int segment;               /* 0 A, 1 B, 2 C */
	long long cost_ore;
	int exit_decision;         /* 0 uafklaret 1 forlæng 2 genudbud 3 opsig */
	int auto_renewal;
	int dpr;                   /* index or -1 */
};

struct dpr {
	char uuid[UUID_LEN];
	char name[256];
	int contract, supplier;
	int sys[3], nsys;
	int concluded;
	int32_t concluded_at, oversight;
};

struct assessment {
	int sys, kind;             /* 0 risikovurdering, 1 konsekvensanalyse, 2 data_ethics */
	int32_t done_on, next_due;
	int result;                /* 0 low 1 medium 2 high */
	int reason;                /* 0 acquisition 1 annual 2 incident */
	const char *note;
	int danish;
};

struct incident {
	int sys;
	int32_t on;
	int severity;              /* 0 low .. 3 critical */
	const char *title;
};

struct muni {
	unsigned index;
	struct rng r;
	char name[128];            /* "Nørre Vesterå Kommune" */
	char slug[96];             /* "noerre-vesteraa" */
	char cvr[9];
	char uuid[UUID_LEN];
	struct unit *units;
	int nunits;
	struct person *people;
	int npeople;
	struct system *sys;
	int nsys;
	struct contract *con;
	int ncon;
	struct dpr *dprs;
	int ndprs;
	struct assessment *ass;
	int nass, cap_ass;
	struct incident inc[16];
	int ninc;
};

/* Shared catalogue uuids of the run. */
struct shared {
	uint64_t seed;
	char role_owner[UUID_LEN], role_contact[UUID_LEN];
	char notice_opt[3][UUID_LEN];
	char ext_opt[3][UUID_LEN];
	char supplier[S_NSUPPLIERS][UUID_LEN];
};

static void shared_init(struct shared *sh, uint64_t seed)
{
	static const char *const notice[] = {"3", "6", "12"};
	static const char *const ext[] = {"Ingen", "2 x 1 år", "1 x 2 år"};

	sh->seed = seed;
	uuid_named(seed, "role", "Systemejer", sh->role_owner);
	uuid_named(seed, "role", "Kontaktperson", sh->role_contact);
	for (int i = 0; i < 3; i++) {
		uuid_named(seed, "notice", notice[i], sh->notice_opt[i]);
		uuid_named(seed, "extension", ext[i], sh->ext_opt[i]);
	}
	for (int i = 0; i < S_NSUPPLIERS; i++)
		uuid_named(seed, "supplier", suppliers[i].name, sh->supplier[i]);
}

static void muni_free(struct muni *m)
{
	free(m->units);
	free(m->people);
	free(m->sys);
	free(m->con);
	free(m->dprs);
	free(m->ass);
}

/* The unit a system or person of forvaltning f belongs to: the forvaltning
 * itself (pm_forv per mille), else one of its afdelinger, or with teams
 * allowed one of their teams. */
static int pick_unit(struct muni *m, int f, unsigned pm_forv, int teams)
{
	int cand[32], n = 0, fu = -1;

	for (int i = 0; i < m->nunits; i++) {
		const struct unit *u = &m->units[i];
		if (u->forv != f)
			continue;
		if (u->level == 1)
			fu = i;
		else if ((u->level == 2 || (teams && u->level == 3)) && n < 32)
			cand[n++] = i;
	}
	if (n == 0 || rng_pm(&m->r, pm_forv))
		return fu;
	return cand[rng_below(&m->r, (unsigned)n)];
}

/* IT og Digitalisering, where the foundation systems belong. */
static int it_unit(const struct muni *m)
{
	for (int i = 0; i < m->nunits; i++)
		if (m->units[i].level == 2 && m->units[i].name == forvaltninger[F_DIGI].afd[1])
			return i;
	return 0;
}

static void build_units(struct muni *m)
{
	struct rng *r = &m->r;
	int cap = 1 + 7 + 7 * 3 + 7 * 3 * 2;

	m->units = ob_xcalloc((size_t)cap, sizeof(*m->units));
	m->nunits = 0;
	uuid_rand(r, m->units[0].uuid);
	m->units[0].name = m->name;
	m->units[0].parent = -1;
	m->units[0].forv = -1;
	m->nunits = 1;
	for (int f = 0; f < 7; f++) {
		int fi = m->nunits++;
		int drop = rng_pm(r, 450) ? (f == F_DIGI ? 2 * (int)rng_below(r, 2) : (int)rng_below(r, 3)) : -1;
		struct unit *fu = &m->units[fi];
		uuid_rand(r, fu->uuid);
		fu->name = forvaltninger[f].name;
		fu->parent = 0;
		fu->level = 1;
		fu->forv = f;
		for (int a = 0; a < 3; a++) {
			int ai, nt, t0;
			if (a == drop)
				continue;
			ai = m->nunits++;
			uuid_rand(r, m->units[ai].uuid);
			m->units[ai].name = forvaltninger[f].afd[a];
			m->units[ai].parent = fi;
			m->units[ai].level = 2;
			m->units[ai].forv = f;
			nt = rng_range(r, 1, 2);
			t0 = (int)rng_below(r, OB_ARRAY_LEN(team_names));
			for (int t = 0; t < nt; t++) {
				int ti = m->nunits++;
				uuid_rand(r, m->units[ti].uuid);
				m->units[ti].name = team_names[(t0 + t * 5) % OB_ARRAY_LEN(team_names)];
				m->units[ti].parent = ai;
				m->units[ti].level = 3;
				m->units[ti].forv = f;
			}
		}
	}
}

static void build_people(struct muni *m)
{
	struct rng *r = &m->r;
	struct ob_buf b;
	int no_email[3];

	m->npeople = rng_range(r, 116, 124);
	m->people = ob_xcalloc((size_t)m->npeople, sizeof(*m->people));
	ob_buf_init(&b, 0);
	for (int i = 0; i < 3; i++)
		no_email[i] = rng_range(r, 0, m->npeople - 1);
	for (int i = 0; i < m->npeople; i++) {
		struct person *p = &m->people[i];
		int dup = 0;
		uuid_rand(r, p->uuid);
		p->first = first_names[rng_below(r, OB_ARRAY_LEN(first_names))];
		p->last = last_names[rng_below(r, OB_ARRAY_LEN(last_names))];
		snprintf(p->name, sizeof(p->name), "%s %s", p->first, p->last);
		p->unit = pick_unit(m, i % 7, 150, 1);
		p->no_email = i == no_email[0] || i == no_email[1] || i == no_email[2];
		ob_buf_reset(&b);
		translit(&b, p->first, '-');
		ob_buf_addc(&b, '.');
		translit(&b, p->last, '-');
		/* the second of the same name is soeren.moelgaard2@, the third ...3@ */
		for (int j = 0; j < i; j++)
			if (m->people[j].first == p->first && m->people[j].last == p->last)
				dup++;
		if (dup)
			snprintf(p->email, sizeof(p->email), "%s%d@%s.dk", b.data, dup + 1, m->slug);
		else
			snprintf(p->email, sizeof(p->email), "%s@%s.dk", b.data, m->slug);
	}
	ob_buf_free(&b);
}

/* The KITOS risk fields of a system processing personal data, and the
 * risikovurdering history behind them in assessments.csv. */
static void add_assessment(struct muni *m, int sys, int kind, int32_t done, int result, int reason,
			   const char *note)
{
	struct assessment *a;

	if (m->nass == m->cap_ass) {
		m->cap_ass = m->cap_ass ? m->cap_ass * 2 : 256;
		m->ass = ob_xrealloc(m->ass, (size_t)m->cap_ass * sizeof(*m->ass));
	}
	a = &m->ass[m->nass++];
	a->sys = sys;
	a->kind = kind;
	a->done_on = done;
	a->result = result;
	a->reason = reason;
	a->next_due = kind == 0 && rng_pm(&m->r, 800) ? add_months(done, 12) : NO_DATE;
	a->note = note;
	a->danish = rng_pm(&m->r, 250);
}

static const char *const ra_notes[] = {
	NULL, NULL, NULL, NULL, "Gennemført af informationssikkerhedskoordinator",
	"Gennemgået med leverandøren; handlingsplan aftalt", "Adgangsstyring skal strammes op",
	"Kræver opfølgning på logning; se sag 27.00.00-A00-12-24", "Forudsætter \"to-faktor\" login; aftalt med IT",
};

static void risk_history(struct muni *m, int i, int32_t as_of)
{
	struct rng *r = &m->r;
	struct system *s = &m->sys[i];
	unsigned k = rng_below(r, 1000);
	int32_t latest;
	int n;

	s->latest_ra = NO_DATE;
	if (s->pd == 0) {
		/* no personal data: mostly never assessed */
		s->ra_conducted = rng_pm(r, 700) ? 0 : 2;
		s->ra_date = NO_DATE;
		s->ra_result = -1;
		s->ra_planned = NO_DATE;
		if (rng_pm(r, 120)) {
			s->ra_conducted = 1;
			s->ra_date = as_of - rng_range(r, 60, 900);
			s->ra_result = 0;
		}
		return;
	}
	if (k < 90) { /* a gap: never assessed */
		s->ra_conducted = rng_pm(r, 600) ? 0 : 2;
		s->ra_date = NO_DATE;
		s->ra_result = -1;
		s->ra_planned = rng_pm(r, 400) ? as_of + rng_range(r, 20, 200) : NO_DATE;
		return;
	}
	latest = k < 650 ? as_of - rng_range(r, 15, 330)   /* current */
		 : k < 700 ? as_of - rng_range(r, 335, 364) /* due soon */
			   : as_of - rng_range(r, 380, 1000); /* stale */
	n = rng_range(r, 1, 3);
	for (int j = n - 1; j >= 0; j--) {
		int32_t d = latest - j * 365 - (j ? rng_range(r, -20, 20) : 0);
		add_assessment(m, i, 0, d, (int)rng_below(r, 3), j == n - 1 ? 0 : 1,
			       ra_notes[rng_below(r, OB_ARRAY_LEN(ra_notes))]);
	}
	/* the newest row is the acquisition one only when it is the only one */
	m->ass[m->nass - 1].reason = n == 1 ? 0 : 1;
	s->latest_ra = latest;
	s->ra_conducted = 1;
	s->ra_result = m->ass[m->nass - 1].result;
	k = rng_below(r, 1000);
	s->ra_date = k < 60 ? NO_DATE : k < 90 ? ZERO_DATE : latest;
	s->ra_planned = rng_pm(r, 700) ? add_months(latest, 12) : NO_DATE;
}

/* Every person owns at least one system, in their own forvaltning when
 * one is free; the rest go to the people of the system's forvaltning. */
static void assign_owners(struct muni *m)
{
	struct rng *r = &m->r;
	int *order;

	order = ob_xmalloc((size_t)m->nsys * sizeof(int));
	for (int i = 0; i < m->nsys; i++)
		order[i] = i;
	rng_shuffle(r, order, m->nsys);
	for (int p = 0; p < m->npeople; p++) {
		int pf = m->units[m->people[p].unit].forv, pick = -1;
		for (int j = 0; j < m->nsys; j++) {
			struct system *s = &m->sys[order[j]];
			if (s->owner != INT32_MAX)
				continue;
			if (s->forv == pf) {
				pick = order[j];
				break;
			}
			if (pick < 0)
				pick = order[j];
		}
		if (pick >= 0) {
			m->sys[pick].owner = p;
			m->people[p].owns++;
		}
	}
	for (int j = 0; j < m->nsys; j++) {
		struct system *s = &m->sys[order[j]];
		int cand[160], nc2 = 0;
		if (s->owner != INT32_MAX)
			continue;
		for (int p = 0; p < m->npeople && nc2 < 160; p++)
			if (m->units[m->people[p].unit].forv == s->forv)
				cand[nc2++] = p;
		s->owner = nc2 ? cand[rng_below(r, (unsigned)nc2)] : (int)rng_below(r, (unsigned)m->npeople);
		m->people[s->owner].owns++;
	}
	free(order);

}

/* Citizen-facing systems, the few using AI, algorithms, RPA or data
 * matching (line of business only), and their data-ethics assessments. */
static void mark_special(struct muni *m, int nf, int nc, int32_t as_of)
{
	struct rng *r = &m->r;

	{
		int want = rng_range(r, 23, 27), got = 0, guard = 0;
		while (got < want && guard++ < 10000) {
			int i = rng_range(r, nf, m->nsys - 1);
			if (m->sys[i].citizen >= 0)
				continue;
			m->sys[i].citizen = got % 5;
			got++;
		}
	}
	for (int f = 0; f < 4; f++) {
		int want = f == 0 ? 3 : f == 1 ? 3 : f == 2 ? 5 : 4;
		for (int got = 0, guard = 0; got < want && guard < 10000; guard++) {
			struct system *s = &m->sys[rng_range(r, nf + nc, m->nsys - 1)];
			int *flag = f == 0 ? &s->ai : f == 1 ? &s->algo : f == 2 ? &s->rpa : &s->matching;
			if (*flag)
				continue;
			*flag = 1;
			got++;
		}
	}
	/* a data-ethics assessment for about half of those */
	for (int i = 0; i < m->nsys; i++) {
		struct system *s = &m->sys[i];
		if ((s->ai || s->algo || s->matching) && rng_pm(r, 500))
			add_assessment(m, i, 2, as_of - rng_range(r, 30, 700), (int)rng_below(r, 3), 0,
				       "Dataetisk Råds vurderingsskema udfyldt");
	}
}

static void build_systems(struct muni *m, const struct shared *sh, int32_t as_of)
{
	struct rng *r = &m->r;
	int nf = (int)OB_ARRAY_LEN(foundation_sys), nc = (int)OB_ARRAY_LEN(cross_sys);
	int nl = (int)OB_ARRAY_LEN(lob_sys), nw = (int)OB_ARRAY_LEN(dom_words);
	int ns = (int)OB_ARRAY_LEN(dom_suffixes);
	unsigned char used[OB_ARRAY_LEN(dom_words)][OB_ARRAY_LEN(dom_suffixes)];
	int n = 0, nghost = 0, nnone = 0;

	memset(used, 0, sizeof(used));
	m->nsys = rng_range(r, 322, 338);
	m->sys = ob_xcalloc((size_t)m->nsys, sizeof(*m->sys));
	for (int i = 0; i < m->nsys; i++) {
		struct system *s = &m->sys[i];
		const struct sysname *sn = NULL;
		if (i < nf) {
			sn = &foundation_sys[i];
			s->cat = CAT_FOUNDATION;
		} else if (i < nf + nc) {
			sn = &cross_sys[i - nf];
			s->cat = CAT_CROSS;
		} else {
			s->cat = CAT_LOB;
			while (n < nl && rng_pm(r, 120))
				n++; /* not every municipality has every system */
			if (n < nl)
				sn = &lob_sys[n++];
		}
		if (sn) {
			snprintf(s->name, sizeof(s->name), "%s", sn->name);
			s->supplier = sn->supplier;
			s->forv = sn->forv;
		} else {
			int w, x;
			do {
				w = (int)rng_below(r, (unsigned)nw);
				x = (int)rng_below(r, (unsigned)ns);
			} while (used[w][x]);
			used[w][x] = 1;
			snprintf(s->name, sizeof(s->name), "%s %s", dom_words[w].word, dom_suffixes[x]);
			s->supplier = (int)rng_below(r, S_NSUPPLIERS);
			s->forv = dom_words[w].forv;
		}
		uuid_rand(r, s->uuid);
		uuid_named(sh->seed, "it-system", s->name, s->ctx_uuid);
		s->unit = s->cat == CAT_FOUNDATION ? it_unit(m) : pick_unit(m, s->forv, 300, 0);
		s->owner = -1;
		s->contact = rng_pm(r, 350) ? (int)rng_below(r, (unsigned)m->npeople) : -1;
		s->main_contract = -1;
		s->citizen = -1;
		{
			static const int lo[] = {1, 10, 50, 100, 500}, hi[] = {9, 49, 99, 499, 4999};
			int u = s->cat == CAT_FOUNDATION ? 4 : s->cat == CAT_CROSS ? rng_range(r, 2, 4) : rng_range(r, 0, 3);
			s->users_lo = lo[u];
			s->users_hi = hi[u];
		}
		{
			unsigned k = rng_below(r, 1000);
			if (s->cat == CAT_FOUNDATION)
				s->hosted = k < 600 ? 1 : k < 750 ? 2 : 3;
			else
				s->hosted = k < 350 ? 1 : k < 800 ? 2 : 3;
			s->hosted_int = rng_pm(r, 100);
		}
		s->critical = s->cat == CAT_FOUNDATION ? rng_pm(r, 800) : rng_pm(r, 250);
		{
			unsigned k = rng_below(r, 1000);
			if (s->cat != CAT_LOB)
				s->lifecycle = k < 950 ? LC_OPERATIONAL : LC_PHASING_OUT;
			else
				s->lifecycle = k < 830 ? LC_OPERATIONAL : k < 865 ? LC_PHASING_IN
					: k < 910 ? LC_PHASING_OUT : k < 935 ? LC_PILOT
					: k < 965 ? LC_UNDECIDED : LC_NOT_IN_USE;
		}
		{
			unsigned k = rng_below(r, 1000);
			int heavy = s->forv == 0 || s->forv == 1 || s->forv == 4;
			if (s->cat == CAT_FOUNDATION)
				s->pd = k < 500 ? 1 : 0;
			else if (s->cat == CAT_CROSS)
				s->pd = k < 250 ? 0 : k < 750 ? 1 : 2;
			else if (heavy)
				s->pd = k < 100 ? 0 : k < 450 ? 1 : 2;
			else
				s->pd = k < 450 ? 0 : k < 900 ? 1 : 2;
			s->pd_int = rng_pm(r, 80);
		}
		risk_history(m, i, as_of);
		s->dpia = -1;
		s->dpia_date = NO_DATE;
		if (s->pd == 2) {
			if (rng_pm(r, 650)) {
				int32_t d = as_of - rng_range(r, 100, 1500);
				add_assessment(m, i, 1, d, (int)rng_below(r, 3), rng_pm(r, 700) ? 0 : 1, NULL);
				s->dpia = 1;
				s->dpia_date = rng_pm(r, 900) ? d : NO_DATE;
			} else {
				s->dpia = 0;
			}
		} else if (s->pd == 1) {
			s->dpia = rng_pm(r, 500) ? 0 : -1;
		}
		s->dpa_required = s->pd > 0 && s->hosted != 1 ? rng_pm(r, 950) : 0;
		{
			unsigned k = rng_below(r, 1000);
			s->last_review = k < 80 ? NO_DATE
				: k < 280 ? as_of - rng_range(r, 380, 900)
				: k < 330 ? as_of - 365 + rng_range(r, 1, 29)
					  : as_of - rng_range(r, 10, 320);
		}
		/* owners: a few systems without a Systemejer, a few owned by
		 * someone who is no longer among the users */
		if (i >= nf && nnone < 7 && rng_pm(r, 22)) {
			s->owner = -1;
			nnone++;
		} else if (i >= nf && nghost < 4 && rng_pm(r, 11)) {
			s->owner = -2;
			uuid_rand(r, s->ghost_uuid);
			snprintf(s->ghost_name, sizeof(s->ghost_name), "%s %s",
				 first_names[rng_below(r, OB_ARRAY_LEN(first_names))],
				 last_names[rng_below(r, OB_ARRAY_LEN(last_names))]);
			nghost++;
		} else {
			s->owner = INT32_MAX; /* to be chosen */
		}
	}

	assign_owners(m);
	mark_special(m, nf, nc, as_of);
}

static const char *const contract_kinds[] = {
	"licens og vedligehold", "drift og support", "hosting", "SaaS-abonnement", "rammeaftale",
	"udvikling og drift",
};

static int con_has(const struct contract *c, int s)
{
	for (int k = 0; k < c->nsys; k++)
		if (c->sys[k] == s)
			return 1;
	return 0;
}

/* The end of a contract whose notice deadline should fall near day d:
 * d plus the notice period, often moved to the end of its month. */
static int32_t end_for_deadline(struct rng *r, int32_t d, int notice)
{
	int32_t end = add_months(d, notice);
	return rng_pm(r, 600) ? end_of_month(end) : end;
}

/* ~10 line-of-business systems have no contract; every other system is
 * the first system of a contract, or an extra one of a contract of the same
 * supplier when there is one; some contracts cover another system of the
 * same supplier. */
static void cover_systems(struct muni *m)
{
	struct rng *r = &m->r;
	int *cover, ncover = 0, nfree = 0;
	unsigned char *nocon;
	int nf = (int)OB_ARRAY_LEN(foundation_sys);

	cover = ob_xmalloc((size_t)m->nsys * sizeof(int));
	nocon = ob_xcalloc((size_t)m->nsys, 1);
	for (int i = 0; i < m->nsys; i++)
		cover[i] = i;
	rng_shuffle(r, cover, m->nsys);
	for (int j = 0; j < m->nsys; j++) {
		if (cover[j] >= nf + (int)OB_ARRAY_LEN(cross_sys) && nfree < 10) {
			nfree++;
			nocon[cover[j]] = 1;
			continue;
		}
		cover[ncover++] = cover[j];
	}
	for (int i = 0; i < m->ncon; i++) {
		struct contract *c = &m->con[i];
		c->sys[c->nsys++] = cover[i % ncover];
	}
	for (int j = m->ncon; j < ncover; j++) {
		int sup = m->sys[cover[j]].supplier;
		struct contract *c = NULL;
		for (int t = 0; t < 2000; t++) {
			struct contract *x = &m->con[rng_below(r, (unsigned)m->ncon)];
			if (x->nsys >= 3 || con_has(x, cover[j]))
				continue;
			if (c == NULL)
				c = x;
			if (m->sys[x->sys[0]].supplier == sup) {
				c = x;
				break;
			}
		}
		if (c != NULL)
			c->sys[c->nsys++] = cover[j];
	}
	free(cover);
	/* some contracts cover another system of the same supplier */
	for (int i = 0; i < m->ncon; i++) {
		struct contract *c = &m->con[i];
		int sup = m->sys[c->sys[0]].supplier;
		if (c->nsys >= 3 || !rng_pm(r, 200))
			continue;
		for (int t = 0, s; t < 40; t++) {
			s = (int)rng_below(r, (unsigned)m->nsys);
			if (m->sys[s].supplier == sup && !nocon[s] && !con_has(c, s)) {
				c->sys[c->nsys++] = s;
				break;
			}
		}
	}
	free(nocon);
}

static void build_contracts(struct muni *m, int32_t as_of)
{
	struct rng *r = &m->r;
	int *kinds;

	m->ncon = rng_range(r, 292, 308);
	m->con = ob_xcalloc((size_t)m->ncon, sizeof(*m->con));
	kinds = ob_xmalloc((size_t)m->ncon * sizeof(int));
	for (int i = 0; i < m->ncon; i++)
		kinds[i] = i < 15 ? K_EXPIRED : i < 40 ? K_SOON90 : i < 80 ? K_SOON365 : i < 110 ? K_CONTINUOUS : K_LATER;
	rng_shuffle(r, kinds, m->ncon);

	cover_systems(m);

	for (int i = 0; i < m->ncon; i++) {
		struct contract *c = &m->con[i];
		const struct system *s0 = &m->sys[c->sys[0]];
		unsigned k;
		int years;

		uuid_rand(r, c->uuid);
		c->kind = kinds[i];
		c->supplier = s0->supplier;
		c->unit = s0->unit;
		c->dpr = -1;
		snprintf(c->name, sizeof(c->name), "%s – %s", s0->name,
			 contract_kinds[rng_below(r, OB_ARRAY_LEN(contract_kinds))]);
		k = rng_below(r, 1000);
		c->notice = k < 350 ? 3 : k < 750 ? 6 : 12;
		k = rng_below(r, 1000);
		c->by_end = k < 700 ? 0 : k < 900 ? 1 : 2;
		k = rng_below(r, 1000);
		c->ext = k < 400 ? 0 : k < 750 ? 1 : 2;
		c->irrevocable = c->terminated = NO_DATE;
		years = rng_range(r, 2, 6);
		switch (c->kind) {
		case K_EXPIRED:
			c->to = as_of - rng_range(r, 10, 420);
			break;
		case K_SOON90:
			c->to = end_for_deadline(r, as_of + rng_range(r, 5, 55), c->notice);
			break;
		case K_SOON365:
			c->to = end_for_deadline(r, as_of + rng_range(r, 95, 330), c->notice);
			break;
		case K_CONTINUOUS:
			c->to = NO_DATE;
			break;
		default:
			c->to = end_for_deadline(r, as_of + rng_range(r, 400, 2100), c->notice);
			break;
		}
		if (c->to == NO_DATE) {
			c->from = as_of - rng_range(r, 200, 3000);
			k = rng_below(r, 1000);
			if (k < 400)
				c->irrevocable = as_of + rng_range(r, 30, 700);
			else if (k < 600)
				c->irrevocable = add_months(c->from, 24);
		} else {
			c->from = add_months(c->to, -12 * years) + 1;
			if (c->from > as_of - 30)
				c->from = as_of - rng_range(r, 30, 300);
			if (rng_pm(r, 300))
				c->irrevocable = add_months(c->from, 24) - 1;
		}
		c->ext_used = c->ext == 1 ? rng_range(r, 0, 2) : c->ext == 2 ? rng_range(r, 0, 1) : 0;
		snprintf(c->number, sizeof(c->number), "KON-%d-%04d", 1970 + (int)(c->from / 365.2425),
			 (int)rng_range(r, 1, 9999));
		k = rng_below(r, 1000);
		c->segment = k < 150 ? 0 : k < 500 ? 1 : 2;
		c->cost_ore = c->segment == 0   ? (long long)rng_range(r, 100000, 800000) * 1000 + rng_range(r, 0, 99) * 10
			      : c->segment == 1 ? (long long)rng_range(r, 200000, 1500000) * 100 + rng_range(r, 0, 99)
						: (long long)rng_range(r, 10000, 250000) * 100 + (rng_pm(r, 300) ? 50 : 0);
		k = rng_below(r, 1000);
		if (c->kind == K_SOON90)
			c->exit_decision = k < 800 ? 0 : k < 870 ? 1 : k < 930 ? 2 : 3;
		else if (c->kind == K_SOON365)
			c->exit_decision = k < 700 ? 0 : k < 800 ? 1 : k < 900 ? 2 : 3;
		else if (c->kind == K_EXPIRED)
			c->exit_decision = k < 600 ? 0 : k < 800 ? 1 : 2;
		else
			c->exit_decision = k < 880 ? 0 : k < 950 ? 1 : k < 985 ? 2 : 3;
		if (c->exit_decision == 3 && (c->kind == K_SOON90 || c->kind == K_SOON365))
			c->terminated = as_of - rng_range(r, 3, 60);
		c->auto_renewal = (c->kind == K_LATER || c->kind == K_CONTINUOUS || c->kind == K_SOON365) &&
				  rng_pm(r, 70);

		for (int j = 0; j < c->nsys; j++) {
			struct system *s = &m->sys[c->sys[j]];
			if (s->main_contract < 0)
				s->main_contract = i;
			if (c->kind == K_EXPIRED)
				s->lifecycle = LC_OPERATIONAL; /* expired, still in operation */
			if (c->to != NO_DATE && c->to >= as_of && c->to <= as_of + 730)
				s->soon = 1;
		}
	}
	free(kinds);
}

static void build_dprs(struct muni *m, int32_t as_of)
{
	struct rng *r = &m->r;
	int want = rng_range(r, 56, 64);
	int *order = ob_xmalloc((size_t)m->ncon * sizeof(int));

	m->dprs = ob_xcalloc((size_t)want, sizeof(*m->dprs));
	for (int i = 0; i < m->ncon; i++)
		order[i] = i;
	rng_shuffle(r, order, m->ncon);
	for (int j = 0; j < m->ncon && m->ndprs < want; j++) {
		struct contract *c = &m->con[order[j]];
		struct dpr *d = &m->dprs[m->ndprs];
		for (int k = 0; k < c->nsys; k++) {
			struct system *s = &m->sys[c->sys[k]];
			if (s->pd > 0 && s->hosted != 1)
				d->sys[d->nsys++] = c->sys[k];
		}
		if (d->nsys == 0)
			continue;
		uuid_rand(r, d->uuid);
		d->contract = order[j];
		d->supplier = c->supplier;
		snprintf(d->name, sizeof(d->name), "Databehandleraftale med %s om %s", suppliers[c->supplier].name,
			 m->sys[d->sys[0]].name);
		d->concluded = rng_pm(r, 850);
		d->concluded_at = d->concluded ? c->from + rng_range(r, 0, 90) : NO_DATE;
		if (d->concluded_at != NO_DATE && d->concluded_at > as_of)
			d->concluded_at = as_of - 1;
		d->oversight = rng_pm(r, 150) ? NO_DATE : as_of + rng_range(r, -120, 300);
		for (int k = 0; k < d->nsys; k++)
			m->sys[d->sys[k]].dpa_required = 1;
		c->dpr = m->ndprs++;
	}
	free(order);
}

static const char *const incident_titles[] = {
	"Fejlsendt e-mail med personoplysninger", "Uautoriseret adgang til borgerdata",
	"Phishing-mail kompromitterede brugerkonto", "Mistet bærbar computer med lokale data",
	"Fejl i adgangsstyring gav for brede rettigheder", "Datalæk via delt link",
	"Ransomware-forsøg blokeret på server", "Nedbrud i integration; data sendt to gange",
	"Leverandør meldte sikkerhedsbrud hos underdatabehandler", "Forkert borger fik brev i Digital Post",
};

/* ~8 incidents on systems with a risk assessment: about half newer than
 * that assessment (re-assessment due), the rest followed by one. */
static void build_incidents(struct muni *m, int32_t as_of)
{
	struct rng *r = &m->r;
	int want = rng_range(r, 7, 9);

	for (int guard = 0; m->ninc < want && guard < 5000; guard++) {
		int a = (int)rng_below(r, (unsigned)m->nass);
		struct assessment *x = &m->ass[a];
		struct system *s = &m->sys[x->sys];
		struct incident *in;
		int dup = 0;

		if (x->kind != 0 || x->done_on != s->latest_ra || as_of - x->done_on < 40)
			continue;
		for (int k = 0; k < m->ninc; k++)
			dup |= m->inc[k].sys == x->sys;
		if (dup)
			continue;
		in = &m->inc[m->ninc];
		in->sys = x->sys;
		in->severity = (int)rng_below(r, 4);
		in->title = incident_titles[(m->ninc * 3 + rng_below(r, 3)) % OB_ARRAY_LEN(incident_titles)];
		if (m->ninc % 2 == 0) {
			in->on = x->done_on + rng_range(r, 10, as_of - x->done_on - 5);
		} else {
			in->on = x->done_on - rng_range(r, 7, 40);
			x->reason = 2;
			x->note = "Genvurderet efter sikkerhedshændelse";
		}
		m->ninc++;
	}
}

static void build_muni(struct muni *m, const struct shared *sh, unsigned index, int32_t as_of)
{
	struct ob_buf b;
	size_t nn = OB_ARRAY_LEN(muni_names);

	memset(m, 0, sizeof(*m));
	m->index = index;
	m->r.s = mix64(sh->seed ^ mix64(0x6f7665726274696bULL + index));
	if (index < nn)
		snprintf(m->name, sizeof(m->name), "%s Kommune", muni_names[index]);
	else
		snprintf(m->name, sizeof(m->name), "%s %zu Kommune", muni_names[index % nn], index / nn + 1);
	ob_buf_init(&b, 0);
	translit(&b, m->name, '-');
	/* "noerre-vesteraa-kommune" -> "noerre-vesteraa" */
	if (b.len > 8 && strcmp(b.data + b.len - 8, "-kommune") == 0)
		b.data[b.len - 8] = '\0';
	snprintf(m->slug, sizeof(m->slug), "%s", b.data);
	ob_buf_free(&b);
	snprintf(m->cvr, sizeof(m->cvr), "%08u", 29100000u + index * 1013u + rng_below(&m->r, 1000));
	uuid_rand(&m->r, m->uuid);
	build_units(m);
	build_people(m);
	build_systems(m, sh, as_of);
	build_contracts(m, as_of);
	build_dprs(m, as_of);
	build_incidents(m, as_of);
}

/* ----------------------------------------------------------- KITOS JSON */

/* The buffers of the four JSON arrays; `first` says whether an object has
 * been written yet. */
struct jarr {
	struct ob_buf b;
	int any;
};

static void jarr_next(struct jarr *a)
{
	ob_buf_adds(&a->b, a->any ? ",\n" : "[\n");
	a->any = 1;
}

static void jarr_close(struct jarr *a)
{
	ob_buf_adds(&a->b, a->any ? "\n]\n" : "[]\n");
}

static void j_org(struct ob_buf *b, const struct muni *m)
{
	ob_buf_printf(b, "\"organizationContext\":{\"cvr\":\"%s\",\"uuid\":\"%s\",\"name\":", m->cvr, m->uuid);
	j_str(b, m->name);
	ob_buf_adds(b, "}");
}

static void j_role(struct ob_buf *b, const char *user_uuid, const char *user_name, const char *role_uuid,
		   const char *role_name)
{
	ob_buf_adds(b, "{\"user\":");
	j_ref(b, user_uuid, user_name);
	ob_buf_adds(b, ",\"role\":");
	j_ref(b, role_uuid, role_name);
	ob_buf_adds(b, "}");
}

static void write_usage(struct ob_buf *b, const struct muni *m, const struct shared *sh, const struct system *s)
{
	const struct unit *u = &m->units[s->unit];
	int nroles = 0;

	ob_buf_printf(b, "{\"uuid\":\"%s\",\"systemContext\":", s->uuid);
	j_ref(b, s->ctx_uuid, s->name);
	ob_buf_adds(b, ",");
	j_org(b, m);
	ob_buf_adds(b, ",\"general\":{");
	j_kv(b, "localCallName", s->name);
	ob_buf_printf(b, ",\"numberOfExpectedUsers\":{\"lowerBound\":%d,\"upperBound\":%d}", s->users_lo,
		      s->users_hi);
	ob_buf_printf(b, ",\"validity\":{\"valid\":%s,\"lifeCycleStatus\":\"%s\"}",
		      s->lifecycle == LC_OPERATIONAL || s->lifecycle == LC_PHASING_OUT ? "true" : "false",
		      lc_names[s->lifecycle]);
	ob_buf_adds(b, ",\"mainContract\":");
	if (s->main_contract >= 0)
		j_ref(b, m->con[s->main_contract].uuid, m->con[s->main_contract].name);
	else
		ob_buf_adds(b, "null");
	ob_buf_printf(b, ",\"isBusinessCritical\":\"%s\"", s->critical ? "Yes" : "No");
	if (s->hosted_int)
		ob_buf_printf(b, ",\"hostedAt\":%d}", s->hosted);
	else
		ob_buf_printf(b, ",\"hostedAt\":\"%s\"}", hosted_names[s->hosted]);

	ob_buf_adds(b, ",\"roles\":[");
	if (s->owner >= 0) {
		j_role(b, m->people[s->owner].uuid, m->people[s->owner].name, sh->role_owner, "Systemejer");
		nroles++;
	} else if (s->owner == -2) {
		j_role(b, s->ghost_uuid, s->ghost_name, sh->role_owner, "Systemejer");
		nroles++;
	}
	if (s->contact >= 0) {
		if (nroles++)
			ob_buf_adds(b, ",");
		j_role(b, m->people[s->contact].uuid, m->people[s->contact].name, sh->role_contact,
		       "Kontaktperson");
	}
	ob_buf_adds(b, "],\"organizationUsage\":{\"usingOrganizationUnits\":[");
	j_ref(b, u->uuid, u->name);
	ob_buf_adds(b, "],\"responsibleOrganizationUnit\":");
	j_ref(b, u->uuid, u->name);

	ob_buf_adds(b, "},\"gdpr\":{\"dataSensitivityLevels\":");
	if (s->pd_int)
		ob_buf_adds(b, s->pd == 0 ? "[0]" : s->pd == 1 ? "[1]" : "[1,2]");
	else
		ob_buf_adds(b, s->pd == 0 ? "[\"None\"]" : s->pd == 1 ? "[\"PersonData\"]"
								  : "[\"PersonData\",\"SensitiveData\"]");
	ob_buf_printf(b, ",\"riskAssessmentConducted\":\"%s\",\"riskAssessmentConductedDate\":",
		      yn_names[s->ra_conducted]);
	j_date(b, s->ra_date);
	ob_buf_adds(b, ",\"riskAssessmentResult\":");
	if (s->ra_result >= 0)
		ob_buf_printf(b, "\"%s\"", risk_names[s->ra_result]);
	else
		ob_buf_adds(b, "null");
	ob_buf_adds(b, ",\"plannedRiskAssessmentDate\":");
	j_date(b, s->ra_planned);
	ob_buf_adds(b, ",\"dpiaConducted\":");
	if (s->dpia >= 0)
		ob_buf_printf(b, "\"%s\"", yn_names[s->dpia]);
	else
		ob_buf_adds(b, "null");
	ob_buf_adds(b, ",\"dpiaDate\":");
	j_date(b, s->dpia_date);
	ob_buf_printf(b, ",\"isDataProcessingAgreementRequired\":\"%s\"}}", s->dpa_required ? "Yes" : "No");
}

static void write_contract(struct ob_buf *b, const struct muni *m, const struct shared *sh,
			   const struct contract *c, int32_t as_of)
{
	static const char *const ext[] = {"Ingen", "2 x 1 år", "1 x 2 år"};
	static const char *const by_end[] = {"EndOfMonth", "EndOfQuarter", "EndOfCalendarYear"};
	const struct unit *u = &m->units[c->unit];
	int ni = c->notice == 3 ? 0 : c->notice == 6 ? 1 : 2;

	ob_buf_printf(b, "{\"uuid\":\"%s\",", c->uuid);
	j_kv(b, "name", c->name);
	ob_buf_adds(b, ",");
	j_org(b, m);
	ob_buf_adds(b, ",\"general\":{");
	j_kv(b, "contractId", c->number);
	ob_buf_printf(b, ",\"validity\":{\"valid\":%s,\"enforcedValid\":false,\"validFrom\":",
		      c->from <= as_of && (c->to == NO_DATE || c->to >= as_of) ? "true" : "false");
	j_date(b, c->from);
	ob_buf_adds(b, ",\"validTo\":");
	j_date(b, c->to);
	ob_buf_printf(b, "}},\"supplier\":{\"organization\":{\"cvr\":\"%s\",\"uuid\":\"%s\",\"name\":",
		      suppliers[c->supplier].cvr, sh->supplier[c->supplier]);
	j_str(b, suppliers[c->supplier].name);
	ob_buf_adds(b, "}},\"responsible\":{\"organizationUnit\":");
	j_ref(b, u->uuid, u->name);
	ob_buf_adds(b, "},\"systemUsages\":[");
	for (int k = 0; k < c->nsys; k++) {
		if (k)
			ob_buf_adds(b, ",");
		j_ref(b, m->sys[c->sys[k]].uuid, m->sys[c->sys[k]].name);
	}
	ob_buf_adds(b, "],\"dataProcessingRegistrations\":[");
	if (c->dpr >= 0)
		j_ref(b, m->dprs[c->dpr].uuid, m->dprs[c->dpr].name);
	ob_buf_printf(b, "],\"agreementPeriod\":{\"isContinuous\":%s,\"extensionOptions\":",
		      c->to == NO_DATE ? "true" : "false");
	j_ref(b, sh->ext_opt[c->ext], ext[c->ext]);
	ob_buf_printf(b, ",\"extensionOptionsUsed\":%d,\"irrevocableUntil\":", c->ext_used);
	j_date(b, c->irrevocable);
	ob_buf_adds(b, "},\"termination\":{\"terminatedAt\":");
	j_date(b, c->terminated);
	ob_buf_adds(b, ",\"terms\":{\"noticePeriodMonths\":");
	{
		char months[4];
		snprintf(months, sizeof(months), "%d", c->notice);
		j_ref(b, sh->notice_opt[ni], months);
	}
	ob_buf_printf(b, ",\"noticeByEndOf\":\"%s\"}}}", by_end[c->by_end]);
}

static void write_dpr(struct ob_buf *b, const struct muni *m, const struct shared *sh, const struct dpr *d)
{
	const struct contract *c = &m->con[d->contract];

	ob_buf_printf(b, "{\"uuid\":\"%s\",", d->uuid);
	j_kv(b, "name", d->name);
	ob_buf_adds(b, ",");
	j_org(b, m);
	ob_buf_printf(b, ",\"general\":{\"isAgreementConcluded\":\"%s\",\"agreementConcludedAt\":",
		      d->concluded ? "Yes" : "No");
	j_date(b, d->concluded_at);
	ob_buf_printf(b, ",\"validity\":{\"valid\":%s,\"enforceInvalidity\":false}", d->concluded ? "true" : "false");
	ob_buf_printf(b, ",\"transferToInsecureThirdCountries\":\"No\",\"dataProcessors\":[{\"cvr\":\"%s\","
			 "\"uuid\":\"%s\",\"name\":",
		      suppliers[d->supplier].cvr, sh->supplier[d->supplier]);
	j_str(b, suppliers[d->supplier].name);
	ob_buf_adds(b, "}],\"associatedContracts\":[");
	j_ref(b, c->uuid, c->name);
	ob_buf_adds(b, "]},\"systemUsages\":[");
	for (int k = 0; k < d->nsys; k++) {
		if (k)
			ob_buf_adds(b, ",");
		j_ref(b, m->sys[d->sys[k]].uuid, m->sys[d->sys[k]].name);
	}
	ob_buf_adds(b, "],\"oversight\":{\"oversightScheduledInspectionDate\":");
	j_date(b, d->oversight);
	ob_buf_adds(b, "}}");
}

static void write_user(struct ob_buf *b, const struct person *p)
{
	ob_buf_printf(b, "{\"uuid\":\"%s\",", p->uuid);
	j_kv(b, "firstName", p->first);
	ob_buf_adds(b, ",");
	j_kv(b, "lastName", p->last);
	ob_buf_adds(b, ",");
	j_kv(b, "name", p->name);
	ob_buf_adds(b, ",");
	j_kv(b, "email", p->no_email ? "" : p->email);
	ob_buf_adds(b, "}");
}

/* ------------------------------------------------------------------ CSV */

enum { C_UNITS, C_PEOPLE, C_SYSTEMS, C_CONTRACTS, C_ASSESSMENTS, C_INCIDENTS, C_FUTURE, C_TARGET,
       C_SHARED, C_NFILES };
static const char *const csv_files[C_NFILES] = {
	"org_units.csv", "people.csv", "systems.csv", "contracts.csv", "assessments.csv",
	"incidents.csv", "future_picture.csv", "target_picture.csv", "shared_solutions.csv",
};
static const char *const csv_headers[C_NFILES] = {
	"unit_uuid;name;parent_uuid;organisation",
	"person_uuid;name;email;unit_uuid;organisation",
	/* lifecycle_phase, supplier and department_uuid come from KITOS: an
	 * absent column leaves them alone, an empty cell would clear them */
	"system_uuid;category;last_data_review;citizen_facing;ai;algorithmic_decision_support;rpa;"
	"data_matching;organisation",
	"contract_uuid;segment;exit_decision;annual_cost;auto_renewal;organisation",
	"system_uuid;kind;done_on;result;reason;next_due;note;organisation",
	"system_uuid;occurred_on;severity;title;organisation",
	"future_version;adopted_on;need_code;need;organisation",
	"target_version;adopted_on;future_version;action_code;action;change;system_uuids;organisation",
	"solution;maturity;changed_on;organisation",
};
/* the first files as Danish Excel saves them: a BOM and CRLF */
static const int csv_excel[C_NFILES] = {1, 1, 1, 1, 0, 0, 0, 0, 0};

static void csv_units(struct csv *c, const struct muni *m)
{
	for (int i = 0; i < m->nunits; i++) {
		const struct unit *u = &m->units[i];
		csv_f(c, u->uuid);
		csv_f(c, u->name);
		csv_f(c, u->parent >= 0 ? m->units[u->parent].uuid : "");
		csv_f(c, m->cvr);
		csv_end(c);
	}
}

static void csv_people(struct csv *c, const struct muni *m)
{
	for (int i = 0; i < m->npeople; i++) {
		const struct person *p = &m->people[i];
		csv_f(c, p->uuid);
		csv_f(c, p->name);
		csv_f(c, p->no_email ? "" : p->email);
		csv_f(c, m->units[p->unit].uuid);
		csv_f(c, m->cvr);
		csv_end(c);
	}
}

static void csv_systems(struct csv *c, struct muni *m)
{
	for (int i = 0; i < m->nsys; i++) {
		const struct system *s = &m->sys[i];
		int danish = rng_pm(&m->r, 300), yn = rng_pm(&m->r, 200);
		csv_f(c, s->uuid);
		csv_f(c, rng_pm(&m->r, 300) ? cat_da[s->cat] : cat_ids[s->cat]);
		csv_date(c, s->last_review, danish);
		csv_f(c, s->citizen < 0 ? "" : danish ? citizen_da[s->citizen] : citizen_ids[s->citizen]);
		csv_f(c, s->ai ? (yn ? "yes" : "ja") : (yn ? "no" : "nej"));
		csv_f(c, s->algo ? (yn ? "yes" : "ja") : (yn ? "no" : "nej"));
		csv_f(c, s->rpa ? (yn ? "yes" : "ja") : (yn ? "no" : "nej"));
		csv_f(c, s->matching ? (yn ? "yes" : "ja") : (yn ? "no" : "nej"));
		csv_f(c, m->cvr);
		csv_end(c);
	}
}

static void csv_contracts(struct csv *c, const struct muni *m)
{
	static const char *const seg[] = {"A", "B", "C"};
	static const char *const dec[] = {"uafklaret", "forlæng", "genudbud", "opsig"};
	char amount[32];

	for (int i = 0; i < m->ncon; i++) {
		const struct contract *k = &m->con[i];
		csv_f(c, k->uuid);
		csv_f(c, seg[k->segment]);
		csv_f(c, dec[k->exit_decision]);
		dkk_format(k->cost_ore, amount);
		csv_f(c, amount);
		csv_f(c, k->auto_renewal ? "ja" : "nej");
		csv_f(c, m->cvr);
		csv_end(c);
	}
}

static void csv_assessments(struct csv *c, const struct muni *m)
{
	static const char *const kind[] = {"risikovurdering", "konsekvensanalyse", "data_ethics"};
	static const char *const reason[] = {"acquisition", "annual", "incident"};

	for (int i = 0; i < m->nass; i++) {
		const struct assessment *a = &m->ass[i];
		csv_f(c, m->sys[a->sys].uuid);
		csv_f(c, kind[a->kind]);
		csv_date(c, a->done_on, a->danish);
		csv_f(c, risk_csv[a->result]);
		csv_f(c, reason[a->reason]);
		csv_date(c, a->next_due, a->danish);
		csv_f(c, a->note ? a->note : "");
		csv_f(c, m->cvr);
		csv_end(c);
	}
}

static void csv_incidents(struct csv *c, const struct muni *m)
{
	static const char *const sev[] = {"lav", "middel", "høj", "kritisk"};

	for (int i = 0; i < m->ninc; i++) {
		const struct incident *in = &m->inc[i];
		csv_f(c, m->sys[in->sys].uuid);
		csv_date(c, in->on, i % 3 == 1);
		csv_f(c, sev[in->severity]);
		csv_f(c, in->title);
		csv_f(c, m->cvr);
		csv_end(c);
	}
}

/* fremtidsbillede 1.0 (about 3½ years old) and 1.1 (about 15 months) */
struct need {
	const char *code, *v10, *v11; /* NULL: not in that version */
};
static const struct need needs[] = {
	{"B1", "Borgerne skal kunne betjene sig selv digitalt døgnet rundt",
	 "Borgerne skal kunne betjene sig selv digitalt døgnet rundt"},
	{"B2", "Medarbejderne skal have én indgang til sager og dokumenter",
	 "Medarbejderne skal have én indgang til sager, dokumenter og borgerens overblik"},
	{"B3", "Data skal kunne deles sikkert på tværs af forvaltninger",
	 "Data skal kunne deles sikkert på tværs af forvaltninger"},
	{"B4", "Systemerne skal følge den fælleskommunale rammearkitektur",
	 "Systemerne skal følge den fælleskommunale rammearkitektur"},
	{"B5", "Informationssikkerhed og GDPR skal være indbygget fra start",
	 "Informationssikkerhed og GDPR skal være indbygget fra start"},
	{"B6", "Færre systemer med overlappende funktionalitet", "Færre systemer med overlappende funktionalitet"},
	{"B7", "Ledelsesinformation skal være tilgængelig og opdateret",
	 "Ledelsesinformation skal være tilgængelig, opdateret og fælles"},
	{"B8", "Mobile arbejdsgange for medarbejdere i borgernes hjem",
	 "Mobile arbejdsgange for medarbejdere i borgernes hjem"},
	{"B9", "Automatisering (RPA) skal frigøre tid til kerneopgaverne",
	 "Kunstig intelligens og automatisering skal bruges ansvarligt, med dataetisk vurdering"},
	{"B10", "Leverandøruafhængighed og reel mulighed for genudbud",
	 "Leverandøruafhængighed og reel mulighed for genudbud"},
	{"B11", NULL, "Bæredygtig IT-drift: længere levetid og genbrug af udstyr"},
};

static void csv_future(struct csv *c, const struct muni *m, int32_t as_of)
{
	int32_t v10 = as_of - 1278 - (int)(m->index % 17), v11 = as_of - 456 - (int)(m->index % 11);

	for (int v = 0; v < 2; v++)
		for (size_t i = 0; i < OB_ARRAY_LEN(needs); i++) {
			const char *text = v ? needs[i].v11 : needs[i].v10;
			if (text == NULL)
				continue;
			csv_f(c, v ? "1.1" : "1.0");
			csv_date(c, v ? v11 : v10, 0);
			csv_f(c, needs[i].code);
			csv_f(c, text);
			csv_f(c, m->cvr);
			csv_end(c);
		}
}

/* målbillede 1.0 (about 3 years old) and 2.0 (about 14 months, still based
 * on fremtidsbillede 1.0: due) */
enum { PICK_CROSS = -3, PICK_FOUNDATION = -2, PICK_ANY = -1 };
struct action {
	const char *code;
	const char *v10, *v20;     /* NULL: not in that version */
	const char *ch10, *ch20;
	int pick;                  /* a forvaltning, or PICK_* */
	int n;                     /* systems concerned */
};
static const struct action actions[] = {
	{"H1", "Konsolidér ESDH-systemerne på én platform", "Konsolidér ESDH-systemerne på én platform",
	 "consolidate", "consolidate", PICK_CROSS, 3},
	{"H2", "Udfas lokale fildrev til fordel for SharePoint Online",
	 "Udfas lokale fildrev til fordel for SharePoint Online", "phase_out", "phase_out", PICK_FOUNDATION, 2},
	{"H3", "Erstat omsorgssystemet ved kontraktudløb", "Erstat omsorgssystemet ved kontraktudløb", "replace",
	 "replace", 1, 2},
	{"H4", "Anvend Fælleskommunal Adgangsstyring i fagsystemerne",
	 "Anvend Fælleskommunal Adgangsstyring i alle fagsystemer senest ved næste kontraktfornyelse", "align",
	 "align", PICK_ANY, 5},
	{"H5", "Bevar økonomisystemet og tilpas integrationerne til Serviceplatformen",
	 "Bevar økonomisystemet og tilpas integrationerne til Serviceplatformen", "keep", "keep", 3, 2},
	{"H6", "Indfør fælles borgerbooking", "Indfør fælles borgerbooking", "new", "new", 6, 1},
	{"H7", "Udbyd GIS-platformen på ny", "Saml GIS på én fælles platform", "replace", "consolidate", 2, 3},
	{"H8", "Konsolidér skole- og dagtilbudssystemer", "Konsolidér skole- og dagtilbudssystemer",
	 "consolidate", "consolidate", 0, 4},
	{"H9", "Tilpas jobcentrets systemer til beskæftigelsesreformen",
	 "Tilpas jobcentrets systemer til beskæftigelsesreformen", "align", "align", 4, 3},
	{"H10", "Udfas lokale Access-databaser", "Udfas lokale Access-databaser", "phase_out", "phase_out",
	 PICK_ANY, 2},
	{"H11", "Indfør \"digital først\" i Borgerservice; én fælles selvbetjeningsløsning", NULL, "new", NULL, 6, 2},
	{"H12", "Bevar bibliotekssystemet frem til fælleskommunalt indkøb",
	 "Bevar bibliotekssystemet frem til fælleskommunalt indkøb", "keep", "keep", 5, 1},
	{"H13", NULL, "Erstat lønsystemet i forbindelse med genudbud", NULL, "replace", 3, 2},
};

static int pick_ok(const struct system *s, int pick)
{
	if (pick == PICK_CROSS)
		return s->cat == CAT_CROSS;
	if (pick == PICK_FOUNDATION)
		return s->cat == CAT_FOUNDATION;
	if (pick == PICK_ANY)
		return s->cat == CAT_LOB;
	return s->forv == pick;
}

/* Adds up to n systems matching pick to the `have` already in out (none
 * twice), about half of them with a contract that ends within 24 months
 * (an exit is the chance to align). Returns the new count. */
static int pick_systems(struct muni *m, int pick, int have, int n, int out[6])
{
	int got = have, want = have + n, soon_until = have + (n + 1) / 2;

	for (int pass = 0; pass < 2; pass++)
		for (int t = 0; t < 400 && got < want && (pass == 1 || got < soon_until); t++) {
			int i = (int)rng_below(&m->r, (unsigned)m->nsys), dup = 0;
			if (!pick_ok(&m->sys[i], pick) || (pass == 0 && !m->sys[i].soon))
				continue;
			for (int k = 0; k < got; k++)
				dup |= out[k] == i;
			if (!dup)
				out[got++] = i;
		}
	return got;
}

static void csv_target(struct csv *c, struct muni *m, int32_t as_of)
{
	int sel[OB_ARRAY_LEN(actions)][6], nsel[OB_ARRAY_LEN(actions)];
	int32_t v10 = as_of - 1096 - (int)(m->index % 13), v20 = as_of - 426 - (int)(m->index % 7);
	struct ob_buf list;

	for (size_t a = 0; a < OB_ARRAY_LEN(actions); a++)
		nsel[a] = pick_systems(m, actions[a].pick, 0, actions[a].n, sel[a]);
	ob_buf_init(&list, 0);
	for (int v = 0; v < 2; v++)
		for (size_t a = 0; a < OB_ARRAY_LEN(actions); a++) {
			const struct action *x = &actions[a];
			const char *text = v ? x->v20 : x->v10;
			int n = nsel[a];
			if (text == NULL)
				continue;
			if (v == 1 && a == 0) /* H1 concerns one more system in 2.0 */
				n = pick_systems(m, x->pick, n, 1, sel[a]);
			ob_buf_reset(&list);
			for (int k = 0; k < n; k++) {
				if (k)
					ob_buf_addc(&list, '|');
				ob_buf_adds(&list, m->sys[sel[a][k]].uuid);
			}
			csv_f(c, v ? "2.0" : "1.0");
			csv_date(c, v ? v20 : v10, v == 1);
			csv_f(c, "1.0");
			csv_f(c, x->code);
			csv_f(c, text);
			csv_f(c, v ? x->ch20 : x->ch10);
			csv_f(c, list.len ? list.data : "");
			csv_f(c, m->cvr);
			csv_end(c);
		}
	ob_buf_free(&list);
}

/* fælleskommunale løsninger: maturity steps, oldest first, in days before
 * as_of; Borgerblikket went from yellow to green 20 days ago. */
struct solution {
	const char *name;
	const char *maturity[3];
	int ago[3];
	int exact;                 /* the dates are not jittered */
};
static const struct solution solutions[] = {
	{"SAPA", {"rød", "gul", NULL}, {900, 200, 0}, 0},
	{"Borgerblikket", {"rød", "gul", "grøn"}, {700, 300, 20}, 1},
	{"Fælleskommunal Adgangsstyring", {"gul", "grøn", NULL}, {1000, 500, 0}, 0},
	{"Serviceplatformen", {"grøn", NULL, NULL}, {1400, 0, 0}, 0},
	{"Beskedfordeler", {"gul", "grøn", NULL}, {1200, 800, 0}, 0},
	{"Fordelingskomponent", {"gul", "grøn", NULL}, {1100, 650, 0}, 0},
	{"Organisation", {"rød", "gul", NULL}, {1000, 400, 0}, 0},
	{"Støttesystemet Klassifikation", {"gul", NULL, NULL}, {600, 0, 0}, 0},
	{"Digital Post", {"grøn", NULL, NULL}, {1300, 0, 0}, 0},
	{"NemLog-in", {"grøn", NULL, NULL}, {1500, 0, 0}, 0},
	{"MitID Erhverv", {"gul", "grøn", NULL}, {700, 250, 0}, 0},
	{"Ydelsesindeks", {"rød", "gul", NULL}, {800, 120, 0}, 0},
};

static int csv_shared(struct csv *c, struct muni *m, int32_t as_of)
{
	int rows = 0;

	for (size_t i = 0; i < OB_ARRAY_LEN(solutions); i++)
		for (int k = 0; k < 3 && solutions[i].maturity[k]; k++) {
			int32_t d = as_of - solutions[i].ago[k] + (solutions[i].exact ? 0 : rng_range(&m->r, -15, 15));
			csv_f(c, solutions[i].name);
			csv_f(c, solutions[i].maturity[k]);
			csv_date(c, d, k == 1);
			csv_f(c, m->cvr);
			csv_end(c);
			rows++;
		}
	return rows;
}

/* ---------------------------------------------------------------- files */

/* Writes text to dir/name through dir/name.tmp. 0, or -1 with err set. */
static int write_file(const char *dir, const char *name, const struct ob_buf *text, struct ob_err *err)
{
	char *path = ob_path_join(dir, name), *tmp = ob_xasprintf("%s.tmp", path);
	int rc = ob_write_atomic(tmp, path, text->data ? text->data : "", text->len, err);

	free(tmp);
	free(path);
	return rc;
}

static int make_dir(const char *path, struct ob_err *err)
{
	if (ob_mkdir_p(path) < 0) {
		ob_err_set(err, "%s: cannot create the directory: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

struct counts {
	long units, people, no_email, systems, foundation, cross, pd, no_owner, ghost_owner, citizen;
	long contracts, expired, soon90, soon365, continuous, no_contract, dprs, assessments, incidents;
	long needs, actions, shared;
};

static void count_muni(struct counts *n, const struct muni *m)
{
	n->units += m->nunits;
	n->people += m->npeople;
	n->systems += m->nsys;
	n->contracts += m->ncon;
	n->dprs += m->ndprs;
	n->assessments += m->nass;
	n->incidents += m->ninc;
	for (int i = 0; i < m->npeople; i++)
		n->no_email += m->people[i].no_email;
	for (int i = 0; i < m->nsys; i++) {
		const struct system *s = &m->sys[i];
		n->foundation += s->cat == CAT_FOUNDATION;
		n->cross += s->cat == CAT_CROSS;
		n->pd += s->pd > 0;
		n->no_owner += s->owner == -1;
		n->ghost_owner += s->owner == -2;
		n->citizen += s->citizen >= 0;
		n->no_contract += s->main_contract < 0;
	}
	for (int i = 0; i < m->ncon; i++) {
		n->expired += m->con[i].kind == K_EXPIRED;
		n->soon90 += m->con[i].kind == K_SOON90;
		n->soon365 += m->con[i].kind == K_SOON365;
		n->continuous += m->con[i].kind == K_CONTINUOUS;
	}
	for (size_t i = 0; i < OB_ARRAY_LEN(needs); i++)
		n->needs += (needs[i].v10 != NULL) + (needs[i].v11 != NULL);
	for (size_t i = 0; i < OB_ARRAY_LEN(actions); i++)
		n->actions += (actions[i].v10 != NULL) + (actions[i].v20 != NULL);
}

static void readme(struct ob_buf *b, unsigned municipalities, uint64_t seed, int32_t as_of,
		   const struct counts *n, const struct ob_buf *list)
{
	char d[11];

	ob_date_format(as_of, d);
	ob_buf_printf(b,
		      "overblik demo data\n"
		      "==================\n\n"
		      "Written by `overblik demo-data --municipalities %u --seed %llu --as-of %s`.\n"
		      "Every municipality, person, system and contract here is invented; the same\n"
		      "command writes the same files, byte for byte. Dates are placed relative to\n"
		      "as_of %s: run the reports with --as-of %s to see what they were made for.\n\n",
		      municipalities, (unsigned long long)seed, d, d, d);
	ob_buf_adds(b, "Import, in this order:\n"
		       "  overblik import kitos kitos/*.json\n"
		       "  for f in org_units people systems contracts assessments incidents \\\n"
		       "           future_picture target_picture shared_solutions; do\n"
		       "      overblik import csv csv/$f.csv\n"
		       "  done\n\n");
	ob_buf_printf(b,
		      "Counts (all municipalities)\n"
		      "  org units                      %ld\n"
		      "  people                         %ld (%ld without e-mail)\n"
		      "  it-system-usages               %ld (%ld foundation, %ld cross-cutting, %ld with personal data,\n"
		      "                                 %ld citizen-facing, %ld without a Systemejer, %ld whose owner\n"
		      "                                 is not among the users, %ld without a contract)\n"
		      "  it-contracts                   %ld (%ld expired, %ld with notice deadline within 90 days,\n"
		      "                                 %ld within 91-365 days, %ld continuous)\n"
		      "  data-processing-registrations  %ld\n"
		      "  assessments                    %ld\n"
		      "  incidents                      %ld\n"
		      "  future picture needs           %ld (versions 1.0 and 1.1)\n"
		      "  target picture actions         %ld (versions 1.0 and 2.0, both based on 1.0)\n"
		      "  shared solution maturity rows  %ld\n\n",
		      n->units, n->people, n->no_email, n->systems, n->foundation, n->cross, n->pd, n->citizen,
		      n->no_owner, n->ghost_owner, n->no_contract, n->contracts, n->expired, n->soon90, n->soon365,
		      n->continuous, n->dprs, n->assessments, n->incidents, n->needs, n->actions, n->shared);
	ob_buf_adds(b, "Municipalities (name; CVR; KITOS organisation uuid)\n");
	ob_buf_add(b, list->data, list->len);
}

/* ----------------------------------------------------------- the writer */

enum { J_USAGES, J_CONTRACTS, J_DPRS, J_USERS, J_NFILES };
static const char *const json_files[J_NFILES] = {
	"it-system-usages.json", "it-contracts.json", "data-processing-registrations.json",
	"organization-users.json",
};

int ob_demo_write(const char *outdir, unsigned municipalities, uint64_t seed, int32_t as_of,
		  struct ob_err *err)
{
	struct shared sh;
	struct jarr js[J_NFILES];
	struct csv cs[C_NFILES];
	struct ob_buf list, text;
	struct counts n;
	char *kdir = NULL, *cdir = NULL;
	int rc = -1;

	if (municipalities < 1) {
		ob_err_set(err, "demo-data: at least one municipality");
		return -1;
	}
	kdir = ob_path_join(outdir, "kitos");
	cdir = ob_path_join(outdir, "csv");
	if (make_dir(outdir, err) < 0 || make_dir(kdir, err) < 0 || make_dir(cdir, err) < 0) {
		free(kdir);
		free(cdir);
		return -1;
	}
	shared_init(&sh, seed);
	memset(&n, 0, sizeof(n));
	for (int f = 0; f < J_NFILES; f++) {
		ob_buf_init(&js[f].b, 0);
		js[f].any = 0;
	}
	for (int f = 0; f < C_NFILES; f++) {
		csv_init(&cs[f], csv_excel[f], csv_excel[f]);
		csv_header(&cs[f], csv_headers[f]);
	}
	ob_buf_init(&list, 0);
	ob_buf_init(&text, 0);

	for (unsigned i = 0; i < municipalities; i++) {
		struct muni m;

		build_muni(&m, &sh, i, as_of);
		for (int k = 0; k < m.nsys; k++) {
			jarr_next(&js[J_USAGES]);
			write_usage(&js[J_USAGES].b, &m, &sh, &m.sys[k]);
		}
		for (int k = 0; k < m.ncon; k++) {
			jarr_next(&js[J_CONTRACTS]);
			write_contract(&js[J_CONTRACTS].b, &m, &sh, &m.con[k], as_of);
		}
		for (int k = 0; k < m.ndprs; k++) {
			jarr_next(&js[J_DPRS]);
			write_dpr(&js[J_DPRS].b, &m, &sh, &m.dprs[k]);
		}
		for (int k = 0; k < m.npeople; k++) {
			jarr_next(&js[J_USERS]);
			write_user(&js[J_USERS].b, &m.people[k]);
		}
		csv_units(&cs[C_UNITS], &m);
		csv_people(&cs[C_PEOPLE], &m);
		csv_systems(&cs[C_SYSTEMS], &m);
		csv_contracts(&cs[C_CONTRACTS], &m);
		csv_assessments(&cs[C_ASSESSMENTS], &m);
		csv_incidents(&cs[C_INCIDENTS], &m);
		csv_future(&cs[C_FUTURE], &m, as_of);
		csv_target(&cs[C_TARGET], &m, as_of);
		n.shared += csv_shared(&cs[C_SHARED], &m, as_of);
		count_muni(&n, &m);
		ob_buf_printf(&list, "  %s; %s; %s\n", m.name, m.cvr, m.uuid);
		muni_free(&m);
	}

	for (int f = 0; f < J_NFILES; f++) {
		jarr_close(&js[f]);
		if (write_file(kdir, json_files[f], &js[f].b, err) < 0)
			goto out;
	}
	for (int f = 0; f < C_NFILES; f++)
		if (write_file(cdir, csv_files[f], &cs[f].b, err) < 0)
			goto out;
	readme(&text, municipalities, seed, as_of, &n, &list);
	if (write_file(outdir, "README.txt", &text, err) < 0)
		goto out;
	rc = 0;
out:
	for (int f = 0; f < J_NFILES; f++)
		ob_buf_free(&js[f].b);
	for (int f = 0; f < C_NFILES; f++)
		ob_buf_free(&cs[f].b);
	ob_buf_free(&list);
	ob_buf_free(&text);
	free(kdir);
	free(cdir);
	return rc;
}
