/*
 * policy.h - the per-recipient NTA 7516 decision (spec section 2, R-FLOW-1..9).
 *
 * Pure functions, no I/O: the deliver worker gathers DNS facts (facts.h),
 * asks for a plan, connects host by host, reports the TLS facts of each
 * connection back for judgement, and asks what to do after failures.
 *
 *   out_policy_plan()           DNS facts -> ordered hosts, each with the
 *                               channel it must satisfy and how to verify it
 *                               (or portal / defer / bounce for the recipient)
 *   out_policy_judge()          TLS facts of one connection vs. its host's
 *                               requirement -> pass / fail, with the reason
 *   out_policy_after_failure()  nothing passed -> retry, portal or bounce
 *   out_policy_decide()         the three composed: one function from
 *                               (classification, DNS facts, TLS facts) to a
 *                               channel, as the spec draws it (unit tests)
 *
 * Nothing here is secret or message content; reasons are fixed tokens
 * fit for logs and the audit trail (out_reason_name()).
 */
#ifndef NTAMSA_OUTBOUND_POLICY_H
#define NTAMSA_OUTBOUND_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/config.h"

/* Hard caps (one place): hosts per recipient domain, TLSA and addresses per host. */
#define OUT_HOSTS_MAX 16
#define OUT_TLSA_MAX 16
#define OUT_TLSA_DATA_MAX 64		/* SHA2-512 digest; a usable record with full
					 * data (matching type 0) makes the TLSA
					 * answer count as tempfail: never a downgrade */
#define OUT_ADDRS_MAX 8
#define OUT_HOSTNAME_MAX 254		/* 253 octets + NUL */
#define OUT_ADDRSTR_MAX 46		/* INET6_ADDRSTRLEN */
#define OUT_PROVIDER_MAX 256
#define OUT_NTA_MAX_AGE 86400		/* R-FLOW-8: older NTA answers never used */

/* Channel names as in DESIGN.md; OUT_CH_NONE = not delivered (defer/bounce). */
enum out_channel {
	OUT_CH_NONE = 0,
	OUT_CH_REGULAR,
	OUT_CH_DANE,
	OUT_CH_BIJLAGE_C,
	OUT_CH_BIJLAGE_B,
	OUT_CH_PORTAL,
};

/* "regular", "dane", "bijlage-c", "bijlage-b", "portal", "none". */
const char *out_channel_name(enum out_channel ch);

/* True for dane, bijlage-c, bijlage-b: the NTA channels (X-NTA7516, R-HDR-2). */
int out_channel_is_nta(enum out_channel ch);

/* Per-answer DNSSEC state (R-FLOW-7); mirrors ntadns's enum dns_state. */
enum out_dns {
	OUT_DNS_SECURE = 0,
	OUT_DNS_INSECURE,
	OUT_DNS_BOGUS,
	OUT_DNS_TEMPFAIL,
};

/* What happens to the recipient. */
enum out_action {
	OUT_ACT_DELIVER = 0,	/* try plan->host[] in order */
	OUT_ACT_PORTAL,		/* portal channel now */
	OUT_ACT_DEFER,		/* temporary: 4xx, retry later */
	OUT_ACT_BOUNCE,		/* permanent: DSN (plan->status, e.g. 5.1.10) */
};
const char *out_action_name(enum out_action a);

/* How a host's TLS must be verified. */
enum out_verify {
	OUT_VERIFY_OPPORTUNISTIC = 0,	/* regular: STARTTLS when offered, else plain */
	OUT_VERIFY_TLS_UNAUTH,		/* regular, all TLSA unusable: TLS mandatory, no auth */
	OUT_VERIFY_DANE,		/* TLSA 2/3 in host->tlsa[]; NTA TLS settings on dane channel */
	OUT_VERIFY_PKIX_HOST,		/* bijlage-c: chain to outbound.ca_file + host name */
	OUT_VERIFY_PKIX_OU,		/* bijlage-b: chain to nta.bijlage_b_ca_file (else
					 * outbound.ca_file) + leaf OU in nta.ou_markers */
};
const char *out_verify_name(enum out_verify v);

