/* test_cls_mime.c - reading messages: transfer encodings, charsets, encoded
 * words, HTML, alternatives, attachments, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msa/classify/classify.h"

static char *
extract(const char *msg)
{
	char *t = NULL;
	size_t n = 0;

	assert_int_equal(cls_extract_text(msg, strlen(msg), &t, &n), 0);
	assert_non_null(t);
	assert_int_equal(strlen(t), n);
	return t;
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

struct dcase {
	const char *name;
	const char *msg;
	const char *want;		/* must appear in the text */
	const char *not;		/* must not appear */
};

static const struct dcase decode_cases[] = {
	{"quoted-printable with soft breaks and UTF-8",
	 "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	 "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	 "De pati=C3=ABnt heeft diabe=\r\ntes.\r\n",
	 "De pati\xc3\xabnt heeft diabetes.", "=C3"},
	{"base64",
	 "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	 "Content-Transfer-Encoding: base64\r\n\r\n"
	 "dWl0c2xhZyBibG9lZG9uZGVyem9law==\r\n",
	 "uitslag bloedonderzoek", "dWl0"},
	{"latin-1 charset to UTF-8",
	 "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
	 "Content-Transfer-Encoding: 8bit\r\n\r\ncaf\xe9 pati\xebnt\r\n",
	 "caf\xc3\xa9 pati\xc3\xabnt", NULL},
	{"unknown charset falls back to latin-1",
	 "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=x-nonsense\r\n\r\n"
	 "pati\xebnt\r\n",
	 "pati\xc3\xabnt", NULL},
	{"encoded-word subject, Q",
	 "Subject: =?utf-8?Q?Uitslag_r=C3=B6ntgenfoto?=\r\n\r\nbody\r\n",
	 "Uitslag r\xc3\xb6ntgenfoto", "=?utf-8"},
	{"encoded-word subject, B, latin-1, folded",
	 "Subject: =?iso-8859-1?B?UGF0aetudA==?=\r\n =?iso-8859-1?Q?_dossier?=\r\n\r\nbody\r\n",
	 "Pati\xc3\xabnt", "?B?"},
	{"encoded words: white space between two goes, other text stays",
	 "Subject: =?utf-8?Q?pati?= =?utf-8?q?=C3=ABnt?= en =?UTF-8*nl?b?ZG9zc2llcg==?=\r\n\r\nbody\r\n",
	 "pati\xc3\xabnt en dossier", "?="},
	{"encoded word, base64 without padding, windows-1252",
	 "Subject: =?utf-8?B?cGF0acOrbnQ?= =?windows-1252?Q?=93uitslag=94?=\r\n\r\nbody\r\n",
	 "pati\xc3\xabnt\xe2\x80\x9cuitslag\xe2\x80\x9d", "cGF0"},
	{"a word that does not decode stays as written",
	 "Subject: =?utf-8?B?@@@?= en =?utf-8?X?y?= =?utf-8?Q?ok?=\r\n\r\nbody\r\n",
	 "=?utf-8?B?@@@?= en =?utf-8?X?y?= ok", NULL},
	{"HTML: tags, entities, script and style dropped",
	 "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
	 "<html><head><style>p.secret { color: red }</style>"
	 "<script>var hidden = 'scriptword';</script></head>"
	 "<body><p>pati&euml;nt&nbsp;&amp; caf&#233; &#x41;<!-- commentword --></p></body></html>\r\n",
	 "pati\xc3\xabnt & caf\xc3\xa9 A", "scriptword"},
	{"HTML: style content gone",
	 "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n"
	 "<style>p.secret { color: red }</style><b>zichtbaar</b>\r\n",
	 "zichtbaar", "secret"},
	{"HTML: comment content gone",
	 "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n"
	 "<p>a<!-- commentword -->b</p>\r\n",
	 "a", "commentword"},
	{"text attachment (csv, base64) is read, its encoded file name decoded",
	 "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
	 "--B\r\nContent-Type: text/plain\r\n\r\nzie bijlage\r\n"
	 "--B\r\nContent-Type: text/csv; name=\"=?utf-8?Q?lijst_pati=C3=ABnten.csv?=\"\r\n"
	 "Content-Disposition: attachment; filename=\"=?utf-8?Q?lijst_pati=C3=ABnten.csv?=\"\r\n"
	 "Content-Transfer-Encoding: base64\r\n\r\n"
	 "bmFhbTtnZWJvb3J0ZWRhdHVtCg==\r\n--B--\r\n",
	 "naam;geboortedatum", NULL},
	{"octet-stream with a .csv name is read as text",
	 "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
	 "--B\r\nContent-Type: text/plain\r\n\r\nzie bijlage\r\n"
	 "--B\r\nContent-Type: application/octet-stream; name=\"lab.csv\"\r\n"
	 "Content-Transfer-Encoding: base64\r\n\r\n"
	 "bmFhbTtnZWJvb3J0ZWRhdHVtCg==\r\n--B--\r\n",
	 "naam;geboortedatum", "bmFhbT"},
	{"attachment file name decoded",
	 "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
	 "--B\r\nContent-Type: text/plain\r\n\r\nzie bijlage\r\n"
	 "--B\r\nContent-Type: application/pdf; name=\"=?utf-8?Q?ontslagbrief_r=C3=B6ntgen.pdf?=\"\r\n"
	 "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--B--\r\n",
	 "ontslagbrief r\xc3\xb6ntgen.pdf", "JVBER"},
};

