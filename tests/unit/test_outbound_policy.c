/*
 * test_outbound_policy.c - the R-FLOW decision as a table: every branch of
 * outbound/policy.c is one row, "got X, want Y".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ntadns/ntadns.h"
#include "outbound/policy.h"

/* Host presets: what DNS says about one mail host. */
enum hk {
	H_END = 0,
	H_DANE,		/* addr secure, TLSA secure, 3 1 1 */
	H_MIXED,	/* addr secure, TLSA 1 and 2: usable */
	H_NOTLSA,	/* addr secure, TLSA securely absent */
	H_UNUSABLE,	/* addr secure, TLSA 0/1 only */
	H_TLSA_INSEC,	/* addr secure, TLSA answer insecure */
	H_ADDR_INSEC,	/* host zone unsigned */
	H_ADDR_BOGUS,
	H_ADDR_TEMP,
	H_TLSA_BOGUS,
	H_TLSA_TEMP,
	H_NOLOOKUP,	/* addr secure but TLSA never looked up */
	H_BADPARAM,	/* TLSA 3 2 1 and 2 0 9: unknown selector / matching type */
};

/* TLS presets: what one connection showed. */
enum tk {
	T_NOCONN = 0,	/* NULL: connection failed / not tried */
	T_PLAIN,	/* connected, no STARTTLS */
	T_TLSFAIL,	/* STARTTLS offered, handshake failed */
	T_NOAUTH,	/* TLS 1.3, nothing verified */
	T_DANE_OK,
	T_DANE_BAD,	/* records added, DANE failed, PKIX fine */
	T_DANE_OFF,	/* no record added, PKIX fine */
	T_PKIX_OK,	/* chain + host name */
	T_PKIX_BADHOST,
	T_PKIX_BAD,
	T_OU_OK,	/* chain + OU marker */
	T_OU_BAD,
	T_TLS11,	/* everything verified but TLS 1.1 */
	T_NO8BIT,	/* everything verified, no 8BITMIME */
	T__N
};

static const struct out_tls_facts tls_presets[T__N] = {
	[T_PLAIN] = {.connected = 1, .eightbitmime = 1},
	[T_TLSFAIL] = {.connected = 1, .starttls_offered = 1, .eightbitmime = 1},
	[T_NOAUTH] = {.connected = 1, .starttls_offered = 1, .tls = 1,
	    .tls_version = 0x0304, .eightbitmime = 1, .dane_authority = -1},
	[T_DANE_OK] = {.connected = 1, .starttls_offered = 1, .tls = 1,
	    .tls_version = 0x0304, .eightbitmime = 1, .dane_tlsa_added = 1,
	    .dane_authority = 0},
	[T_DANE_BAD] = {.connected = 1, .starttls_offered = 1, .tls = 1,
	    .tls_version = 0x0304, .eightbitmime = 1, .dane_tlsa_added = 1,
	    .dane_authority = -1, .pkix_ok = 1, .host_ok = 1},
	[T_DANE_OFF] = {.connected = 1, .starttls_offered = 1, .tls = 1,
	    .tls_version = 0x0304, .eightbitmime = 1, .dane_tlsa_added = 0,
	    .dane_authority = -1, .pkix_ok = 1, .host_ok = 1},
	[T_PKIX_OK] = {.connected = 1, .starttls_offered = 1, .tls = 1,
	    .tls_version = 0x0303, .eightbitmime = 1, .dane_authority = -1,
	    .pkix_ok = 1, .host_ok = 1},
	[T_PKIX_BADHOST] = {.connected = 1, .starttls_offered = 1, .tls = 1,
	    .tls_version = 0x0303, .eightbitmime = 1, .dane_authority = -1,
	    .pkix_ok = 1, .host_ok = 0},
	[T_PKIX_BAD] = {.connected = 1, .starttls_offered = 1, .tls = 1,
	    .tls_version = 0x0303, .eightbitmime = 1, .dane_authority = -1,
	    .pkix_ok = 0, .host_ok = 1, .ou_ok = 1},
	[T_OU_OK] = {.connected = 1, .starttls_offered = 1, .tls = 1,
	    .tls_version = 0x0304, .eightbitmime = 1, .dane_authority = -1,
	    .pkix_ok = 1, .ou_ok = 1},
	[T_OU_BAD] = {.connected = 1, .starttls_offered = 1, .tls = 1,
	    .tls_version = 0x0304, .eightbitmime = 1, .dane_authority = -1,
	    .pkix_ok = 1, .host_ok = 1, .ou_ok = 0},
	[T_TLS11] = {.connected = 1, .starttls_offered = 1, .tls = 1,
	    .tls_version = 0x0302, .eightbitmime = 1, .dane_tlsa_added = 1,
	    .dane_authority = 0, .pkix_ok = 1, .host_ok = 1, .ou_ok = 1},
	[T_NO8BIT] = {.connected = 1, .starttls_offered = 1, .tls = 1,
	    .tls_version = 0x0304, .eightbitmime = 0, .dane_tlsa_added = 1,
	    .dane_authority = 0, .pkix_ok = 1, .host_ok = 1, .ou_ok = 1},
};

#define HOUR 3600
#define NOW 1800000000

struct row {
	const char *name;
	int health, eightbit;
	enum out_dns txt;
	enum out_nta nta;
	int certified;		/* 0 unset, 1 set + listed, 2 set, not listed */
	int markers;		/* 0 = empty nta.ou_markers */
	int stale;		/* TXT fetched > 86400 s ago */
	enum out_dns mx;
	int null_mx, nxdomain;
	enum hk ntamx[4], mxh[4];
	enum tk tls[4];
	int64_t age;		/* now - first_attempt */
	enum out_channel want_ch;
	enum out_action want_act;
	enum out_reason want_why;
};