/* Reason codes: fixed tokens for logs/audit.  Keep out_reason_name() in step. */
enum out_reason {
	OUT_R_OK = 0,
	OUT_R_NOT_HEALTH,		/* R-FLOW-1: regular mail */
	OUT_R_NO_NTA_RECORD,		/* R-FLOW-2: portal */
	OUT_R_NTA_INVALID,		/* R-FLOW-3: set does not validate at attempt date */
	OUT_R_NTA_PROVIDER_UNCERTIFIED,	/* R-NTA-9: provider= not on the list */
	OUT_R_NTA_STALE,		/* R-FLOW-8: answer older than 86400 s */
	OUT_R_TXT_BOGUS,		/* R-FLOW-7: defer, never a downgrade */
	OUT_R_TXT_TEMPFAIL,
	OUT_R_MX_BOGUS,
	OUT_R_MX_TEMPFAIL,
	OUT_R_NULL_MX,			/* R-FLOW-9: bounce 556 5.1.10 */
	OUT_R_NO_DOMAIN,		/* NXDOMAIN / no MX and no address: bounce 5.1.2 */
	OUT_R_NO_HOSTS,			/* no usable host in the list */
	OUT_R_SECURE_DANE,		/* host has usable secure TLSA */
	OUT_R_SECURE_NO_TLSA,		/* TLSA securely absent -> bijlage-c */
	OUT_R_ADDR_INSECURE,		/* host zone unsigned -> bijlage-c, no TLSA lookup */
	OUT_R_TLSA_UNUSABLE,		/* only 0/1 TLSA -> bijlage-c (health), TLS-unauth (regular) */
	OUT_R_TLSA_INSECURE,		/* TLSA answer insecure: treated as absent */
	OUT_R_DOMAIN_INSECURE,		/* NTA answer not secure -> bijlage-b */
	OUT_R_ADDR_BOGUS,		/* host temporary failure */
	OUT_R_ADDR_TEMPFAIL,
	OUT_R_TLSA_BOGUS,
	OUT_R_TLSA_TEMPFAIL,
	OUT_R_OPPORTUNISTIC,		/* regular host without TLSA */
	/* judgement of a connection */
	OUT_R_CONNECT_FAILED,		/* no TCP / no banner / 4xx before TLS */
	OUT_R_NO_STARTTLS,		/* STARTTLS missing where mandatory */
	OUT_R_TLS_FAILED,		/* handshake failed */
	OUT_R_TLS_VERSION,		/* below TLS 1.2 on an NTA channel */
	OUT_R_DANE_MISMATCH,		/* security event */
	OUT_R_DANE_NOT_ENABLED,		/* no TLSA record was added: DANE silently off */
	OUT_R_PKIX_FAILED,		/* chain / expiry */
	OUT_R_HOSTNAME_MISMATCH,
	OUT_R_OU_MISMATCH,		/* no OU equal to a marker (or empty marker list) */
	OUT_R_NO_OU_MARKERS,		/* nta.ou_markers empty: Bijlage B can never pass */
	OUT_R_NO_8BITMIME,		/* 8bit message, receiver lacks 8BITMIME (R-HDR-3) */
	/* after failures */
	OUT_R_RETRY,			/* keep trying */
	OUT_R_PORTAL_AFTER,		/* health, secure channel failed for nta.portal_after */
	OUT_R_LIFETIME,			/* queue lifetime expired: bounce */
	OUT_R_PERMANENT,		/* 5xx from the receiver: bounce */
	OUT_R__COUNT
};
const char *out_reason_name(enum out_reason r);

/* A TLSA record (RFC 6698) as seen in DNS. */
struct out_tlsa {
	uint8_t usage, selector, mtype;
	uint8_t len;
	uint8_t data[OUT_TLSA_DATA_MAX];
};