static void
test_decoding_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
		const struct dcase *c = &decode_cases[i];
		char *t = extract(c->msg);

		if (strstr(t, c->want) == NULL)
			fail_msg("%s: text lacks \"%s\"", c->name, c->want);
		if (c->not != NULL && strstr(t, c->not) != NULL)
			fail_msg("%s: text holds \"%s\"", c->name, c->not);
		free(t);
	}
}

/* multipart/alternative: the same words in plain and HTML are read once. */
static void
test_alternative_once(void **state)
{
	static const char msg[] =
	    "Subject: x\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/alternative; boundary=\"A\"\r\n\r\n"
	    "--A\r\nContent-Type: text/plain\r\n\r\nwoordeen woordtwee\r\n"
	    "--A\r\nContent-Type: text/html\r\n\r\n<p>woordeen woordtwee <b>extra</b></p>\r\n"
	    "--A--\r\n";
	char *t;

	(void)state;
	t = extract(msg);
	assert_int_equal(count(t, "woordeen"), 1);
	/* The richer version (HTML here) is the one read. */
	assert_non_null(strstr(t, "extra"));
	free(t);
}

/* Build a message nested depth levels of multipart/mixed deep. */
static char *
nested(int depth)
{
	size_t cap = (size_t)depth * 160 + 256, k = 0;
	char *m = malloc(cap);

	assert_non_null(m);
	k += (size_t)snprintf(m + k, cap - k, "Subject: x\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n");
	for (int i = 1; i <= depth; i++)
		k += (size_t)snprintf(m + k, cap - k, "--b%d\r\nContent-Type: multipart/mixed; "
		    "boundary=\"b%d\"\r\n\r\n", i - 1, i);
	k += (size_t)snprintf(m + k, cap - k, "--b%d\r\nContent-Type: text/plain\r\n\r\n"
	    "diepste tekst\r\n", depth);
	for (int i = depth; i >= 0; i--)
		k += (size_t)snprintf(m + k, cap - k, "--b%d--\r\n", i);
	assert_true(k < cap);
	return m;
}