static const struct row rows[] = {
	/* ---- R-FLOW-1: not health -> regular over the normal MX ---- */
	{.name = "reg-opportunistic-plain", .mxh = {H_ADDR_INSEC}, .tls = {T_PLAIN},
	    .want_ch = OUT_CH_REGULAR, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_OPPORTUNISTIC},
	{.name = "reg-tls-handshake-fails-still-opportunistic", .mxh = {H_NOTLSA}, .tls = {T_TLSFAIL},
	    .want_ch = OUT_CH_REGULAR, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_OPPORTUNISTIC},
	{.name = "reg-connect-failed-defer", .mxh = {H_ADDR_INSEC}, .tls = {T_NOCONN},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_CONNECT_FAILED},
	{.name = "reg-dane-enforced-pass", .mxh = {H_DANE}, .tls = {T_DANE_OK},
	    .want_ch = OUT_CH_REGULAR, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_SECURE_DANE},
	{.name = "reg-dane-enforced-mismatch", .mxh = {H_DANE}, .tls = {T_DANE_BAD},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_DANE_MISMATCH},
	{.name = "reg-dane-enforced-no-starttls", .mxh = {H_DANE}, .tls = {T_PLAIN},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_NO_STARTTLS},
	{.name = "reg-dane-mixed-usable", .mxh = {H_MIXED}, .tls = {T_DANE_BAD},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_DANE_MISMATCH},
	{.name = "reg-unusable-tls-mandatory-plain", .mxh = {H_UNUSABLE}, .tls = {T_PLAIN},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_NO_STARTTLS},
	{.name = "reg-unusable-tls-mandatory-handshake", .mxh = {H_UNUSABLE}, .tls = {T_TLSFAIL},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_TLS_FAILED},
	{.name = "reg-unusable-tls-unauth-pass", .mxh = {H_UNUSABLE}, .tls = {T_NOAUTH},
	    .want_ch = OUT_CH_REGULAR, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_TLSA_UNUSABLE},
	{.name = "reg-mx-insecure-no-dane", .mx = OUT_DNS_INSECURE, .mxh = {H_DANE}, .tls = {T_PLAIN},
	    .want_ch = OUT_CH_REGULAR, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_OPPORTUNISTIC},
	{.name = "reg-tlsa-insecure-opportunistic", .mxh = {H_TLSA_INSEC}, .tls = {T_PLAIN},
	    .want_ch = OUT_CH_REGULAR, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_OPPORTUNISTIC},
	{.name = "reg-mx-bogus", .mx = OUT_DNS_BOGUS, .mxh = {H_ADDR_INSEC}, .tls = {T_PLAIN},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_MX_BOGUS},
	{.name = "reg-mx-tempfail", .mx = OUT_DNS_TEMPFAIL, .tls = {T_PLAIN},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_MX_TEMPFAIL},
	{.name = "reg-null-mx-bounce", .null_mx = 1,
	    .want_act = OUT_ACT_BOUNCE, .want_why = OUT_R_NULL_MX},
	{.name = "reg-nxdomain-bounce", .nxdomain = 1,
	    .want_act = OUT_ACT_BOUNCE, .want_why = OUT_R_NO_DOMAIN},
	{.name = "reg-no-hosts-defer",
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_NO_HOSTS},
	{.name = "reg-ignores-ntamx", .ntamx = {H_DANE}, .mxh = {H_ADDR_INSEC}, .tls = {T_PLAIN},
	    .want_ch = OUT_CH_REGULAR, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_OPPORTUNISTIC},
	{.name = "reg-tlsa-bogus-host-skipped", .mxh = {H_TLSA_BOGUS, H_ADDR_INSEC},
	    .tls = {T_DANE_OK, T_PLAIN},
	    .want_ch = OUT_CH_REGULAR, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_OPPORTUNISTIC},
	{.name = "reg-tlsa-bogus-only-host", .mxh = {H_TLSA_BOGUS}, .tls = {T_PLAIN},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_TLSA_BOGUS},
	{.name = "reg-tlsa-tempfail", .mxh = {H_TLSA_TEMP}, .tls = {T_PLAIN},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_TLSA_TEMPFAIL},
	{.name = "reg-addr-bogus", .mxh = {H_ADDR_BOGUS}, .tls = {T_PLAIN},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_ADDR_BOGUS},
	{.name = "reg-addr-tempfail", .mxh = {H_ADDR_TEMP}, .tls = {T_PLAIN},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_ADDR_TEMPFAIL},
	{.name = "reg-lifetime-bounce", .mxh = {H_ADDR_INSEC}, .tls = {T_NOCONN}, .age = 6 * 24 * HOUR,
	    .want_act = OUT_ACT_BOUNCE, .want_why = OUT_R_LIFETIME},
	{.name = "reg-not-portal-after-4h", .mxh = {H_ADDR_INSEC}, .tls = {T_NOCONN}, .age = 5 * HOUR,
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_CONNECT_FAILED},

	/* ---- R-FLOW-2/3/7/8, R-NTA-9: the NTA record ---- */
	{.name = "h-no-record-portal", .health = 1, .nta = OUT_NTA_ABSENT, .mxh = {H_DANE},
	    .tls = {T_DANE_OK},
	    .want_ch = OUT_CH_PORTAL, .want_act = OUT_ACT_PORTAL, .want_why = OUT_R_NO_NTA_RECORD},
	{.name = "h-nxdomain-bounce", .health = 1, .nxdomain = 1,
	    .want_act = OUT_ACT_BOUNCE, .want_why = OUT_R_NO_DOMAIN},
	{.name = "h-invalid-portal", .health = 1, .nta = OUT_NTA_INVALID, .mxh = {H_DANE},
	    .tls = {T_DANE_OK},
	    .want_ch = OUT_CH_PORTAL, .want_act = OUT_ACT_PORTAL, .want_why = OUT_R_NTA_INVALID},
	{.name = "h-txt-bogus-defer", .health = 1, .txt = OUT_DNS_BOGUS, .nta = OUT_NTA_VALID,
	    .mxh = {H_DANE}, .tls = {T_DANE_OK},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_TXT_BOGUS},
	{.name = "h-txt-tempfail-defer", .health = 1, .txt = OUT_DNS_TEMPFAIL, .nta = OUT_NTA_VALID,
	    .mxh = {H_DANE}, .tls = {T_DANE_OK},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_TXT_TEMPFAIL},
	{.name = "h-txt-bogus-no-portal-after-4h", .health = 1, .txt = OUT_DNS_BOGUS, .age = 4 * HOUR,
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_TXT_BOGUS},
	{.name = "h-txt-tempfail-no-portal-after-4h", .health = 1, .txt = OUT_DNS_TEMPFAIL,
	    .age = 4 * HOUR, .want_act = OUT_ACT_DEFER, .want_why = OUT_R_TXT_TEMPFAIL},
	{.name = "h-mx-bogus-no-portal-after-4h", .health = 1, .nta = OUT_NTA_VALID,
	    .mx = OUT_DNS_BOGUS, .age = 4 * HOUR, .want_act = OUT_ACT_DEFER, .want_why = OUT_R_MX_BOGUS},
	{.name = "h-txt-bogus-lifetime-bounce", .health = 1, .txt = OUT_DNS_BOGUS,
	    .age = 5 * 24 * HOUR, .want_act = OUT_ACT_BOUNCE, .want_why = OUT_R_LIFETIME},
	{.name = "h-tlsa-bogus-portal-after", .health = 1, .nta = OUT_NTA_VALID,
	    .mxh = {H_TLSA_BOGUS}, .age = 4 * HOUR,
	    .want_ch = OUT_CH_PORTAL, .want_act = OUT_ACT_PORTAL, .want_why = OUT_R_PORTAL_AFTER},
	{.name = "h-stale-answer-defer", .health = 1, .nta = OUT_NTA_VALID, .stale = 1,
	    .mxh = {H_DANE}, .tls = {T_DANE_OK},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_NTA_STALE},
	{.name = "h-provider-not-certified", .health = 1, .nta = OUT_NTA_VALID, .certified = 2,
	    .mxh = {H_DANE}, .tls = {T_DANE_OK},
	    .want_ch = OUT_CH_PORTAL, .want_act = OUT_ACT_PORTAL,
	    .want_why = OUT_R_NTA_PROVIDER_UNCERTIFIED},
	{.name = "h-provider-certified-dane", .health = 1, .nta = OUT_NTA_VALID, .certified = 1,
	    .mxh = {H_DANE}, .tls = {T_DANE_OK},
	    .want_ch = OUT_CH_DANE, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_SECURE_DANE},

	/* ---- R-FLOW-4 yes: per host ---- */
	{.name = "h-dane", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_DANE}, .tls = {T_DANE_OK},
	    .want_ch = OUT_CH_DANE, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_SECURE_DANE},
	{.name = "h-dane-mixed-usages", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_MIXED},
	    .tls = {T_DANE_OK},
	    .want_ch = OUT_CH_DANE, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_SECURE_DANE},
	{.name = "h-dane-mismatch-no-fallback-to-c", .health = 1, .nta = OUT_NTA_VALID,
	    .mxh = {H_DANE}, .tls = {T_DANE_BAD},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_DANE_MISMATCH},
	{.name = "h-dane-not-enabled", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_DANE},
	    .tls = {T_DANE_OFF},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_DANE_NOT_ENABLED},
	{.name = "h-dane-no-starttls", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_DANE},
	    .tls = {T_PLAIN},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_NO_STARTTLS},
	{.name = "h-dane-mismatch-next-host-c", .health = 1, .nta = OUT_NTA_VALID,
	    .mxh = {H_DANE, H_NOTLSA}, .tls = {T_DANE_BAD, T_PKIX_OK},
	    .want_ch = OUT_CH_BIJLAGE_C, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_SECURE_NO_TLSA},
	{.name = "h-dane-mismatch-portal-after", .health = 1, .nta = OUT_NTA_VALID,
	    .mxh = {H_DANE}, .tls = {T_DANE_BAD}, .age = 4 * HOUR,
	    .want_ch = OUT_CH_PORTAL, .want_act = OUT_ACT_PORTAL, .want_why = OUT_R_PORTAL_AFTER},
	{.name = "h-c-tlsa-absent", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_NOTLSA},
	    .tls = {T_PKIX_OK},
	    .want_ch = OUT_CH_BIJLAGE_C, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_SECURE_NO_TLSA},
	{.name = "h-c-addr-insecure", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_ADDR_INSEC},
	    .tls = {T_PKIX_OK},
	    .want_ch = OUT_CH_BIJLAGE_C, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_ADDR_INSECURE},
	{.name = "h-c-tlsa-unusable", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_UNUSABLE},
	    .tls = {T_PKIX_OK},
	    .want_ch = OUT_CH_BIJLAGE_C, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_TLSA_UNUSABLE},
	{.name = "h-c-tlsa-unknown-params-unusable", .health = 1, .nta = OUT_NTA_VALID,
	    .mxh = {H_BADPARAM}, .tls = {T_PKIX_OK},
	    .want_ch = OUT_CH_BIJLAGE_C, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_TLSA_UNUSABLE},
	{.name = "h-c-tlsa-insecure", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_TLSA_INSEC},
	    .tls = {T_PKIX_OK},
	    .want_ch = OUT_CH_BIJLAGE_C, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_TLSA_INSECURE},
	{.name = "h-c-hostname-mismatch", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_NOTLSA},
	    .tls = {T_PKIX_BADHOST},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_HOSTNAME_MISMATCH},
	{.name = "h-c-pkix-failed", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_NOTLSA},
	    .tls = {T_PKIX_BAD},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_PKIX_FAILED},
	{.name = "h-c-no-starttls", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_NOTLSA},
	    .tls = {T_PLAIN},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_NO_STARTTLS},
	{.name = "h-c-handshake-failed", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_NOTLSA},
	    .tls = {T_TLSFAIL},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_TLS_FAILED},
	{.name = "h-c-tls11-refused", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_NOTLSA},
	    .tls = {T_TLS11},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_TLS_VERSION},
	{.name = "h-c-8bit-needs-8bitmime", .health = 1, .eightbit = 1, .nta = OUT_NTA_VALID,
	    .mxh = {H_NOTLSA}, .tls = {T_NO8BIT},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_NO_8BITMIME},
	{.name = "h-c-7bit-without-8bitmime-ok", .health = 1, .nta = OUT_NTA_VALID,
	    .mxh = {H_NOTLSA}, .tls = {T_NO8BIT},
	    .want_ch = OUT_CH_BIJLAGE_C, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_SECURE_NO_TLSA},
	{.name = "h-tlsa-bogus-defer", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_TLSA_BOGUS},
	    .tls = {T_PKIX_OK},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_TLSA_BOGUS},
	{.name = "h-tlsa-tempfail-defer", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_TLSA_TEMP},
	    .tls = {T_PKIX_OK},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_TLSA_TEMPFAIL},
	{.name = "h-tlsa-not-looked-up-defer", .health = 1, .nta = OUT_NTA_VALID,
	    .mxh = {H_NOLOOKUP}, .tls = {T_PKIX_OK},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_TLSA_TEMPFAIL},
	{.name = "h-addr-bogus-defer", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_ADDR_BOGUS},
	    .tls = {T_PKIX_OK},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_ADDR_BOGUS},
	{.name = "h-addr-tempfail-defer", .health = 1, .nta = OUT_NTA_VALID, .mxh = {H_ADDR_TEMP},
	    .tls = {T_PKIX_OK},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_ADDR_TEMPFAIL},
	{.name = "h-tlsa-bogus-next-host-dane", .health = 1, .nta = OUT_NTA_VALID,
	    .mxh = {H_TLSA_BOGUS, H_DANE}, .tls = {T_PKIX_OK, T_DANE_OK},
	    .want_ch = OUT_CH_DANE, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_SECURE_DANE},
	{.name = "h-mx-bogus-defer", .health = 1, .nta = OUT_NTA_VALID, .mx = OUT_DNS_BOGUS,
	    .mxh = {H_DANE}, .tls = {T_DANE_OK},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_MX_BOGUS},
	{.name = "h-mx-tempfail-defer", .health = 1, .nta = OUT_NTA_VALID, .mx = OUT_DNS_TEMPFAIL,
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_MX_TEMPFAIL},
	{.name = "h-null-mx-bounce", .health = 1, .nta = OUT_NTA_VALID, .null_mx = 1,
	    .want_act = OUT_ACT_BOUNCE, .want_why = OUT_R_NULL_MX},
	/* R-FLOW-9: a null MX is a DSN, not the portal, also without a (valid)
	 * NTA record: the portal's notification could not be delivered either. */
	{.name = "h-no-record-null-mx-bounce", .health = 1, .nta = OUT_NTA_ABSENT, .null_mx = 1,
	    .want_act = OUT_ACT_BOUNCE, .want_why = OUT_R_NULL_MX},
	{.name = "h-invalid-record-null-mx-bounce", .health = 1, .nta = OUT_NTA_INVALID,
	    .null_mx = 1, .want_act = OUT_ACT_BOUNCE, .want_why = OUT_R_NULL_MX},
	{.name = "h-uncertified-null-mx-bounce", .health = 1, .nta = OUT_NTA_VALID, .certified = 2,
	    .null_mx = 1, .want_act = OUT_ACT_BOUNCE, .want_why = OUT_R_NULL_MX},
	{.name = "h-no-hosts-defer", .health = 1, .nta = OUT_NTA_VALID,
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_NO_HOSTS},
	{.name = "h-no-host-passes-defer", .health = 1, .nta = OUT_NTA_VALID,
	    .mxh = {H_NOTLSA, H_DANE}, .tls = {T_NOCONN, T_NOCONN}, .age = 3 * HOUR,
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_CONNECT_FAILED},

	/* ---- R-FLOW-9 / R-NTA-6: ntamx ---- */
	{.name = "h-ntamx-preferred-over-mx", .health = 1, .nta = OUT_NTA_VALID,
	    .ntamx = {H_NOTLSA}, .mxh = {H_DANE}, .tls = {T_PKIX_OK},
	    .want_ch = OUT_CH_BIJLAGE_C, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_SECURE_NO_TLSA},
	{.name = "h-ntamx-first-down-second", .health = 1, .nta = OUT_NTA_VALID,
	    .ntamx = {H_DANE, H_NOTLSA}, .tls = {T_NOCONN, T_PKIX_OK},
	    .want_ch = OUT_CH_BIJLAGE_C, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_SECURE_NO_TLSA},
	{.name = "h-ntamx-despite-null-mx", .health = 1, .nta = OUT_NTA_VALID, .null_mx = 1,
	    .ntamx = {H_DANE}, .tls = {T_DANE_OK},
	    .want_ch = OUT_CH_DANE, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_SECURE_DANE},
	{.name = "h-ntamx-mx-bogus-irrelevant", .health = 1, .nta = OUT_NTA_VALID,
	    .mx = OUT_DNS_BOGUS, .ntamx = {H_DANE}, .tls = {T_DANE_OK},
	    .want_ch = OUT_CH_DANE, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_SECURE_DANE},

	/* ---- R-FLOW-4 no: Bijlage B ---- */
	{.name = "h-b-ou-ok", .health = 1, .txt = OUT_DNS_INSECURE, .nta = OUT_NTA_VALID,
	    .markers = 1, .mx = OUT_DNS_INSECURE, .mxh = {H_ADDR_INSEC}, .tls = {T_OU_OK},
	    .want_ch = OUT_CH_BIJLAGE_B, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_DOMAIN_INSECURE},
	{.name = "h-b-ou-mismatch-portal-now", .health = 1, .txt = OUT_DNS_INSECURE,
	    .nta = OUT_NTA_VALID, .markers = 1, .mxh = {H_ADDR_INSEC}, .tls = {T_OU_BAD},
	    .want_ch = OUT_CH_PORTAL, .want_act = OUT_ACT_PORTAL, .want_why = OUT_R_OU_MISMATCH},
	{.name = "h-b-pkix-failed-portal-now", .health = 1, .txt = OUT_DNS_INSECURE,
	    .nta = OUT_NTA_VALID, .markers = 1, .mxh = {H_ADDR_INSEC}, .tls = {T_PKIX_BAD},
	    .want_ch = OUT_CH_PORTAL, .want_act = OUT_ACT_PORTAL, .want_why = OUT_R_PKIX_FAILED},
	{.name = "h-b-no-markers-portal", .health = 1, .txt = OUT_DNS_INSECURE,
	    .nta = OUT_NTA_VALID, .markers = 0, .mxh = {H_ADDR_INSEC}, .tls = {T_OU_OK},
	    .want_ch = OUT_CH_PORTAL, .want_act = OUT_ACT_PORTAL, .want_why = OUT_R_NO_OU_MARKERS},
	{.name = "h-b-no-starttls-defer", .health = 1, .txt = OUT_DNS_INSECURE,
	    .nta = OUT_NTA_VALID, .markers = 1, .mxh = {H_ADDR_INSEC}, .tls = {T_PLAIN},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_NO_STARTTLS},
	{.name = "h-b-connect-failed-portal-after", .health = 1, .txt = OUT_DNS_INSECURE,
	    .nta = OUT_NTA_VALID, .markers = 1, .mxh = {H_ADDR_INSEC}, .tls = {T_NOCONN},
	    .age = 4 * HOUR,
	    .want_ch = OUT_CH_PORTAL, .want_act = OUT_ACT_PORTAL, .want_why = OUT_R_PORTAL_AFTER},
	{.name = "h-b-addr-bogus-defer", .health = 1, .txt = OUT_DNS_INSECURE,
	    .nta = OUT_NTA_VALID, .markers = 1, .mxh = {H_ADDR_BOGUS}, .tls = {T_OU_OK},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_ADDR_BOGUS},
	{.name = "h-b-txt-secure-mx-insecure", .health = 1, .nta = OUT_NTA_VALID, .markers = 1,
	    .mx = OUT_DNS_INSECURE, .mxh = {H_DANE}, .tls = {T_OU_OK},
	    .want_ch = OUT_CH_BIJLAGE_B, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_DOMAIN_INSECURE},
	{.name = "h-b-ntamx-txt-insecure", .health = 1, .txt = OUT_DNS_INSECURE,
	    .nta = OUT_NTA_VALID, .markers = 1, .ntamx = {H_DANE}, .tls = {T_OU_OK},
	    .want_ch = OUT_CH_BIJLAGE_B, .want_act = OUT_ACT_DELIVER, .want_why = OUT_R_DOMAIN_INSECURE},
	{.name = "h-b-tls11-refused", .health = 1, .txt = OUT_DNS_INSECURE,
	    .nta = OUT_NTA_VALID, .markers = 1, .mxh = {H_ADDR_INSEC}, .tls = {T_TLS11},
	    .want_act = OUT_ACT_DEFER, .want_why = OUT_R_TLS_VERSION},
};