/* One mail host as gathered (facts.c) for the policy. */
struct out_host_facts {
	char name[OUT_HOSTNAME_MAX];
	uint16_t pref;
	enum out_dns addr_state;	/* combined A+AAAA: worst of the two */
	size_t n_addr;
	char addr[OUT_ADDRS_MAX][OUT_ADDRSTR_MAX];
	int tlsa_looked_up;		/* only when addr_state is secure (RFC 7672 2.2) */
	enum out_dns tlsa_state;	/* valid when tlsa_looked_up */
	size_t n_tlsa;			/* 0 with tlsa_state secure = securely absent */
	struct out_tlsa tlsa[OUT_TLSA_MAX];
	char tlsa_base[OUT_HOSTNAME_MAX];	/* TLSA base domain (RFC 7672 2.2.2):
						 * DANE-TA reference identifier
						 * besides name */
};

enum out_nta {
	OUT_NTA_ABSENT = 0,	/* no record of this version (R-FLOW-2) */
	OUT_NTA_INVALID,	/* present but the set does not validate (R-FLOW-3) */
	OUT_NTA_VALID,		/* valid at the attempt date */
};

/* DNS facts about one recipient domain, gathered at one attempt. */
struct out_dns_facts {
	time_t fetched;			/* when the TXT answer was obtained */
	enum out_dns txt_state;
	enum out_nta nta;
	char nta_why[64];		/* ntadns's reason token when invalid */
	char provider[OUT_PROVIDER_MAX];	/* provider= of the valid record */
	enum out_dns mx_state;
	int domain_exists;		/* 0 = NXDOMAIN for the domain itself */
	int null_mx;			/* RFC 7505 */
	size_t n_ntamx;			/* hosts from ntamx=, priority order */
	struct out_host_facts ntamx[OUT_HOSTS_MAX];
	size_t n_mx;			/* MX hosts, preference order (implicit MX
					 * = the domain itself, pref 0) */
	struct out_host_facts mx[OUT_HOSTS_MAX];
};

/* The message side of the decision. */
struct out_msg_facts {
	int health;			/* classifier verdict (R-FLOW-1) */
	int eightbit;			/* message needs 8BITMIME */
	time_t first_attempt;
	time_t now;			/* the attempt date (R-FLOW-8) */
};

/* Policy configuration; out_policy_cfg_init() fills it from struct config. */
struct nta_providers;
struct out_policy_cfg {
	int certified_set;		/* nta.certified_providers configured */
	struct nta_providers *certified;	/* exact provider= values (ntadns) */
	int64_t portal_after;		/* seconds */
	int64_t queue_lifetime;		/* seconds */
	const struct config_list *ou_markers;	/* borrowed from struct config */
	const struct config_list *compliant;	/* nta.compliant_domain */
};

/*
 * Fill from config; reads nta.certified_providers (one provider id per line,
 * '#' comments).  Logs at start-up when provider= goes unchecked (R-NTA-9)
 * or Bijlage B can never pass (no nta.ou_markers).  0 OK, -1 with err set.
 * Free with out_policy_cfg_free().
 */
int out_policy_cfg_init(struct out_policy_cfg *pc, const struct config *c,
    char *err, size_t errlen);
void out_policy_cfg_free(struct out_policy_cfg *pc);

/* One host of the plan, in the order to try. */
struct out_hop {
	const struct out_host_facts *host;	/* points into the dns facts given */
	enum out_channel channel;	/* what this host must satisfy */
	enum out_verify verify;
	enum out_reason reason;		/* why this channel / why skipped */
	int skip;			/* temporary failure before connecting
					 * (bogus/tempfail address or TLSA) */
	size_t n_tlsa;			/* DANE: the usable records only: usage 2/3,
					 * selector 0/1, matching type 0..2 */
	const struct out_tlsa *tlsa[OUT_TLSA_MAX];
};

struct out_plan {
	enum out_action action;
	enum out_reason reason;
	int provider_unchecked;		/* R-NTA-9: audit "provider-unchecked" */
	const char *status;		/* enhanced status for defer/bounce ("4.4.3", "5.1.10") */
	int smtp_code;			/* 451 / 556 / 550 for defer/bounce */
	size_t n_hop;
	struct out_hop hop[OUT_HOSTS_MAX];
};

/*
 * Phase 1: plan from DNS facts.  The plan borrows from df: keep df alive
 * while using it.  Always fills *plan; returns 0, or -1 on bad arguments.
 */