static void
test_nesting_limit(void **state)
{
	struct cls_result r;
	char *m, *t;

	(void)state;
	/* Shallow: read in full, no limit. */
	m = nested(5);
	t = extract(m);
	assert_non_null(strstr(t, "diepste tekst"));
	assert_int_equal(cls_classify(m, strlen(m), NULL, &r), 0);
	assert_null(strstr(r.reasons, "unread-limit"));
	free(t);
	free(m);
	/* Too deep: not read to the bottom, and the verdict is health (fail safe). */
	m = nested(40);
	assert_int_equal(cls_classify(m, strlen(m), NULL, &r), 0);
	assert_int_equal(r.verdict, CLS_HEALTH);
	assert_non_null(strstr(r.reasons, "unread-limit"));
	free(m);
	/* Far too many parts: libetpan is not even asked. */
	m = nested(100);
	assert_int_equal(cls_classify(m, strlen(m), NULL, &r), 0);
	assert_int_equal(r.verdict, CLS_HEALTH);
	assert_non_null(strstr(r.reasons, "unread-limit"));
	free(m);
}

/* Deeply nested comments would overflow libetpan's recursive parser. */
static void
test_comment_nesting(void **state)
{
	size_t n = 200000, k = 0;
	char *m = malloc(n + 128);
	struct cls_result r;

	(void)state;
	assert_non_null(m);
	k += (size_t)snprintf(m, 64, "Subject: x\r\nFrom: ");
	memset(m + k, '(', n);
	k += n;
	k += (size_t)snprintf(m + k, 64, "a@b\r\n\r\nbody\r\n");
	assert_int_equal(cls_classify(m, k, NULL, &r), 0);
	assert_int_equal(r.verdict, CLS_HEALTH);
	assert_non_null(strstr(r.reasons, "unread-limit"));
	free(m);
	/* Ordinary parentheses in text are no limit. */
	{
		static const char ok[] = "Subject: x\r\n\r\n(a) (b (c)) ((d))\r\n";

		assert_int_equal(cls_classify(ok, sizeof(ok) - 1, NULL, &r), 0);
		assert_null(strstr(r.reasons, "unread-limit"));
	}
}

/* Broken input never crashes and still yields a verdict. */
static void
test_broken_inputs(void **state)
{
	static const char *const bad[] = {
		"",
		"\r\n\r\n",
		"Subject: =?utf-8?Q?unterminated",
		"Subject: x\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n",
		"Subject: x\r\nContent-Type: multipart/mixed\r\n\r\nno boundary at all\r\n",
		"Subject: x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64***\r\n",
		"Subject: x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\n=",
		"Subject: x\r\nContent-Type: text/html\r\n\r\n<script>never closed &#99999999999; &#x; <",
		"Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xff\xfe\xc3\x28\xe2\x82",
	};
	struct cls_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cls_classify(bad[i], strlen(bad[i]), NULL, &r), 0);
		assert_true(r.score >= 0 && r.score <= 100);
	}
}

/* An attachment we cannot read is named in the reasons. */
static void
test_unread_attachment(void **state)
{
	static const char msg[] =
	    "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
	    "--B\r\nContent-Type: text/plain\r\n\r\nzie bijlage\r\n"
	    "--B\r\nContent-Type: application/pdf; name=\"brief.pdf\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--B--\r\n";
	struct cls_result r;
	struct cls_explain *ex = NULL;
	int said = 0;

	(void)state;
	assert_int_equal(cls_classify_explain(msg, sizeof(msg) - 1, NULL, &r, &ex), 0);
	assert_non_null(strstr(r.reasons, "attachment-unread"));
	for (size_t i = 0; i < cls_explain_count(ex); i++)
		said += strstr(cls_explain_line(ex, i), "1 pdf attachment(s), not read") != NULL;
	assert_int_equal(said, 1);
	cls_explain_free(ex);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decoding_table),
		cmocka_unit_test(test_alternative_once),
		cmocka_unit_test(test_nesting_limit),
		cmocka_unit_test(test_comment_nesting),
		cmocka_unit_test(test_broken_inputs),
		cmocka_unit_test(test_unread_attachment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