static void
host_fill(struct out_host_facts *h, enum hk k, int i)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "mx%d.example.test", i);
	h->pref = (uint16_t)(10 * (i + 1));
	h->n_addr = 1;
	snprintf(h->addr[0], sizeof(h->addr[0]), "127.0.60.%d", i + 1);
	h->addr_state = OUT_DNS_SECURE;
	h->tlsa_looked_up = 1;
	h->tlsa_state = OUT_DNS_SECURE;
	switch (k) {
	case H_DANE:
		h->n_tlsa = 1;
		h->tlsa[0] = (struct out_tlsa){.usage = 3, .selector = 1, .mtype = 1, .len = 32};
		break;
	case H_MIXED:
		h->n_tlsa = 2;
		h->tlsa[0] = (struct out_tlsa){.usage = 1, .selector = 1, .mtype = 1, .len = 32};
		h->tlsa[1] = (struct out_tlsa){.usage = 2, .selector = 0, .mtype = 1, .len = 32};
		break;
	case H_UNUSABLE:
		h->n_tlsa = 2;
		h->tlsa[0] = (struct out_tlsa){.usage = 0, .selector = 1, .mtype = 1, .len = 32};
		h->tlsa[1] = (struct out_tlsa){.usage = 1, .selector = 1, .mtype = 1, .len = 32};
		break;
	case H_TLSA_INSEC: h->tlsa_state = OUT_DNS_INSECURE; break;
	case H_ADDR_INSEC: h->addr_state = OUT_DNS_INSECURE; h->tlsa_looked_up = 0; break;
	case H_ADDR_BOGUS: h->addr_state = OUT_DNS_BOGUS; h->n_addr = 0; h->tlsa_looked_up = 0; break;
	case H_ADDR_TEMP: h->addr_state = OUT_DNS_TEMPFAIL; h->n_addr = 0; h->tlsa_looked_up = 0; break;
	case H_TLSA_BOGUS: h->tlsa_state = OUT_DNS_BOGUS; break;
	case H_TLSA_TEMP: h->tlsa_state = OUT_DNS_TEMPFAIL; break;
	case H_NOLOOKUP: h->tlsa_looked_up = 0; break;
	case H_BADPARAM:
		h->n_tlsa = 2;
		h->tlsa[0] = (struct out_tlsa){.usage = 3, .selector = 2, .mtype = 1, .len = 32};
		h->tlsa[1] = (struct out_tlsa){.usage = 2, .selector = 0, .mtype = 9, .len = 32};
		break;
	default: break;
	}
}