int out_policy_plan(const struct out_policy_cfg *pc, const struct out_msg_facts *m,
    const struct out_dns_facts *df, struct out_plan *plan);

/* TLS facts of one connection attempt, reported by the SMTP client. */
struct out_tls_facts {
	int connected;			/* TCP + 220 banner */
	int starttls_offered;
	int tls;			/* handshake completed */
	int tls_version;		/* OpenSSL TLS1_2_VERSION, TLS1_3_VERSION, ... */
	int eightbitmime;		/* receiver advertises 8BITMIME */
	int dane_tlsa_added;		/* SSL_dane_tlsa_add successes */
	int dane_authority;		/* SSL_get0_dane_authority(): >= 0 = DANE verified */
	int pkix_ok;			/* chain verified against the channel's trust store */
	int host_ok;			/* X509_VERIFY_PARAM_set1_host check passed */
	int ou_ok;			/* out_policy_ou_match() on the leaf's OUs */
};

enum out_judgement { OUT_PASS = 0, OUT_FAIL = 1 };

/* Phase 2: judge one connection against its hop; *why says the failure. */
enum out_judgement out_policy_judge(const struct out_hop *hop,
    const struct out_msg_facts *m, const struct out_tls_facts *t,
    enum out_reason *why);

/*
 * Bijlage B OU rule: 1 when one of the leaf's OU values (ous[0..n)) equals
 * one of the markers byte for byte; an empty marker list always fails.
 */
int out_policy_ou_match(const char *const *ous, size_t n,
    const struct config_list *markers);

/* What to do when no host passed this attempt. */
enum out_next {
	OUT_NEXT_RETRY = 0,
	OUT_NEXT_PORTAL,
	OUT_NEXT_BOUNCE,
};

/*
 * Phase 3, when no host passed this attempt (or the plan said DEFER).
 *   permanent: the receiver answered 5xx -> bounce.
 *   ch/fail: the channel and reason of the failure.  Pass the first
 *     certificate-level failure of the attempt if there was one, else the
 *     last failure.  Bijlage B is "any step fails -> portal" (R-FLOW-4): a
 *     bijlage-b certificate failure (PKIX, OU) sends health mail to the
 *     portal at once.
 *   Health mail whose secure channel kept failing temporarily (hosts:
 *   connect, TLS, DANE, PKIX, a bogus/failed host address or TLSA) goes to
 *   the portal once now - first_attempt >= portal_after.  A bogus/failed
 *   answer for the domain itself (TXT, MX) or a stale NTA answer is never
 *   turned into the portal (R-FLOW-7 "deferred, never downgraded").
 *   Anything else bounces at the queue lifetime, else retries.
 * *why gets the reason.
 */
enum out_next out_policy_after_failure(const struct out_policy_cfg *pc,
    const struct out_msg_facts *m, enum out_channel ch, enum out_reason fail,
    int permanent, enum out_reason *why);

/* True for reasons that are security events (a DANE mismatch). */
int out_reason_is_security_event(enum out_reason r);

/*
 * The whole flow in one pure function (spec section 2): plan, then judge
 * tls[i] for plan hop i in order (tls[i] NULL or beyond n_tls = not tried
 * this attempt / connection failed), then decide after failure.  Returns
 * the channel delivered on (or OUT_CH_PORTAL), or OUT_CH_NONE with
 * *action DEFER or BOUNCE.  *why gets the deciding reason.
 */
enum out_channel out_policy_decide(const struct out_policy_cfg *pc,
    const struct out_msg_facts *m, const struct out_dns_facts *df,
    const struct out_tls_facts *const *tls, size_t n_tls,
    enum out_action *action, enum out_reason *why);

/*
 * R-HDR-1: the sending domain is compliant when it is listed in
 * nta.compliant_domain (case-insensitive) or sender_df (its own DNS facts,
 * may be NULL) shows a valid NTA record from a secure-or-insecure answer.
 */
int out_policy_sender_compliant(const struct out_policy_cfg *pc,
    const char *domain, const struct out_dns_facts *sender_df, time_t now);

#endif
