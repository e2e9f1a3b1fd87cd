/*
 * test_ntadns_record.c - the NTA 7516 record parser and set validator,
 * table-driven (spec section 3, R-NTA-1..9).  One cmocka test per case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ntadns/ntadns.h"

#define EX1 "v=NTA7516-1;startdate=2019-06;enddate=2020-09;provider=kenmerkNTAsysteem;ntamx=10 inc.webser.nl;ntamx=20 inc2.webser.nl"
#define EX2 "v=NTA7516-1;startdate=2019-06;enddate=2020-09;provider=kenmerkNTAsysteem"
#define PRE "v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider=p"
#define MX(x) PRE ";ntamx=" x

#define L63 "abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789abc"

struct tcase {
	const char *name;
	const char *at;			/* NULL: 2026-11-23 */
	const char *rec[4];		/* records of the set */
	size_t len0;			/* explicit length of rec[0] (embedded NUL) */
	int check_ttl;
	uint32_t ttl;
	int split;			/* >0: send each record as strings of this size */
	int certified;			/* use the list {"p", "kenmerkNTAsysteem"} */
	enum nta_verdict want;
	const char *reason;		/* first reason code; NULL: "ok"/"no-record" */
	int n_hosts;			/* -1: do not check */
	const char *host0;		/* first host after ordering */
};

