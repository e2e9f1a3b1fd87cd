/*
 * ntadns.h - DNSSEC-validating lookups (libunbound) and the NTA 7516 record.
 *
 * Two halves, one module:
 *
 *  dns_*  a validating resolver.  Every answer is in exactly one state
 *         (spec R-FLOW-7): SECURE, INSECURE, BOGUS or TEMPFAIL.  Data of a
 *         BOGUS or TEMPFAIL answer is never handed out (n == 0 always), so a
 *         caller cannot use it by mistake.  Results are allocated by the
 *         lookup and freed with the matching dns_*_free(); the lookup
 *         functions return 0 when a result was produced (in any state) and
 *         a negative value only for local failures (bad arguments, memory),
 *         which callers treat as temporary.
 *
 *  nta_*  the parser and validator of the NTA TXT record (spec section 3,
 *         R-NTA-1..9).  Pure functions over bytes: no DNS, no malloc in
 *         nta_set_eval(), so it can be benchmarked and fuzzed on its own.
 *
 * A resolver is not thread-safe: one per thread (or per process).  It runs
 * libunbound's resolving in a thread of its own, so create it after any
 * fork() / privilege drop, in the process that will use it.
 */
#ifndef NTAMSA_NTADNS_NTADNS_H
#define NTAMSA_NTADNS_NTADNS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/config.h"

/* ------------------------------------------------------------------ DNS */

enum dns_state { DNS_SECURE, DNS_INSECURE, DNS_BOGUS, DNS_TEMPFAIL };

/* "secure", "insecure", "bogus", "tempfail". */
const char *dns_state_name(enum dns_state s);

#define DNS_NAME_MAX	253	/* presentation form, no trailing dot */
#define DNS_WHY_MAX	256
#define DNS_MAX_RRS	32	/* records kept per answer; more are dropped */

/* What every answer carries besides its data. */
struct dns_meta {
	enum dns_state state;
	int rcode;			/* DNS rcode (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN) */
	int nxdomain;			/* the name does not exist */
	int nodata;			/* the name exists, no record of the type */
	uint32_t ttl;			/* as seen (capped, counts down in cache) */
	char qname[DNS_NAME_MAX + 1];	/* asked, lower case, no trailing dot */
	char canon[DNS_NAME_MAX + 1];	/* after CNAMEs ("" when none) */
	char why[DNS_WHY_MAX];		/* why bogus / why tempfail; "" otherwise */
};

struct dns_resolver;

/*
 * Create a validating resolver from c->dns_*.  Refuses (returns -1, err set):
 * no readable trust anchor, a trust anchor that does not load, a
 * validation-weakening dns.unbound_option (val-permissive-mode,
 * domain-insecure, module-config, trust-anchor*, insecure-lan-zones), an
 * option unbound rejects.  Never reads /etc/resolv.conf unless
 * dns.forwarder = resolv.conf.  A writable anchor file in unbound's
 * autotrust format (";; autotrust trust anchor file") is tracked per
 * RFC 5011; any other anchor file (DS or DNSKEY lines) is loaded as is.
 */
int dns_resolver_new(const struct config *c, struct dns_resolver **out,
    char *err, size_t errlen);
void dns_resolver_free(struct dns_resolver *r);

/*
 * TXT: each RR's character-strings concatenated (R-NTA-7).  For R-NTA-4 use
 * orig_ttl when have_orig_ttl; an unsigned answer only shows the cache's
 * TTL (capped at cache-max-ttl, counting down), so a too-high TTL in an
 * unsigned zone is seen at most as 86400.  More than DNS_MAX_RRS records:
 * those starting with "v=NTA" are kept first.
 */
struct dns_txt_rr {
	const unsigned char *data;	/* not NUL-terminated; may hold any byte */
	size_t len;
};
struct dns_txt {
	struct dns_meta m;
	int have_orig_ttl;		/* signed answer: RRSIG original TTL known */
	uint32_t orig_ttl;		/* the published TTL (R-NTA-4) */
	size_t n;
	struct dns_txt_rr rr[DNS_MAX_RRS];
	unsigned char *buf_;		/* storage, private */
};
int dns_lookup_txt(struct dns_resolver *r, const char *name, struct dns_txt **out);
void dns_txt_free(struct dns_txt *t);

/*
 * MX, lowest preference first, equal preferences in random order
 * (RFC 5321 5.1).  No MX but the name exists -> implicit MX: one entry, the
 * domain itself, implicit = 1.  "0 ." alone -> null_mx = 1 (RFC 7505,
 * undeliverable), n = 0.
 */
struct dns_mx_host {
	uint16_t pref;
	char host[DNS_NAME_MAX + 1];
};
struct dns_mx {
	struct dns_meta m;
	int implicit;
	int null_mx;
	size_t n;
	struct dns_mx_host mx[DNS_MAX_RRS];
};
int dns_lookup_mx(struct dns_resolver *r, const char *domain, struct dns_mx **out);
void dns_mx_free(struct dns_mx *m);

