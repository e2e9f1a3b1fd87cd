/*
 * test_outbound_dsn.c - RFC 3464 reports: structure (parsed by libetpan,
 * an independent MIME parser), fields, no content, no injection, no DSN
 * for a null sender.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

#include "outbound/dsn.h"

static const char orig[] =
    "Received: from spreekkamer.zorg.example by msa; Mon, 23 Nov 2026 10:00:00 +0100\r\n"
    "From: \"Dr. Jansen\" <jansen@zorg.example>\r\n"
    "To: patient@ontvanger.example,\r\n"
    "\ttweede@ontvanger.example\r\n"
    "Bcc: geheim@elders.example\r\n"
    "Subject: Uitslag HIV-test\r\n"
    " van P. de Vries\r\n"
    "subject: tweede onderwerp diabetes\r\n"
    "Thread-Topic: oncologie\r\n"
    "Keywords: diagnose\r\n"
    "Comments: dossier 12345\r\n"
    "X-Patient: BSN 123456782\r\n"
    "Content-Type: application/pdf; name=\"uitslag-devries.pdf\"\r\n"
    "Content-Description: labuitslag\r\n"
    "Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
    "Message-ID: <abc@zorg.example>\r\n"
    "Reply-To: balie@zorg.example\r\n"
    "MIME-Version: 1.0\r\n"
    "\r\n";

/* Words that must never appear: all from fields that carry content. */
static const char *const secrets[] = {
	"HIV", "Vries", "diabetes", "oncologie", "diagnose", "12345", "BSN",
	"uitslag-devries", "labuitslag", "geheim@", "spreekkamer",
};

static const struct out_dsn_info info = {
	.reporting_mta = "msa.zorg.example",
	.sender = "jansen@zorg.example",
	.envid = "ENV123",
	.arrival = 1795420800,
	.now = 1795430000,
};

static const struct out_dsn_rcpt rcpts[] = {
	{.rcpt = "patient@ontvanger.example", .action = "failed", .status = "5.1.1",
	    .remote_mta = "mx.ontvanger.example",
	    .diagnostic = "550 5.1.1 <patient@ontvanger.example>: user unknown",
	    .last_attempt = 1795429000},
	{.rcpt = "tweede@nullmx.example", .orcpt = "rfc822;Tweede@nullmx.example",
	    .action = "failed", .status = "5.1.10",
	    .diagnostic = "556 5.1.10 domain does not accept mail"},
};

static char *
build(const struct out_dsn_info *in, const struct out_dsn_rcpt *r, size_t n,
    size_t *len)
{
	char *out = NULL;

	assert_int_equal(out_dsn_build(in, r, n, orig, sizeof(orig) - 1, &out, len),
	    OUT_DSN_OK);
	assert_non_null(out);
	return out;
}