static const struct tcase cases[] = {
	/* The handreiking's two examples. */
	{"example1-in-period", "2020-01-15", {EX1}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 2, "inc.webser.nl"},
	{"example2-in-period-use-mx", "2020-01-15", {EX2}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 0, NULL},
	{"example1-today-expired", NULL, {EX1}, 0, 0, 0, 0, 0, NTA_INVALID, "expired", -1, NULL},
	{"example1-before-start", "2019-05-31", {EX1}, 0, 0, 0, 0, 0, NTA_INVALID, "not-yet-valid", -1, NULL},
	{"example1-first-day", "2019-06-01", {EX1}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 2, "inc.webser.nl"},
	{"example1-last-day", "2020-09-30", {EX1}, 0, 0, 0, 0, 0, NTA_VALID, NULL, -1, NULL},
	{"example1-day-after", "2020-10-01", {EX1}, 0, 0, 0, 0, 0, NTA_INVALID, "expired", -1, NULL},
	{"example2-certified", "2020-01-15", {EX2}, 0, 0, 0, 0, 1, NTA_VALID, NULL, 0, NULL},
	/* Month boundaries (R-NTA-5). */
	{"enddate-this-month", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-11;provider=p"}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 0, NULL},
	{"enddate-last-month", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-10;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "expired", -1, NULL},
	{"startdate-next-month", NULL, {"v=NTA7516-1;startdate=2026-12;enddate=2027-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "not-yet-valid", -1, NULL},
	{"startdate-this-month", NULL, {"v=NTA7516-1;startdate=2026-11;enddate=2027-12;provider=p"}, 0, 0, 0, 0, 0, NTA_VALID, NULL, -1, NULL},
	{"december-start-on-dec-1", "2026-12-01", {"v=NTA7516-1;startdate=2026-12;enddate=2027-01;provider=p"}, 0, 0, 0, 0, 0, NTA_VALID, NULL, -1, NULL},
	{"december-start-on-nov-30", "2026-11-30", {"v=NTA7516-1;startdate=2026-12;enddate=2027-01;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "not-yet-valid", -1, NULL},
	{"december-end-on-dec-31", "2026-12-31", {"v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_VALID, NULL, -1, NULL},
	{"december-end-on-jan-1", "2027-01-01", {"v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "expired", -1, NULL},
	{"january-end-in-january", "2027-01-31", {"v=NTA7516-1;startdate=2026-12;enddate=2027-01;provider=p"}, 0, 0, 0, 0, 0, NTA_VALID, NULL, -1, NULL},
	{"leap-day-irrelevant", "2028-02-29", {"v=NTA7516-1;startdate=2028-02;enddate=2028-02;provider=p"}, 0, 0, 0, 0, 0, NTA_VALID, NULL, -1, NULL},
	{"start-equals-end", NULL, {"v=NTA7516-1;startdate=2026-11;enddate=2026-11;provider=p"}, 0, 0, 0, 0, 0, NTA_VALID, NULL, -1, NULL},
	{"end-before-start", NULL, {"v=NTA7516-1;startdate=2026-11;enddate=2026-10;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "end-before-start", -1, NULL},
	{"end-before-start-years", NULL, {"v=NTA7516-1;startdate=2027-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "end-before-start", -1, NULL},
	/* Dates. */
	{"month-00", NULL, {"v=NTA7516-1;startdate=2026-00;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-date", -1, NULL},
	{"month-13", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-13;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-date", -1, NULL},
	{"month-one-digit", NULL, {"v=NTA7516-1;startdate=2026-1;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-date", -1, NULL},
	{"year-two-digits", NULL, {"v=NTA7516-1;startdate=26-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-date", -1, NULL},
	{"date-slash", NULL, {"v=NTA7516-1;startdate=2026/01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-date", -1, NULL},
	{"date-with-day", NULL, {"v=NTA7516-1;startdate=2026-01-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-date", -1, NULL},
	{"date-letter-in-year", NULL, {"v=NTA7516-1;startdate=20a6-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-date", -1, NULL},
	{"date-empty", NULL, {"v=NTA7516-1;startdate=;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-date", -1, NULL},
	{"date-space-inside", NULL, {"v=NTA7516-1;startdate=2026 -01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-date", -1, NULL},
	/* The version tag (R-NTA-1): others are ignored, not errors. */
	{"lowercase-version-ignored", NULL, {"v=nta7516-1;startdate=2026-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_NONE, "no-record", -1, NULL},
	{"uppercase-v-ignored", NULL, {"V=NTA7516-1;startdate=2026-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_NONE, "no-record", -1, NULL},
	{"version-2-ignored", NULL, {"v=NTA7516-2;startdate=2026-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_NONE, "no-record", -1, NULL},
	{"version-10-ignored", NULL, {"v=NTA7516-10;startdate=2026-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_NONE, "no-record", -1, NULL},
	{"version-space-ignored", NULL, {"v=NTA7516-1 ;startdate=2026-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_NONE, "no-record", -1, NULL},
	{"version-spaces-around-eq", NULL, {"v = NTA7516-1;startdate=2026-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_NONE, "no-record", -1, NULL},
	{"provider-own-record-r-nta-8", NULL, {"version=NTA7516-1;startdate:2019-06;enddate:2020-09"}, 0, 0, 0, 0, 0, NTA_NONE, "no-record", -1, NULL},
	{"version-only", NULL, {"v=NTA7516-1"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-syntax", -1, NULL},
	{"version-semicolon", NULL, {"v=NTA7516-1;"}, 0, 0, 0, 0, 0, NTA_INVALID, "trailing-semicolon", -1, NULL},
	{"version-garbage", NULL, {"v=NTA7516-1;garbage"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-syntax", -1, NULL},
	/* Other TXT records are not counted. */
	{"spf-and-valid", NULL, {"v=spf1 -all", PRE}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 0, NULL},
	{"spf-only", NULL, {"v=spf1 mx -all"}, 0, 0, 0, 0, 0, NTA_NONE, "no-record", -1, NULL},
	{"token-and-valid", NULL, {"google-site-verification=abc", PRE, "MS=ms1234"}, 0, 0, 0, 0, 0, NTA_VALID, NULL, -1, NULL},
	{"empty-txt-and-valid", NULL, {"", PRE}, 0, 0, 0, 0, 0, NTA_VALID, NULL, -1, NULL},
	{"no-records-at-all", NULL, {NULL}, 0, 0, 0, 0, 0, NTA_NONE, "no-record", -1, NULL},
	/* Near-misses named precisely. */
	{"trailing-semicolon", NULL, {PRE ";"}, 0, 0, 0, 0, 0, NTA_INVALID, "trailing-semicolon", -1, NULL},
	{"trailing-semicolon-after-ntamx", NULL, {MX("10 mx.example.nl;")}, 0, 0, 0, 0, 0, NTA_INVALID, "trailing-semicolon", -1, NULL},
	{"startdate-colon", NULL, {"v=NTA7516-1;startdate:2026-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-date", -1, NULL},
	{"ntamx-colon", NULL, {PRE ";ntamx:10 mx.example.nl"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"provider-colon", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider:p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-provider", -1, NULL},
	{"space-before-eq", NULL, {"v=NTA7516-1;startdate =2026-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-date", -1, NULL},
	{"space-after-eq", NULL, {"v=NTA7516-1;startdate= 2026-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-date", -1, NULL},
	{"space-around-eq-provider", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider = p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-provider", -1, NULL},
	{"space-after-eq-ntamx", NULL, {PRE ";ntamx= 10 mx.example.nl"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"space-after-semicolon", NULL, {"v=NTA7516-1; startdate=2026-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-syntax", -1, NULL},
	{"field-name-case", NULL, {"v=NTA7516-1;StartDate=2026-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-date", -1, NULL},
	{"ntamx-name-case", NULL, {PRE ";NTAMX=10 mx.example.nl"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	/* Quotes and bytes outside the grammar (R-NTA-2). */
	{"quote-in-provider", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider=a\"b"}, 0, 0, 0, 0, 0, NTA_INVALID, "quote-char", -1, NULL},
	{"quote-in-ntamx", NULL, {MX("10 \"mx.example.nl\"")}, 0, 0, 0, 0, 0, NTA_INVALID, "quote-char", -1, NULL},
	{"tab-in-provider", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider=a\tb"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-byte", -1, NULL},
	{"nul-in-provider", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider=a\0b"}, 58, 0, 0, 0, 0, NTA_INVALID, "bad-byte", -1, NULL},
	{"eight-bit-in-provider", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider=caf\xc3\xa9"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-byte", -1, NULL},
	{"del-byte", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider=a\x7f"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-byte", -1, NULL},
	{"crlf-at-end", NULL, {PRE "\r\n"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-byte", -1, NULL},
	/* Provider. */
	{"provider-empty", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider="}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-provider", -1, NULL},
	{"provider-space", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider=a b"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-provider", -1, NULL},
	{"provider-all-specials", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider=!#$%&'()*+,-./:<=>?@[\\]^_`{|}~"}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 0, NULL},
	{"provider-with-equals", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider=a=b"}, 0, 0, 0, 0, 0, NTA_VALID, NULL, -1, NULL},
	{"provider-certified", NULL, {PRE}, 0, 0, 0, 0, 1, NTA_VALID, NULL, -1, NULL},
	{"provider-not-certified", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider=q"}, 0, 0, 0, 0, 1, NTA_INVALID, "provider-not-certified", -1, NULL},
	{"provider-certified-case", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider=P"}, 0, 0, 0, 0, 1, NTA_INVALID, "provider-not-certified", -1, NULL},
	/* Field order and presence. */
	{"enddate-first", NULL, {"v=NTA7516-1;enddate=2026-12;startdate=2026-01;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-syntax", -1, NULL},
	{"provider-missing", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-12"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-syntax", -1, NULL},
	{"enddate-missing", NULL, {"v=NTA7516-1;startdate=2026-01;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-syntax", -1, NULL},
	{"unknown-field-at-end", NULL, {PRE ";foo=bar"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-syntax", -1, NULL},
	{"unknown-field-between", NULL, {"v=NTA7516-1;startdate=2026-01;x=1;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-syntax", -1, NULL},
	{"provider-twice", NULL, {PRE ";provider=q"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-syntax", -1, NULL},
	{"ntamx-before-provider", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-12;ntamx=10 mx.example.nl;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-syntax", -1, NULL},
	{"empty-field", NULL, {"v=NTA7516-1;;startdate=2026-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-syntax", -1, NULL},
	{"startdate-twice", NULL, {"v=NTA7516-1;startdate=2026-01;startdate=2026-01;enddate=2026-12;provider=p"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-syntax", -1, NULL},
	/* ntamx. */
	{"ntamx-1-digit", NULL, {MX("5 mx.example.nl")}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 1, "mx.example.nl"},
	{"ntamx-3-digits", NULL, {MX("999 mx.example.nl")}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 1, "mx.example.nl"},
	{"ntamx-4-digits", NULL, {MX("1000 mx.example.nl")}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"ntamx-zero", NULL, {MX("0 mx.example.nl")}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 1, NULL},
	{"ntamx-leading-zero", NULL, {MX("010 b.example.nl;ntamx=9 a.example.nl")}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 2, "a.example.nl"},
	{"ntamx-no-priority", NULL, {MX("mx.example.nl")}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"ntamx-negative", NULL, {MX("-1 mx.example.nl")}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"ntamx-two-spaces", NULL, {MX("10  mx.example.nl")}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"ntamx-no-space", NULL, {MX("10mx.example.nl")}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"ntamx-no-host", NULL, {MX("10 ")}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"ntamx-empty", NULL, {MX("")}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"ntamx-trailing-dot", NULL, {MX("10 mx.example.nl.")}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"ntamx-idn-a-label", NULL, {MX("10 mail.xn--mller-kva.example")}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 1, "mail.xn--mller-kva.example"},
	{"ntamx-idn-u-label", NULL, {MX("10 mail.m\xc3\xbcller.example")}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-byte", -1, NULL},
	{"ntamx-underscore", NULL, {MX("10 mx_1.example.nl")}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"ntamx-label-leading-hyphen", NULL, {MX("10 -mx.example.nl")}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"ntamx-label-trailing-hyphen", NULL, {MX("10 mx-.example.nl")}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"ntamx-label-63", NULL, {MX("10 " L63 ".example.nl")}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 1, L63 ".example.nl"},
	{"ntamx-label-64", NULL, {MX("10 " L63 "d.example.nl")}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"ntamx-ip-address", NULL, {MX("10 192.0.2.1")}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"ntamx-numeric-label-ok", NULL, {MX("10 123.example.nl")}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 1, NULL},
	{"ntamx-single-label", NULL, {MX("10 localhost")}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 1, "localhost"},
	{"ntamx-empty-label", NULL, {MX("10 mx..example.nl")}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"ntamx-leading-dot", NULL, {MX("10 .example.nl")}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-ntamx", -1, NULL},
	{"ntamx-order", NULL, {MX("20 b.example.nl;ntamx=10 a.example.nl")}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 2, "a.example.nl"},
	{"ntamx-order-three", NULL, {MX("30 c.example.nl;ntamx=5 a.example.nl;ntamx=20 b.example.nl")}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 3, "a.example.nl"},
	{"ntamx-16", NULL, {MX("1 a.nl;ntamx=2 a.nl;ntamx=3 a.nl;ntamx=4 a.nl;ntamx=5 a.nl;ntamx=6 a.nl;ntamx=7 a.nl;ntamx=8 a.nl;ntamx=9 a.nl;ntamx=10 a.nl;ntamx=11 a.nl;ntamx=12 a.nl;ntamx=13 a.nl;ntamx=14 a.nl;ntamx=15 a.nl;ntamx=16 a.nl")}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 16, NULL},
	{"ntamx-17-too-long", NULL, {MX("1 a.nl;ntamx=2 a.nl;ntamx=3 a.nl;ntamx=4 a.nl;ntamx=5 a.nl;ntamx=6 a.nl;ntamx=7 a.nl;ntamx=8 a.nl;ntamx=9 a.nl;ntamx=10 a.nl;ntamx=11 a.nl;ntamx=12 a.nl;ntamx=13 a.nl;ntamx=14 a.nl;ntamx=15 a.nl;ntamx=16 a.nl;ntamx=17 a.nl")}, 0, 0, 0, 0, 0, NTA_INVALID, "too-long", -1, NULL},
	/* Sets of records (R-NTA-3). */
	{"two-records-first-current", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-11;provider=old", "v=NTA7516-1;startdate=2026-12;enddate=2027-12;provider=new"}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 0, NULL},
	{"two-records-second-current", NULL, {"v=NTA7516-1;startdate=2025-01;enddate=2025-12;provider=old", MX("10 new.example.nl")}, 0, 0, 0, 0, 0, NTA_VALID, NULL, 1, "new.example.nl"},
	{"two-records-overlap", NULL, {"v=NTA7516-1;startdate=2026-01;enddate=2026-11;provider=a", "v=NTA7516-1;startdate=2026-11;enddate=2027-12;provider=b"}, 0, 0, 0, 0, 0, NTA_INVALID, "overlap", -1, NULL},
	{"two-records-identical", NULL, {PRE, PRE}, 0, 0, 0, 0, 0, NTA_INVALID, "overlap", -1, NULL},
	{"two-records-contained", NULL, {"v=NTA7516-1;startdate=2020-01;enddate=2030-12;provider=a", "v=NTA7516-1;startdate=2027-01;enddate=2027-02;provider=b"}, 0, 0, 0, 0, 0, NTA_INVALID, "overlap", -1, NULL},
	{"two-records-one-invalid", NULL, {PRE, "v=NTA7516-1;startdate=2027-01;enddate=2027-13;provider=b"}, 0, 0, 0, 0, 0, NTA_INVALID, "bad-date", -1, NULL},
	{"two-records-both-outside", NULL, {"v=NTA7516-1;startdate=2024-01;enddate=2024-12;provider=a", "v=NTA7516-1;startdate=2027-01;enddate=2027-12;provider=b"}, 0, 0, 0, 0, 0, NTA_INVALID, "expired", -1, NULL},
	{"three-records", NULL, {"v=NTA7516-1;startdate=2024-01;enddate=2024-12;provider=a", PRE, "v=NTA7516-1;startdate=2027-01;enddate=2027-12;provider=b"}, 0, 0, 0, 0, 0, NTA_INVALID, "too-many-records", -1, NULL},
	{"two-plus-ignored", NULL, {"v=spf1 -all", "v=NTA7516-1;startdate=2024-01;enddate=2024-12;provider=a", PRE, "v=nta7516-1;x"}, 0, 0, 0, 0, 0, NTA_VALID, NULL, -1, NULL},
	/* TTL (R-NTA-4). */
	{"ttl-86400", NULL, {PRE}, 0, 1, 86400, 0, 0, NTA_VALID, NULL, -1, NULL},
	{"ttl-86401", NULL, {PRE}, 0, 1, 86401, 0, 0, NTA_INVALID, "ttl-too-high", -1, NULL},
	{"ttl-0", NULL, {PRE}, 0, 1, 0, 0, 0, NTA_VALID, NULL, -1, NULL},
	{"ttl-high-no-record", NULL, {"v=spf1 -all"}, 0, 1, 604800, 0, 0, NTA_NONE, "no-record", -1, NULL},
	/* Multi-string TXT (R-NTA-7): split into strings mid-field. */
	{"split-7", "2020-01-15", {EX1}, 0, 0, 0, 7, 0, NTA_VALID, NULL, 2, "inc.webser.nl"},
	{"split-1", "2020-01-15", {EX1}, 0, 0, 0, 1, 0, NTA_VALID, NULL, 2, NULL},
	{"split-in-version", NULL, {PRE}, 0, 0, 0, 5, 0, NTA_VALID, NULL, -1, NULL},
	{"split-in-date", NULL, {PRE}, 0, 0, 0, 19, 0, NTA_VALID, NULL, -1, NULL},
	{"split-keeps-error", NULL, {PRE ";"}, 0, 0, 0, 3, 0, NTA_INVALID, "trailing-semicolon", -1, NULL},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* Wire RDATA: the record in strings of at most `split` bytes. */
static size_t
to_wire(const char *s, size_t n, int split, unsigned char *out, size_t cap)
{
	size_t i = 0, o = 0;

	while (i < n) {
		size_t l = n - i < (size_t)split ? n - i : (size_t)split;
		assert_true(o + 1 + l <= cap);
		out[o++] = (unsigned char)l;
		memcpy(out + o, s + i, l);
		o += l;
		i += l;
	}
	return o;
}

static struct nta_providers *
certified_list(void)
{
	char path[] = "/tmp/ntadns-cert-XXXXXX";
	int fd = mkstemp(path);
	struct nta_providers *p;
	char err[128];
	const char body[] = "# certified\np\n\nkenmerkNTAsysteem\n";

	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, sizeof(body) - 1), (int)(sizeof(body) - 1));
	close(fd);
	assert_int_equal(nta_providers_load(path, &p, err, sizeof(err)), 0);
	unlink(path);
	return p;
}

static void
run_case(void **state)
{
	const struct tcase *c = *state;
	static unsigned char wire[4][8192], flat[4][8192];
	struct nta_txt txt[4];
	struct nta_eval_opts o = {0};
	struct nta_set *s = malloc(sizeof(*s));
	struct nta_mx hosts[NTA_MAX_NTAMX];
	size_t i, n = 0;
	const char *want_reason;

	assert_non_null(s);
	assert_int_equal(nta_date_parse(c->at ? c->at : "2026-11-23", &o.at), 0);
	o.check_ttl = c->check_ttl;
	o.ttl = c->ttl;
	o.certified = c->certified ? certified_list() : NULL;
	for (i = 0; i < 4 && c->rec[i] != NULL; i++, n++) {
		size_t len = i == 0 && c->len0 ? c->len0 : strlen(c->rec[i]);
		if (c->split > 0) {
			size_t wl = to_wire(c->rec[i], len, c->split, wire[i], sizeof(wire[i]));
			long fl = nta_txt_concat(wire[i], wl, flat[i], sizeof(flat[i]));
			assert_int_equal(fl, (long)len);
			txt[i].data = flat[i];
		} else {
			txt[i].data = (const unsigned char *)c->rec[i];
		}
		txt[i].len = len;
	}
	enum nta_verdict v = nta_set_eval(s, txt, n, &o);
	if (v != c->want)
		fail_msg("%s: got verdict %s, want %s (first reason %s)", c->name,
		    nta_verdict_name(v), nta_verdict_name(c->want),
		    nta_reason_code(nta_set_first_reason(s)));
	want_reason = c->reason ? c->reason : c->want == NTA_NONE ? "no-record" : "ok";
	if (strcmp(nta_reason_code(nta_set_first_reason(s)), want_reason) != 0)
		fail_msg("%s: got reason %s, want %s", c->name,
		    nta_reason_code(nta_set_first_reason(s)), want_reason);
	if (c->n_hosts >= 0) {
		size_t nh = nta_set_hosts(s, hosts, NTA_MAX_NTAMX);
		if (nh != (size_t)c->n_hosts)
			fail_msg("%s: got %zu hosts, want %d", c->name, nh, c->n_hosts);
		if (c->host0 != NULL && strcmp(hosts[0].host, c->host0) != 0)
			fail_msg("%s: got first host %s, want %s", c->name, hosts[0].host, c->host0);
		for (i = 1; i < nh; i++)
			assert_true(hosts[i - 1].prio <= hosts[i].prio);
	}
	/* Every rejection names its problem. */
	for (i = 0; i < s->n_kept; i++)
		if (s->rec[i].status == NTA_REC_INVALID)
			assert_true(s->rec[i].n_reasons > 0 && s->rec[i].reasons[0].detail[0] != '\0');
	nta_providers_free((struct nta_providers *)o.certified);
	free(s);
}

/* ------------------------------------------------ built at run time */

static enum nta_verdict
eval1(const char *rec, size_t len, struct nta_set *s)
{
	struct nta_txt t = {(const unsigned char *)rec, len};
	struct nta_eval_opts o = {0};

	assert_int_equal(nta_date_parse("2026-11-23", &o.at), 0);
	return nta_set_eval(s, &t, 1, &o);
}

static void
test_lengths(void **state)
{
	static char buf[8192];
	static struct nta_set s;
	char host[300];
	size_t i;
	int n;

	(void)state;
	/* Host names: 253 octets accepted, 254 refused. */
	for (i = 0; i < 253; i++)
		host[i] = (i % 62 == 61) ? '.' : 'a';
	host[253] = '\0';
	n = snprintf(buf, sizeof(buf), MX("1 %s"), host);
	assert_int_equal(eval1(buf, (size_t)n, &s), NTA_VALID);
	assert_string_equal(s.rec[0].mx[0].host, host);
	host[253] = 'a';
	host[254] = '\0';
	n = snprintf(buf, sizeof(buf), MX("1 %s"), host);
	assert_int_equal(eval1(buf, (size_t)n, &s), NTA_INVALID);
	assert_int_equal(nta_set_first_reason(&s), NTA_R_BAD_NTAMX);
	/* Provider: 255 accepted, 256 too long. */
	n = snprintf(buf, sizeof(buf), "v=NTA7516-1;startdate=2026-01;enddate=2026-12;provider=");
	memset(buf + n, 'x', 255);
	assert_int_equal(eval1(buf, (size_t)n + 255, &s), NTA_VALID);
	assert_int_equal(strlen(s.rec[0].provider), 255);
	memset(buf + n, 'x', 256);
	assert_int_equal(eval1(buf, (size_t)n + 256, &s), NTA_INVALID);
	assert_int_equal(nta_set_first_reason(&s), NTA_R_TOO_LONG);
	/* A whole record beyond the bound. */
	memset(buf + n, 'x', NTA_RECORD_MAX);
	assert_int_equal(eval1(buf, (size_t)n + NTA_RECORD_MAX, &s), NTA_INVALID);
	assert_int_equal(nta_set_first_reason(&s), NTA_R_TOO_LONG);
}

static void
test_txt_concat(void **state)
{
	unsigned char wire[600], out[600];
	long l;

	(void)state;
	/* Two full 255-octet strings concatenate to 510. */
	wire[0] = 255;
	memset(wire + 1, 'a', 255);
	wire[256] = 255;
	memset(wire + 257, 'b', 255);
	l = nta_txt_concat(wire, 512, out, sizeof(out));
	assert_int_equal(l, 510);
	assert_int_equal(out[254], 'a');
	assert_int_equal(out[255], 'b');
	/* A length byte that runs past the RDATA is malformed. */
	assert_int_equal(nta_txt_concat(wire, 200, out, sizeof(out)), -1);
	/* Output too small. */
	assert_int_equal(nta_txt_concat(wire, 512, out, 300), -1);
	/* Empty strings are fine. */
	wire[0] = 0;
	assert_int_equal(nta_txt_concat(wire, 1, out, sizeof(out)), 0);
}

static void
test_equal_priority_shuffle(void **state)
{
	static struct nta_set s;
	struct nta_mx h[4];
	const char *rec = MX("10 a.nl;ntamx=10 b.nl;ntamx=5 z.nl");
	int seen_a = 0, seen_b = 0, i;

	(void)state;
	assert_int_equal(eval1(rec, strlen(rec), &s), NTA_VALID);
	for (i = 0; i < 200; i++) {
		assert_int_equal(nta_set_hosts(&s, h, 4), 3);
		assert_string_equal(h[0].host, "z.nl");
		if (strcmp(h[1].host, "a.nl") == 0)
			seen_a = 1;
		else
			seen_b = 1;
	}
	/* 2^-199 chance of a false failure. */
	assert_true(seen_a && seen_b);
}

struct dcase { time_t t; int y, m, d; };

static void
test_dutch_date(void **state)
{
	static const struct dcase dc[] = {
		{1793485800, 2026, 10, 31},	/* 2026-10-31 22:30Z: CET 23:30 */
		{1793489400, 2026, 11, 1},	/* 2026-10-31 23:30Z: CET 00:30 */
		{1782858600, 2026, 7, 1},	/* 2026-06-30 22:30Z: CEST 00:30 */
		{1782855000, 2026, 6, 30},	/* 2026-06-30 21:30Z: CEST 23:30 */
		{1798758000, 2027, 1, 1},	/* 2026-12-31 23:00Z: CET 00:00 */
		{1798757999, 2026, 12, 31},
		{1774745940, 2026, 3, 29},	/* 2026-03-29 00:59Z, before the switch */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dc) / sizeof(dc[0]); i++) {
		struct nta_date d = nta_date_of(dc[i].t);
		if (d.year != dc[i].y || d.month != dc[i].m || d.day != dc[i].d)
			fail_msg("t=%ld: got %04d-%02d-%02d, want %04d-%02d-%02d", (long)dc[i].t,
			    d.year, d.month, d.day, dc[i].y, dc[i].m, dc[i].d);
	}
}

static void
test_date_parse(void **state)
{
	struct nta_date d;

	(void)state;
	assert_int_equal(nta_date_parse("2026-02-28", &d), 0);
	assert_int_equal(d.month, 2);
	assert_int_equal(nta_date_parse("2026-13-01", &d), -1);
	assert_int_equal(nta_date_parse("2026-04-31", &d), -1);
	assert_int_equal(nta_date_parse("2026-1-01", &d), -1);
	assert_int_equal(nta_date_parse("2026-01-01x", &d), -1);
	assert_int_equal(nta_date_parse("", &d), -1);
}

static void
test_reason_codes_stable(void **state)
{
	(void)state;
	assert_string_equal(nta_reason_code(NTA_R_BAD_VERSION), "bad-version");
	assert_string_equal(nta_reason_code(NTA_R_BAD_DATE), "bad-date");
	assert_string_equal(nta_reason_code(NTA_R_END_BEFORE_START), "end-before-start");
	assert_string_equal(nta_reason_code(NTA_R_NOT_YET_VALID), "not-yet-valid");
	assert_string_equal(nta_reason_code(NTA_R_EXPIRED), "expired");
	assert_string_equal(nta_reason_code(NTA_R_BAD_PROVIDER), "bad-provider");
	assert_string_equal(nta_reason_code(NTA_R_BAD_NTAMX), "bad-ntamx");
	assert_string_equal(nta_reason_code(NTA_R_QUOTE_CHAR), "quote-char");
	assert_string_equal(nta_reason_code(NTA_R_TOO_MANY_RECORDS), "too-many-records");
	assert_string_equal(nta_reason_code(NTA_R_OVERLAP), "overlap");
	assert_string_equal(nta_reason_code(NTA_R_TTL_TOO_HIGH), "ttl-too-high");
	assert_string_equal(nta_reason_code(NTA_R_PROVIDER_NOT_CERTIFIED), "provider-not-certified");
	for (int r = 0; r < NTA_R__COUNT; r++)
		assert_true(strlen(nta_reason_sentence((enum nta_reason)r)) > 10);
}

static void
test_near_miss_noted(void **state)
{
	static struct nta_set s;
	const char *r = "v=nta7516-1;startdate=2026-01;enddate=2026-12;provider=p";

	(void)state;
	assert_int_equal(eval1(r, strlen(r), &s), NTA_NONE);
	assert_int_equal(s.n_near_miss, 1);
	assert_int_equal(s.reasons[0].code, NTA_R_BAD_VERSION);
	assert_non_null(strstr(s.reasons[0].detail, "v=nta7516-1"));
}

static void
test_detail_names_problem(void **state)
{
	static struct nta_set s;
	const char *r = PRE ";ntamx:10 mx.example.nl";

	(void)state;
	assert_int_equal(eval1(r, strlen(r), &s), NTA_INVALID);
	assert_non_null(strstr(s.rec[0].reasons[0].detail, "':' instead of '='"));
	r = "v=NTA7516-1;startdate =2026-01;enddate=2026-12;provider=p";
	assert_int_equal(eval1(r, strlen(r), &s), NTA_INVALID);
	assert_non_null(strstr(s.rec[0].reasons[0].detail, "space around '='"));
}

int
main(void)
{
	static struct CMUnitTest t[NCASES + 16];
	static const struct CMUnitTest extra[] = {
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_txt_concat),
		cmocka_unit_test(test_equal_priority_shuffle),
		cmocka_unit_test(test_dutch_date),
		cmocka_unit_test(test_date_parse),
		cmocka_unit_test(test_reason_codes_stable),
		cmocka_unit_test(test_near_miss_noted),
		cmocka_unit_test(test_detail_names_problem),
	};
	size_t i, n = 0;

	for (i = 0; i < NCASES; i++) {
		t[n].name = cases[i].name;
		t[n].test_func = run_case;
		t[n].initial_state = (void *)&cases[i];
		n++;
	}
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		t[n++] = extra[i];
	return _cmocka_run_group_tests("ntadns_record", t, n, NULL, NULL);
}