/* A and AAAA of one host; state is the weaker of the two answers. */
struct dns_ip {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];
};
struct dns_addrs {
	struct dns_meta m;		/* combined: state/ttl/canon over A+AAAA */
	struct dns_meta a, aaaa;	/* each answer as it came */
	size_t n;
	struct dns_ip ip[DNS_MAX_RRS];
};
int dns_lookup_addrs(struct dns_resolver *r, const char *host, struct dns_addrs **out);
void dns_addrs_free(struct dns_addrs *a);

/* TLSA records at one owner name (e.g. "_25._tcp.mx.example"). */
struct dns_tlsa_rr {
	uint8_t usage, selector, mtype;
	const unsigned char *data;
	size_t len;
};
struct dns_tlsa {
	struct dns_meta m;
	int looked_up;			/* 0: skipped, address records not secure */
	char owner[DNS_NAME_MAX + 1];	/* where the records were found */
	char base[DNS_NAME_MAX + 1];	/* TLSA base domain (RFC 7672 2.2.2) */
	size_t n;
	size_t n_usable;		/* usages 2 (DANE-TA) and 3 (DANE-EE) */
	struct dns_tlsa_rr rr[DNS_MAX_RRS];
	unsigned char *buf_;		/* storage, private */
};
int dns_lookup_tlsa_at(struct dns_resolver *r, const char *owner, struct dns_tlsa **out);

/*
 * RFC 7672 2.2: the TLSA records for an SMTP host, given its address
 * lookup.  Only when addrs->m.state is SECURE is TLSA looked up (else
 * looked_up = 0 and m.state copies the address state).  When the host is a
 * CNAME and the expansion is secure, _PORT._tcp.<target> is tried first,
 * then _PORT._tcp.<host> (2.2.2); base names the one used.
 */
int dns_lookup_tlsa(struct dns_resolver *r, const char *host, uint16_t port,
    const struct dns_addrs *addrs, struct dns_tlsa **out);
void dns_tlsa_free(struct dns_tlsa *t);

/*
 * From a raw DNS answer packet: the largest RRSIG Original TTL over RRsets
 * of type covered in the answer section (R-NTA-4: the published TTL, not
 * the cache's).  0 and *out set when found; -1 when none or malformed.
 */
int dns_wire_rrsig_orig_ttl(const unsigned char *pkt, size_t len,
    uint16_t covered, uint32_t *out);

/* ------------------------------------------------------------------ NTA */

/* Stable reason codes; nta_reason_code() gives the text used in output/logs. */
enum nta_reason {
	NTA_R_OK = 0,
	NTA_R_NO_RECORD,		/* no NTA record published */
	NTA_R_BAD_VERSION,		/* a near-miss tag: a note only, never invalidates */
	NTA_R_BAD_SYNTAX,		/* field order, missing/unknown field, empty field */
	NTA_R_BAD_BYTE,			/* a byte outside the grammar (NUL, SP, 8-bit) */
	NTA_R_QUOTE_CHAR,		/* '"' anywhere (R-NTA-2) */
	NTA_R_TRAILING_SEMICOLON,	/* ';' at the end */
	NTA_R_BAD_DATE,			/* not YYYY-MM with month 01..12 */
	NTA_R_END_BEFORE_START,
	NTA_R_NOT_YET_VALID,		/* startdate after the evaluation month */
	NTA_R_EXPIRED,			/* enddate before the evaluation month */
	NTA_R_BAD_PROVIDER,
	NTA_R_BAD_NTAMX,
	NTA_R_TOO_MANY_RECORDS,		/* more than 2 (R-NTA-3) */
	NTA_R_OVERLAP,			/* periods overlap (R-NTA-3) */
	NTA_R_TTL_TOO_HIGH,		/* > 86400 (R-NTA-4) */
	NTA_R_PROVIDER_NOT_CERTIFIED,	/* R-NTA-9 */
	NTA_R_TOO_LONG,			/* beyond this implementation's bounds */
	NTA_R__COUNT
};
const char *nta_reason_code(enum nta_reason r);	/* "bad-date" ... */
const char *nta_reason_sentence(enum nta_reason r);	/* one English sentence */

#define NTA_TTL_MAX		86400u
#define NTA_MAX_RECORDS		2	/* allowed at one domain (R-NTA-3) */
#define NTA_SET_KEEP		4	/* NTA records kept for reporting */
#define NTA_MAX_NTAMX		16
#define NTA_PROVIDER_MAX	255
#define NTA_REASONS_MAX		6
#define NTA_DETAIL_MAX		160
#define NTA_RECORD_MAX		4096	/* longer NTA records: too-long */

struct nta_date { int year, month, day; };

/* The Dutch local date (Europe/Amsterdam, EU summer time rules) of t. */
struct nta_date nta_date_of(time_t t);
/* Parse "YYYY-MM-DD"; 0 ok, -1 otherwise. */
int nta_date_parse(const char *s, struct nta_date *out);