static char *
dup0(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void
test_structure(void **state)
{
	size_t len, idx = 0;
	char *out = build(&info, rcpts, 2, &len);
	struct mailmime *mime = NULL, *body;
	struct mailmime_content *ct;
	clistiter *it;
	const char *want_sub[] = {"plain", "delivery-status", "rfc822-headers"};
	int k = 0;

	(void)state;
	assert_int_equal(mailmime_parse(out, len, &idx, &mime), MAILIMF_NO_ERROR);
	assert_int_equal(mime->mm_type, MAILMIME_MESSAGE);
	body = mime->mm_data.mm_message.mm_msg_mime;
	assert_non_null(body);
	assert_int_equal(body->mm_type, MAILMIME_MULTIPLE);
	ct = body->mm_content_type;
	assert_string_equal(ct->ct_subtype, "report");
	{
		int found = 0;

		for (it = clist_begin(ct->ct_parameters); it; it = clist_next(it)) {
			struct mailmime_parameter *p = clist_content(it);

			if (strcmp(p->pa_name, "report-type") == 0) {
				assert_string_equal(p->pa_value, "delivery-status");
				found = 1;
			}
		}
		assert_true(found);
	}
	assert_int_equal(clist_count(body->mm_data.mm_multipart.mm_mp_list), 3);
	for (it = clist_begin(body->mm_data.mm_multipart.mm_mp_list); it;
	    it = clist_next(it), k++) {
		struct mailmime *part = clist_content(it);

		assert_non_null(part->mm_content_type);
		assert_string_equal(part->mm_content_type->ct_subtype, want_sub[k]);
	}
	mailmime_free(mime);
	free(out);
}

static void
test_fields(void **state)
{
	size_t len, i;
	char *out = build(&info, rcpts, 2, &len), *s = dup0(out, len);

	(void)state;
	assert_non_null(strstr(s, "\r\nTo: jansen@zorg.example\r\n"));
	assert_non_null(strstr(s, "From: Mail Delivery System <MAILER-DAEMON@msa.zorg.example>\r\n"));
	assert_non_null(strstr(s, "\r\nAuto-Submitted: auto-replied\r\n"));
	assert_non_null(strstr(s, "\r\nReporting-MTA: dns; msa.zorg.example\r\n"));
	assert_non_null(strstr(s, "\r\nOriginal-Envelope-Id: ENV123\r\n"));
	assert_non_null(strstr(s, "\r\nArrival-Date: "));
	assert_non_null(strstr(s, "\r\n\r\nFinal-Recipient: rfc822; patient@ontvanger.example\r\n"
	    "Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.ontvanger.example\r\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <patient@ontvanger.example>: user unknown\r\n"
	    "Last-Attempt-Date: "));
	assert_non_null(strstr(s, "\r\n\r\nOriginal-Recipient: rfc822;Tweede@nullmx.example\r\n"
	    "Final-Recipient: rfc822; tweede@nullmx.example\r\nAction: failed\r\n"
	    "Status: 5.1.10\r\n"));
	/* The addressing fields the sender recognises the message by. */
	assert_non_null(strstr(s, "\r\nFrom: \"Dr. Jansen\" <jansen@zorg.example>\r\n"
	    "To: patient@ontvanger.example,\r\n\ttweede@ontvanger.example\r\n"));
	assert_non_null(strstr(s, "\r\nMessage-ID: <abc@zorg.example>\r\n"));
	assert_non_null(strstr(s, "\r\nReply-To: balie@zorg.example\r\n"));
	/* No content: no Subject of the original, nothing from content fields. */
	assert_null(strstr(s, "Uitslag HIV"));
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		if (strstr(s, secrets[i]) != NULL) {
			fprintf(stderr, "got \"%s\" in the DSN, want it absent\n", secrets[i]);
			fail();
		}
	}
	/* 7bit, CRLF only, lines under 998 octets. */
	{
		size_t line = 0;

		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)out[i];

			assert_true(c < 0x80);
			if (c == '\n') {
				assert_true(i > 0 && out[i - 1] == '\r');
				line = 0;
			} else {
				assert_true(++line < 998);
			}
			if (c == '\r')
				assert_true(i + 1 < len && out[i + 1] == '\n');
		}
	}
	free(s);
	free(out);
}

static void
test_null_sender(void **state)
{
	struct out_dsn_info in = info;
	char *out = (char *)1;
	size_t len = 1;

	(void)state;
	in.sender = "";
	assert_int_equal(out_dsn_build(&in, rcpts, 1, orig, sizeof(orig) - 1, &out, &len),
	    OUT_DSN_NONE);
	assert_null(out);
	in.sender = "<>";
	assert_int_equal(out_dsn_build(&in, rcpts, 1, orig, sizeof(orig) - 1, &out, &len),
	    OUT_DSN_NONE);
	in.sender = NULL;
	assert_int_equal(out_dsn_build(&in, rcpts, 1, orig, sizeof(orig) - 1, &out, &len),
	    OUT_DSN_NONE);
}

