/* test_cls_bsn.c - the BSN 11-test, BSN spotting in text, masking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "msa/classify/classify.h"

static void
test_eleven_test_table(void **state)
{
	static const struct { const char *s; int want; } cases[] = {
		{"111222333", 1},	/* 9+8+7+12+10+8+9+6-3 = 66 */
		{"123456782", 1},	/* 154 */
		{"999999990", 1},	/* 396 */
		{"123456789", 0},	/* 147: fails */
		{"111222334", 0},	/* 65: fails */
		{"000000000", 0},	/* passes the sum, refused: all zeros */
		{"12345678a", 0},
		{"1234567820", 0},	/* ten digits */
		{"12345678", 0},	/* eight digits */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = cls_bsn_valid(cases[i].s);

		if (got != cases[i].want)
			fail_msg("cls_bsn_valid(%s): got %d, want %d", cases[i].s, got, cases[i].want);
	}
}

static void
test_mask(void **state)
{
	static const struct { const char *in, *want; } cases[] = {
		{"111222333", "*****2333"},
		{"111.222.333", "*****2333"},
		{"1234-56-789", "*****6789"},
		{"12-03-1965", "****1965"},
		{"abc", "***"},			/* too short to show anything */
		{"20931", "*****"},
		{"4471823", "*****23"},
		{"1234", "****"},
		{"", ""},
	};
	char out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cls_mask(cases[i].in, strlen(cases[i].in), out, sizeof(out));
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("cls_mask(%s): got %s, want %s", cases[i].in, out, cases[i].want);
	}
	/* A tiny buffer is still terminated. */
	cls_mask("111222333", 9, out, 4);
	assert_int_equal(strlen(out), 3);
}

/* Classify a plain message with body b; returns the result. */
static struct cls_result
classify_body(const char *b)
{
	char msg[4096];
	struct cls_result r;
	int n = snprintf(msg, sizeof(msg), "From: a@example.nl\r\nTo: b@example.nl\r\n"
	    "Subject: test\r\n\r\n%s\r\n", b);

	assert_true(n > 0 && (size_t)n < sizeof(msg));
	assert_int_equal(cls_classify(msg, (size_t)n, NULL, &r), 0);
	return r;
}

static int
has_reason(const struct cls_result *r, const char *code)
{
	size_t n = strlen(code);

	for (const char *p = r->reasons; (p = strstr(p, code)) != NULL; p += n)
		if ((p == r->reasons || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

static void
test_bsn_in_text(void **state)
{
	static const struct { const char *body; const char *want; const char *not; } cases[] = {
		{"BSN: 111222333", "bsn-kw", NULL},
		{"burgerservicenummer 111.222.333", "bsn-kw", NULL},
		{"bsn 1112-22-333", "bsn-kw", NULL},
		{"zijn nummer is 111 222 333 meen ik", "bsn", "bsn-kw"},
		{"BSN: 123456789", NULL, "bsn"},		/* fails the 11-test */
		{"factuur 1234567820", NULL, "bsn"},		/* ten digits */
		{"telefoon 06 111 222 333", NULL, "bsn"},	/* eleven digits in one group */
		{"BSN 000000000", NULL, "bsn-kw"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cls_result r = classify_body(cases[i].body);

		if (cases[i].want != NULL && !has_reason(&r, cases[i].want))
			fail_msg("case %zu: reasons %s, want %s", i, r.reasons, cases[i].want);
		if (cases[i].not != NULL && has_reason(&r, cases[i].not))
			fail_msg("case %zu: reasons %s, must not have %s", i, r.reasons, cases[i].not);
	}
}

/* The explanation masks the BSN: the whole number never appears. */
static void
test_explain_masks(void **state)
{
	static const char msg[] = "Subject: verwijzing\r\n\r\n"
	    "Geachte collega,\r\nHierbij verwijs ik mevrouw Jansen, BSN 111222333, "
	    "geboortedatum 12-03-1965, met diabetes mellitus type 2 en metformine 500 mg 2dd1.\r\n";
	struct cls_result r;
	struct cls_explain *ex = NULL;
	int found = 0;

	(void)state;
	assert_int_equal(cls_classify_explain(msg, sizeof(msg) - 1, NULL, &r, &ex), 0);
	assert_int_equal(r.verdict, CLS_HEALTH);
	assert_true(cls_explain_count(ex) > 3);
	for (size_t i = 0; i < cls_explain_count(ex); i++) {
		const char *l = cls_explain_line(ex, i);

		assert_null(strstr(l, "111222333"));
		assert_null(strstr(l, "12-03-1965"));
		assert_null(strstr(l, "Jansen"));
		assert_null(strstr(l, "jansen"));
		found += strstr(l, "*****2333") != NULL;
	}
	assert_int_equal(found, 1);
	/* Reason codes carry no content either. */
	assert_null(strstr(r.reasons, "2333"));
	assert_null(strstr(r.reasons, "ansen"));
	cls_explain_free(ex);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eleven_test_table),
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_bsn_in_text),
		cmocka_unit_test(test_explain_masks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