static size_t
hosts_fill(struct out_host_facts *out, const enum hk *k)
{
	size_t n = 0;

	while (n < 4 && k[n] != H_END) {
		host_fill(&out[n], k[n], (int)n);
		n++;
	}
	return n;
}

static struct config_list one_marker = {.n = 1, .v = {"NTA7516-gecertificeerd"}};
static struct config_list no_markers = {.n = 0};
static struct nta_providers *cert_list;	/* "kenmerkNTAsysteem" (group setup) */

/* A providers file with body, loaded through ntadns as the policy does. */
static struct nta_providers *
providers_from(const char *body, char *path, size_t cap)
{
	struct nta_providers *p = NULL;
	char err[256];
	int fd;

	snprintf(path, cap, "/tmp/ntamsa-cert-XXXXXX");
	if ((fd = mkstemp(path)) < 0)
		return NULL;
	if (write(fd, body, strlen(body)) != (ssize_t)strlen(body) ||
	    nta_providers_load(path, &p, err, sizeof(err)) != 0)
		p = NULL;
	close(fd);
	return p;
}

static int
group_setup(void **state)
{
	char path[64];

	(void)state;
	cert_list = providers_from("kenmerkNTAsysteem\n", path, sizeof(path));
	unlink(path);
	return cert_list != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	nta_providers_free(cert_list);
	return 0;
}