static void
test_injection_and_errors(void **state)
{
	struct out_dsn_rcpt r = {
		.rcpt = "a@b.example\r\nBcc: victim@x.example", .action = "failed",
		.status = "5.0.0",
		.diagnostic = "550 bad\r\n\r\n--boundary\r\nContent-Type: text/html\r\n\xff",
	};
	struct out_dsn_info in = info;
	size_t len;
	char *out, *s;

	(void)state;
	in.expired = 1;
	out = build(&in, &r, 1, &len);
	s = dup0(out, len);
	assert_null(strstr(s, "\r\nBcc:"));
	assert_null(strstr(s, "\r\nContent-Type: text/html"));
	assert_non_null(strstr(s, "Subject: Undelivered Mail (delivery time expired)\r\n"));
	free(s);
	free(out);

	r = (struct out_dsn_rcpt){.rcpt = "a@b.example", .action = "relayed", .status = "2.0.0"};
	assert_int_equal(out_dsn_build(&info, &r, 1, NULL, 0, &out, &len), OUT_DSN_ERR);
	r = (struct out_dsn_rcpt){.rcpt = "a@b.example", .action = "failed", .status = "x"};
	assert_int_equal(out_dsn_build(&info, &r, 1, NULL, 0, &out, &len), OUT_DSN_ERR);
	assert_int_equal(out_dsn_build(&info, rcpts, 0, NULL, 0, &out, &len), OUT_DSN_ERR);
	/* No original header at all still gives a valid report. */
	assert_int_equal(out_dsn_build(&info, rcpts, 1, NULL, 0, &out, &len), OUT_DSN_OK);
	free(out);
}

static void
test_keeps_field(void **state)
{
	(void)state;
	assert_true(out_dsn_keeps_field("message-id", 10));
	assert_true(out_dsn_keeps_field("FROM", 4));
	assert_false(out_dsn_keeps_field("Subject", 7));
	assert_false(out_dsn_keeps_field("Bcc", 3));
	assert_false(out_dsn_keeps_field("Content-Type", 12));
	assert_false(out_dsn_keeps_field("Received", 8));
}


/* The recipient cap: OUT_DSN_RCPT_MAX long addresses still fit. */
static void
test_many_recipients(void **state)
{
	struct out_dsn_rcpt *r = calloc(OUT_DSN_RCPT_MAX + 1, sizeof(*r));
	static char addr[OUT_DSN_RCPT_MAX][80];
	char *out = NULL;
	size_t len, i;

	(void)state;
	assert_non_null(r);
	for (i = 0; i <= OUT_DSN_RCPT_MAX; i++) {
		snprintf(addr[i % OUT_DSN_RCPT_MAX], sizeof(addr[0]),
		    "recipient-number-%04zu@a-rather-long-domain-name.example", i);
		r[i] = rcpts[0];
		r[i].rcpt = addr[i % OUT_DSN_RCPT_MAX];
	}
	assert_int_equal(out_dsn_build(&info, r, OUT_DSN_RCPT_MAX, orig, sizeof(orig) - 1,
	    &out, &len), OUT_DSN_OK);
	assert_true(len <= OUT_DSN_MAX);
	free(out);
	assert_int_equal(out_dsn_build(&info, r, OUT_DSN_RCPT_MAX + 1, orig,
	    sizeof(orig) - 1, &out, &len), OUT_DSN_ERR);
	free(r);
}

/* Arbitrary original header bytes: no crash (ASan), output still 7-bit CRLF. */
static void
test_garbage_header(void **state)
{
	static const char alphabet[] = "To:From \t\r\n\r\n\0\x80\xff:abc";
	unsigned int seed = 3;
	int round;

	(void)state;
	for (round = 0; round < 2000; round++) {
		size_t n = (size_t)(rand_r(&seed) % 200), i, len;
		char h[200], *out = NULL;

		for (i = 0; i < n; i++)
			h[i] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		assert_int_equal(out_dsn_build(&info, rcpts, 1, h, n, &out, &len), OUT_DSN_OK);
		for (i = 0; i < len; i++) {
			assert_true((unsigned char)out[i] < 0x80 && out[i] != '\0');
			if (out[i] == '\n')
				assert_true(i > 0 && out[i - 1] == '\r');
			if (out[i] == '\r')
				assert_true(i + 1 < len && out[i + 1] == '\n');
		}
		free(out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_null_sender),
		cmocka_unit_test(test_injection_and_errors),
		cmocka_unit_test(test_keeps_field),
		cmocka_unit_test(test_many_recipients),
		cmocka_unit_test(test_garbage_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