struct nta_reason_item {
	enum nta_reason code;
	char detail[NTA_DETAIL_MAX];	/* names the exact problem, may be "" */
};

struct nta_mx {
	uint16_t prio;
	char host[DNS_NAME_MAX + 1];
};

enum nta_rec_status { NTA_REC_VALID, NTA_REC_INVALID, NTA_REC_OUTSIDE };

struct nta_record {
	enum nta_rec_status status;	/* OUTSIDE: well-formed, not for this date */
	int start_y, start_m, end_y, end_m;
	char provider[NTA_PROVIDER_MAX + 1];
	size_t n_mx;
	struct nta_mx mx[NTA_MAX_NTAMX];	/* in record order */
	size_t n_reasons;
	struct nta_reason_item reasons[NTA_REASONS_MAX];
};

/* Allow-list of certified provider= values (R-NTA-9); opaque. */
struct nta_providers;
/*
 * One value per line, '#' comments, blank lines and surrounding blanks
 * skipped.  -1 + err on error, also for an entry longer than
 * NTA_PROVIDER_MAX (no provider= can match it).  Used by `nta check` and the
 * delivery policy alike, so both read the file the same way.
 */
int nta_providers_load(const char *path, struct nta_providers **out,
    char *err, size_t errlen);
int nta_providers_has(const struct nta_providers *p, const char *value, size_t len);
size_t nta_providers_count(const struct nta_providers *p);
void nta_providers_free(struct nta_providers *p);

/* One TXT record as published: its concatenated strings and the RRset TTL. */
struct nta_txt {
	const unsigned char *data;
	size_t len;
};

struct nta_eval_opts {
	struct nta_date at;			/* evaluation date (Dutch local) */
	int check_ttl;				/* 1: apply ttl (R-NTA-4) */
	uint32_t ttl;				/* published TTL of the TXT RRset */
	const struct nta_providers *certified;	/* NULL: not checked */
};

enum nta_verdict { NTA_NONE, NTA_VALID, NTA_INVALID };
const char *nta_verdict_name(enum nta_verdict v);	/* "none" "valid" "invalid" */

struct nta_set {
	enum nta_verdict verdict;
	size_t n_records;		/* NTA records counted (ignored ones not) */
	size_t n_ignored;		/* other TXT records */
	size_t n_near_miss;		/* ignored, but look like a broken NTA tag */
	size_t current;			/* index in rec[] of the record in force (VALID) */
	size_t n_kept;			/* min(n_records, NTA_SET_KEEP) */
	struct nta_record rec[NTA_SET_KEEP];
	size_t n_reasons;		/* set-level reasons (and a near-miss note) */
	struct nta_reason_item reasons[NTA_REASONS_MAX];
};

/*
 * Parse and validate one published TXT RRset.  Never allocates.  The
 * verdict is VALID only when every NTA record parses, the set rules hold,
 * and one record covers opts->at.  Returns the verdict.
 */
enum nta_verdict nta_set_eval(struct nta_set *s, const struct nta_txt *txt,
    size_t n, const struct nta_eval_opts *o);

/* The first reason that makes the set invalid (NTA_R_OK when valid). */
enum nta_reason nta_set_first_reason(const struct nta_set *s);

/*
 * The hosts NTA mail goes to (R-NTA-6): the current record's ntamx hosts,
 * lowest priority first, equal priorities shuffled.  Returns how many were
 * written to out (0 = "use MX").
 */
size_t nta_set_hosts(const struct nta_set *s, struct nta_mx *out, size_t cap);

/*
 * Concatenate the character-strings of one TXT RDATA (wire form:
 * len,bytes,len,bytes...).  Returns the length written or -1 when the
 * RDATA is malformed or does not fit outcap.
 */
long nta_txt_concat(const unsigned char *rdata, size_t rdlen,
    unsigned char *out, size_t outcap);

/* ------------------------------------------------ the channel, per DNS */

/* What DNS alone decides for health mail (R-FLOW-2..4). */
enum nta_channel {
	NTA_CH_DANE, NTA_CH_BIJLAGE_C, NTA_CH_BIJLAGE_B, NTA_CH_PORTAL,
	NTA_CH_DEFERRED			/* bogus / tempfail somewhere: retry later */
};
const char *nta_channel_name(enum nta_channel c);	/* "dane" "bijlage-c" ... */

/*
 * The channel for one mail host: txt_state is the NTA TXT answer's state,
 * verdict the NTA verdict, hosts_state the state of the answer that named
 * the host (the TXT for ntamx hosts, else the MX answer), addrs/tlsa the
 * host's lookups (tlsa may be NULL when not looked up).
 */
enum nta_channel nta_channel_for_host(enum dns_state txt_state,
    enum nta_verdict verdict, enum dns_state hosts_state,
    const struct dns_addrs *addrs, const struct dns_tlsa *tlsa);

#endif