static void
setup_row(const struct row *r, struct out_policy_cfg *pc, struct out_msg_facts *m,
    struct out_dns_facts *df)
{
	memset(pc, 0, sizeof(*pc));
	pc->portal_after = 4 * HOUR;
	pc->queue_lifetime = 5 * 24 * HOUR;
	pc->ou_markers = r->markers ? &one_marker : &no_markers;
	if (r->certified) {
		pc->certified_set = 1;
		pc->certified = cert_list;
	}
	memset(m, 0, sizeof(*m));
	m->health = r->health;
	m->eightbit = r->eightbit;
	m->now = NOW;
	m->first_attempt = NOW - r->age;
	memset(df, 0, sizeof(*df));
	df->fetched = r->stale ? NOW - OUT_NTA_MAX_AGE - 1 : NOW;
	df->txt_state = r->txt;
	df->nta = r->nta;
	snprintf(df->provider, sizeof(df->provider), "%s",
	    r->certified == 2 ? "someoneElse" : "kenmerkNTAsysteem");
	df->mx_state = r->mx;
	df->domain_exists = !r->nxdomain;
	df->null_mx = r->null_mx;
	df->n_ntamx = hosts_fill(df->ntamx, r->ntamx);
	df->n_mx = hosts_fill(df->mx, r->mxh);
}

static void
test_table(void **state)
{
	size_t i, j, failures = 0;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct out_policy_cfg pc;
		struct out_msg_facts m;
		static struct out_dns_facts df;
		const struct out_tls_facts *tls[4];
		enum out_action act;
		enum out_reason why;
		enum out_channel ch;

		setup_row(r, &pc, &m, &df);
		for (j = 0; j < 4; j++)
			tls[j] = r->tls[j] == T_NOCONN ? NULL : &tls_presets[r->tls[j]];
		ch = out_policy_decide(&pc, &m, &df, tls, 4, &act, &why);
		if (ch != r->want_ch || act != r->want_act || why != r->want_why) {
			fprintf(stderr, "%s: got %s/%s/%s, want %s/%s/%s\n", r->name,
			    out_channel_name(ch), out_action_name(act), out_reason_name(why),
			    out_channel_name(r->want_ch), out_action_name(r->want_act),
			    out_reason_name(r->want_why));
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* The plan itself: order, verification mode, usable TLSA only, audit flag. */
static void
test_plan_details(void **state)
{
	struct row r = {.health = 1, .nta = OUT_NTA_VALID, .mxh = {H_MIXED, H_ADDR_INSEC, H_TLSA_BOGUS}};
	struct out_policy_cfg pc;
	struct out_msg_facts m;
	static struct out_dns_facts df;
	struct out_plan p;

	(void)state;
	setup_row(&r, &pc, &m, &df);
	assert_int_equal(out_policy_plan(&pc, &m, &df, &p), 0);
	assert_int_equal(p.action, OUT_ACT_DELIVER);
	assert_int_equal(p.provider_unchecked, 1);	/* R-NTA-9 audit */
	assert_int_equal(p.n_hop, 3);
	assert_ptr_equal(p.hop[0].host, &df.mx[0]);
	assert_int_equal(p.hop[0].channel, OUT_CH_DANE);
	assert_int_equal(p.hop[0].verify, OUT_VERIFY_DANE);
	assert_int_equal(p.hop[0].n_tlsa, 1);		/* the 1 x x record dropped */
	assert_int_equal(p.hop[0].tlsa[0]->usage, 2);
	assert_int_equal(p.hop[1].channel, OUT_CH_BIJLAGE_C);
	assert_int_equal(p.hop[1].verify, OUT_VERIFY_PKIX_HOST);
	assert_int_equal(p.hop[2].skip, 1);
	assert_int_equal(p.hop[2].reason, OUT_R_TLSA_BOGUS);

	r = (struct row){.health = 1, .nta = OUT_NTA_VALID, .certified = 1, .mxh = {H_DANE}};
	setup_row(&r, &pc, &m, &df);
	assert_int_equal(out_policy_plan(&pc, &m, &df, &p), 0);
	assert_int_equal(p.provider_unchecked, 0);

	r = (struct row){.health = 1, .nta = OUT_NTA_VALID, .null_mx = 1};
	setup_row(&r, &pc, &m, &df);
	assert_int_equal(out_policy_plan(&pc, &m, &df, &p), 0);
	assert_int_equal(p.action, OUT_ACT_BOUNCE);
	assert_int_equal(p.smtp_code, 556);
	assert_string_equal(p.status, "5.1.10");

	r = (struct row){.txt = OUT_DNS_INSECURE, .nta = OUT_NTA_VALID, .health = 1,
	    .markers = 1, .mxh = {H_ADDR_INSEC}};
	setup_row(&r, &pc, &m, &df);
	assert_int_equal(out_policy_plan(&pc, &m, &df, &p), 0);
	assert_int_equal(p.hop[0].verify, OUT_VERIFY_PKIX_OU);

	r = (struct row){.mxh = {H_UNUSABLE}};
	setup_row(&r, &pc, &m, &df);
	assert_int_equal(out_policy_plan(&pc, &m, &df, &p), 0);
	assert_int_equal(p.hop[0].verify, OUT_VERIFY_TLS_UNAUTH);

	r = (struct row){.mx = OUT_DNS_BOGUS};
	setup_row(&r, &pc, &m, &df);
	assert_int_equal(out_policy_plan(&pc, &m, &df, &p), 0);
	assert_int_equal(p.action, OUT_ACT_DEFER);
	assert_int_equal(p.smtp_code / 100, 4);
}

static void
test_after_failure(void **state)
{
	struct out_policy_cfg pc = {.portal_after = 4 * HOUR, .queue_lifetime = 5 * 24 * HOUR};
	struct out_msg_facts m = {.health = 1, .now = NOW, .first_attempt = NOW - HOUR};
	enum out_reason why;

	(void)state;
	assert_int_equal(out_policy_after_failure(&pc, &m, OUT_CH_DANE,
	    OUT_R_CONNECT_FAILED, 1, &why), OUT_NEXT_BOUNCE);
	assert_int_equal(why, OUT_R_PERMANENT);
	assert_int_equal(out_policy_after_failure(&pc, &m, OUT_CH_DANE,
	    OUT_R_DANE_MISMATCH, 0, &why), OUT_NEXT_RETRY);
	m.first_attempt = NOW - 4 * HOUR + 1;
	assert_int_equal(out_policy_after_failure(&pc, &m, OUT_CH_DANE,
	    OUT_R_DANE_MISMATCH, 0, &why), OUT_NEXT_RETRY);
	m.first_attempt = NOW - 4 * HOUR;
	assert_int_equal(out_policy_after_failure(&pc, &m, OUT_CH_DANE,
	    OUT_R_DANE_MISMATCH, 0, &why), OUT_NEXT_PORTAL);
	assert_int_equal(why, OUT_R_PORTAL_AFTER);
	/* R-FLOW-4: a Bijlage B certificate failure goes to the portal at once;
	 * a handshake failure without a certificate verdict is retried (why
	 * deliver must name the former, out_tls_facts_from_smtpc). */
	m.first_attempt = NOW;
	assert_int_equal(out_policy_after_failure(&pc, &m, OUT_CH_BIJLAGE_B,
	    OUT_R_PKIX_FAILED, 0, &why), OUT_NEXT_PORTAL);
	assert_int_equal(why, OUT_R_PKIX_FAILED);
	assert_int_equal(out_policy_after_failure(&pc, &m, OUT_CH_BIJLAGE_B,
	    OUT_R_TLS_FAILED, 0, &why), OUT_NEXT_RETRY);
	assert_int_equal(out_policy_after_failure(&pc, &m, OUT_CH_BIJLAGE_C,
	    OUT_R_PKIX_FAILED, 0, &why), OUT_NEXT_RETRY);
	m.first_attempt = NOW - 4 * HOUR;
	assert_int_equal(out_policy_after_failure(&pc, &m, OUT_CH_NONE,
	    OUT_R_TXT_BOGUS, 0, &why), OUT_NEXT_RETRY);
	assert_int_equal(out_policy_after_failure(&pc, &m, OUT_CH_NONE,
	    OUT_R_ADDR_BOGUS, 0, &why), OUT_NEXT_PORTAL);
	m.health = 0;
	assert_int_equal(out_policy_after_failure(&pc, &m, OUT_CH_REGULAR,
	    OUT_R_CONNECT_FAILED, 0, &why), OUT_NEXT_RETRY);
	m.first_attempt = NOW - 5 * 24 * HOUR;
	assert_int_equal(out_policy_after_failure(&pc, &m, OUT_CH_REGULAR,
	    OUT_R_CONNECT_FAILED, 0, &why), OUT_NEXT_BOUNCE);
	assert_int_equal(why, OUT_R_LIFETIME);
	assert_true(out_reason_is_security_event(OUT_R_DANE_MISMATCH));
	assert_false(out_reason_is_security_event(OUT_R_PKIX_FAILED));
}

static void
test_ou_match(void **state)
{
	const char *ous[] = {"Afdeling ICT", "NTA7516-gecertificeerd"};
	const char *lower[] = {"nta7516-gecertificeerd"};
	const char *prefix[] = {"NTA7516-gecertificeerd-extra"};
	struct config_list two = {.n = 2, .v = {"x", "NTA7516-gecertificeerd"}};

	(void)state;
	assert_int_equal(out_policy_ou_match(ous, 2, &one_marker), 1);
	assert_int_equal(out_policy_ou_match(ous, 2, &two), 1);
	assert_int_equal(out_policy_ou_match(ous, 1, &one_marker), 0);
	assert_int_equal(out_policy_ou_match(lower, 1, &one_marker), 0);
	assert_int_equal(out_policy_ou_match(prefix, 1, &one_marker), 0);
	assert_int_equal(out_policy_ou_match(ous, 2, &no_markers), 0);
	assert_int_equal(out_policy_ou_match(ous, 2, NULL), 0);
	assert_int_equal(out_policy_ou_match(NULL, 0, &one_marker), 0);
}

static void
test_sender_compliant(void **state)
{
	struct config_list comp = {.n = 1, .v = {"zorg.example"}};
	struct out_policy_cfg pc = {.compliant = &comp};
	static struct out_dns_facts sdf;

	(void)state;
	assert_int_equal(out_policy_sender_compliant(&pc, "ZORG.example", NULL, NOW), 1);
	assert_int_equal(out_policy_sender_compliant(&pc, "other.example", NULL, NOW), 0);
	memset(&sdf, 0, sizeof(sdf));
	sdf.fetched = NOW;
	sdf.txt_state = OUT_DNS_SECURE;
	sdf.nta = OUT_NTA_VALID;
	assert_int_equal(out_policy_sender_compliant(&pc, "other.example", &sdf, NOW), 1);
	sdf.txt_state = OUT_DNS_INSECURE;
	assert_int_equal(out_policy_sender_compliant(&pc, "other.example", &sdf, NOW), 1);
	sdf.txt_state = OUT_DNS_BOGUS;
	assert_int_equal(out_policy_sender_compliant(&pc, "other.example", &sdf, NOW), 0);
	sdf.txt_state = OUT_DNS_SECURE;
	sdf.nta = OUT_NTA_INVALID;
	assert_int_equal(out_policy_sender_compliant(&pc, "other.example", &sdf, NOW), 0);
	sdf.nta = OUT_NTA_VALID;
	sdf.fetched = NOW - OUT_NTA_MAX_AGE - 1;
	assert_int_equal(out_policy_sender_compliant(&pc, "other.example", &sdf, NOW), 0);
	assert_int_equal(out_policy_sender_compliant(&pc, "", &sdf, NOW), 0);
}

static void
test_cfg_certified_file(void **state)
{
	char path[] = "/tmp/ntamsa-cert-XXXXXX";
	int fd = mkstemp(path);
	struct config c;
	struct out_policy_cfg pc;
	char err[256];
	static const char body[] = "# certified\n kenmerkNTAsysteem \n\nAnder\n";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, sizeof(body) - 1), (ssize_t)(sizeof(body) - 1));
	close(fd);
	assert_int_equal(config_defaults(&c), 0);
	assert_int_equal(out_policy_cfg_init(&pc, &c, err, sizeof(err)), 0);
	assert_int_equal(pc.certified_set, 0);
	assert_int_equal(pc.portal_after, 4 * HOUR);
	out_policy_cfg_free(&pc);
	free(c.nta_certified_providers);
	c.nta_certified_providers = strdup(path);
	assert_int_equal(out_policy_cfg_init(&pc, &c, err, sizeof(err)), 0);
	assert_int_equal(pc.certified_set, 1);
	assert_int_equal(nta_providers_count(pc.certified), 2);
	assert_true(nta_providers_has(pc.certified, "kenmerkNTAsysteem", 17));
	assert_true(nta_providers_has(pc.certified, "Ander", 5));
	assert_false(nta_providers_has(pc.certified, "ander", 5));
	out_policy_cfg_free(&pc);
	unlink(path);
	assert_int_equal(out_policy_cfg_init(&pc, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "certified_providers"));
	config_free(&c);
}

static void
test_names(void **state)
{
	int r;

	(void)state;
	assert_string_equal(out_channel_name(OUT_CH_BIJLAGE_C), "bijlage-c");
	assert_string_equal(out_channel_name(OUT_CH_BIJLAGE_B), "bijlage-b");
	assert_string_equal(out_channel_name(OUT_CH_DANE), "dane");
	assert_string_equal(out_channel_name(OUT_CH_PORTAL), "portal");
	assert_string_equal(out_channel_name(OUT_CH_REGULAR), "regular");
	for (r = 0; r < OUT_R__COUNT; r++)
		assert_string_not_equal(out_reason_name((enum out_reason)r), "unknown");
	assert_true(out_channel_is_nta(OUT_CH_DANE));
	assert_false(out_channel_is_nta(OUT_CH_REGULAR));
	assert_false(out_channel_is_nta(OUT_CH_PORTAL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_plan_details),
		cmocka_unit_test(test_after_failure),
		cmocka_unit_test(test_ou_match),
		cmocka_unit_test(test_sender_compliant),
		cmocka_unit_test(test_cfg_certified_file),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
