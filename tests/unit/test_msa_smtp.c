/* test_msa_smtp - SMTP parser, DATA state machine, submit fix-ups, accounts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "msa/accounts.h"
#include "msa/smtpd_int.h"
#include "msa/smtpd_parse.h"
#include "msa/submit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
test_parse_cmd(void **state)
{
	static const struct {
		const char *line;
		int rc;
		enum smtp_verb verb;
		const char *path;
	} cases[] = {
		{"EHLO client.example", SMTP_P_OK, SMTP_V_EHLO, ""},
		{"ehlo", SMTP_P_SYNTAX, SMTP_V_EHLO, ""},
		{"MAIL FROM:<a@b.example>", SMTP_P_OK, SMTP_V_MAIL, "a@b.example"},
		{"mail from: <a@b.example> SIZE=100 BODY=8BITMIME", SMTP_P_OK, SMTP_V_MAIL, "a@b.example"},
		{"MAIL FROM:<>", SMTP_P_OK, SMTP_V_MAIL, ""},
		{"MAIL FROM:a@b.example", SMTP_P_SYNTAX, SMTP_V_MAIL, ""},
		{"MAIL FROM:<a@b.example> SMTPUTF8", SMTP_P_PARAM, SMTP_V_MAIL, ""},
		{"MAIL FROM:<a@b.example> BODY=8BITMIMEX", SMTP_P_PARAM, SMTP_V_MAIL, ""},
		{"MAIL FROM:<a@b.example> SIZE=12x", SMTP_P_SYNTAX, SMTP_V_MAIL, ""},
		{"RCPT TO:<@relay.example:c@d.example>", SMTP_P_OK, SMTP_V_RCPT, "c@d.example"},
		{"RCPT TO:<>", SMTP_P_PATH, SMTP_V_RCPT, ""},
		{"RCPT TO:<nodomain>", SMTP_P_PATH, SMTP_V_RCPT, ""},
		{"RCPT TO:<a@b> NOTIFY=NEVER", SMTP_P_PARAM, SMTP_V_RCPT, ""},
		{"DATA", SMTP_P_OK, SMTP_V_DATA, ""},
		{"DATA x", SMTP_P_SYNTAX, SMTP_V_DATA, ""},
		{"STARTTLS", SMTP_P_OK, SMTP_V_STARTTLS, ""},
		{"AUTH PLAIN AGFAYg==", SMTP_P_OK, SMTP_V_AUTH, ""},
		{"XYZZY", SMTP_P_UNKNOWN, SMTP_V_UNKNOWN, ""},
		{"NOOP \x80", SMTP_P_NUL, SMTP_V_UNKNOWN, ""},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtp_cmd c;
		int rc = smtp_parse_cmd(cases[i].line, strlen(cases[i].line), &c);
		if (rc != cases[i].rc)
			fail_msg("%s: got rc %d, want %d", cases[i].line, rc, cases[i].rc);
		if (rc == SMTP_P_OK && (c.verb != cases[i].verb || strcmp(c.path, cases[i].path)))
			fail_msg("%s: got verb %d path '%s', want %d '%s'", cases[i].line,
			    c.verb, c.path, cases[i].verb, cases[i].path);
	}
	struct smtp_cmd c;
	assert_int_equal(smtp_parse_cmd("MAIL FROM:<a@b> SIZE=4096", 25, &c), SMTP_P_OK);
	assert_true(c.has_size && c.size == 4096);
}

static void
test_line_take(void **state)
{
	size_t ll, used;
	char big[600];
	(void)state;
	assert_int_equal(smtp_line_take("NOOP\r\nQUIT\r\n", 12, 512, &ll, &used), 1);
	assert_int_equal(ll, 4);
	assert_int_equal(used, 6);
	assert_int_equal(smtp_line_take("NOOP", 4, 512, &ll, &used), 0);
	assert_int_equal(smtp_line_take("NOOP\nX", 6, 512, &ll, &used), -1);	/* bare LF */
	assert_int_equal(used, 5);
	assert_int_equal(smtp_line_take("NO\rOP\r\n", 7, 512, &ll, &used), -1);	/* CR inside */
	memset(big, 'a', sizeof(big));
	assert_int_equal(smtp_line_take(big, sizeof(big), 512, &ll, &used), -1);
	assert_int_equal(used, sizeof(big));
	big[511] = '\n';
	big[510] = '\r';
	assert_int_equal(smtp_line_take(big, 512, 512, &ll, &used), 1);	/* 512 with CRLF is fine */
}

/* Feed in, one byte at a time and whole; both must agree. */
static int
data_run(const char *in, size_t n, size_t max, int *done, char *out, size_t outlen, long *used)
{
	struct smtp_data a, b;
	long ua = 0;
	smtp_data_init(&a, max);
	smtp_data_init(&b, max);
	long ub = smtp_data_feed(&b, in, n);
	for (size_t i = 0; i < n && !a.done; i++)
		ua += smtp_data_feed(&a, in + i, 1);
	assert_int_equal(ua, ub);
	assert_int_equal(a.err, b.err);
	assert_int_equal(a.out_len, b.out_len);
	*done = b.done;
	*used = ub;
	snprintf(out, outlen, "%.*s", (int)b.out_len, b.out ? b.out : "");
	int err = b.err;
	smtp_data_free(&a);
	smtp_data_free(&b);
	return err;
}

static void
test_data(void **state)
{
	static const struct {
		const char *name, *in;
		int err, done;
		const char *out;
		long used;	/* -1: all */
	} cases[] = {
		{"plain", "a\r\nb\r\n.\r\nQUIT\r\n", SMTP_D_OK, 1, "a\r\nb\r\n", 9},
		{"empty", ".\r\n", SMTP_D_OK, 1, "", 3},
		{"unstuff", "..x\r\n...\r\n.\r\n", SMTP_D_OK, 1, ".x\r\n..\r\n", -1},
		{"LF.LF", "a\n.\nMAIL\r\n.\r\n", SMTP_D_BARE_LF, 1, "", -1},
		{"LF.CRLF", "a\n.\r\nMAIL\r\n.\r\n", SMTP_D_BARE_LF, 1, "", -1},
		{"CR.CR", "a\r.\rMAIL\r\n.\r\n", SMTP_D_BARE_CR, 1, "", -1},
		{"CRLF.LF", "a\r\n.\nMAIL\r\n.\r\n", SMTP_D_BARE_LF, 1, "", -1},
		{"CRLF.CR", "a\r\n.\rX\r\n.\r\n", SMTP_D_BARE_CR, 1, "", -1},
		{"not-ended", "a\r\n.x\r\n", SMTP_D_OK, 0, "a\r\nx\r\n", -1},
		{"lf-only-end", "a\n.\n", SMTP_D_BARE_LF, 0, "", -1},
		{"nul", "a\0b\r\n.\r\n", SMTP_D_NUL, 1, "", 8},
	};
	char out[256];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int done;
		long used;
		size_t n = strlen(cases[i].in);
		if (!strcmp(cases[i].name, "nul"))
			n = 8;
		int err = data_run(cases[i].in, n, 1000, &done, out, sizeof(out), &used);
		long want_used = cases[i].used < 0 ? (long)n : cases[i].used;
		if (err != cases[i].err || done != cases[i].done || used != want_used ||
		    (err == SMTP_D_OK && strcmp(out, cases[i].out)))
			fail_msg("%s: got err %d done %d used %ld out '%s', want %d %d %ld '%s'",
			    cases[i].name, err, done, used, out, cases[i].err, cases[i].done,
			    want_used, cases[i].out);
	}
	/* 998 octets of text are fine, 999 are not; the size limit is exact. */
	char *line = malloc(1200);
	assert_non_null(line);
	for (int len = 998; len <= 999; len++) {
		memset(line, 'x', (size_t)len);
		memcpy(line + len, "\r\n.\r\n", 5);
		int done;
		long used;
		int err = data_run(line, (size_t)len + 5, 2000, &done, out, sizeof(out), &used);
		assert_int_equal(err, len == 998 ? SMTP_D_OK : SMTP_D_LONG);
		err = data_run(line, (size_t)len + 5, (size_t)len + 1, &done, out, sizeof(out), &used);
		assert_int_equal(err, len == 998 ? SMTP_D_SIZE : SMTP_D_LONG);
	}
	free(line);
}

static int
collect(const char *addr, void *arg)
{
	char *buf = arg;
	size_t n = strlen(buf);
	snprintf(buf + n, 512 - n, "%s;", addr);
	return 0;
}

static int
wr_buf(const void *p, size_t n, void *arg)
{
	char *buf = arg;
	size_t l = strlen(buf);
	if (l + n >= 4096)
		return -1;
	memcpy(buf + l, p, n);
	buf[l + n] = '\0';
	return 0;
}

static void
test_submit(void **state)
{
	static const char msg[] =
	    "From: \"Doe, J.\" <j@a.example> (work), k@b.example\r\n"
	    "Sender: Team: s@c.example;\r\n"
	    "Bcc: hidden@d.example,\r\n\tother@e.example\r\n"
	    "Subject: x\r\n\r\nbody\r\n";
	struct submit_msg *m = malloc(sizeof(*m));
	char addrs[512] = "", out[4096] = "";
	(void)state;
	assert_non_null(m);
	assert_int_equal(submit_parse(msg, sizeof(msg) - 1, m), 0);
	assert_int_equal(m->n_fields, 4);
	assert_int_equal(m->n_from, 1);
	assert_false(m->has_date);
	assert_int_equal(submit_header_senders(m, collect, addrs), 0);
	assert_string_equal(addrs, "j@a.example;k@b.example;s@c.example;");
	struct submit_env env = {.hostname = "msa.example", .queue_id = "q1",
	    .client_ip = "192.0.2.1", .client_helo = "pc", .show_client = 0, .tls = 1};
	assert_int_equal(submit_write(m, &env, wr_buf, out), 0);
	assert_true(strncmp(out, "Received: by msa.example (ntamsa) with ESMTPSA id q1;", 53) == 0);
	assert_null(strstr(out, "192.0.2.1"));
	assert_null(strstr(out, "hidden"));
	assert_null(strstr(out, "other@e"));
	assert_non_null(strstr(out, "\r\nDate: "));
	assert_non_null(strstr(out, "\r\nMessage-ID: <"));
	assert_non_null(strstr(out, "@msa.example>\r\n\r\nbody\r\n"));
	assert_true(m->message_id[0] == '<');
	/* Unterminated <address> or quote: unparsable, never read past the end. */
	static const char bad1[] = "From: <a@b.example\r\n\r\nx\r\n";
	static const char bad2[] = "From: \"a@b.example\r\n\r\nx\r\n";
	addrs[0] = '\0';
	assert_int_equal(submit_parse(bad1, sizeof(bad1) - 1, m), 0);
	assert_int_equal(submit_header_senders(m, collect, addrs), -1);
	assert_int_equal(submit_parse(bad2, sizeof(bad2) - 1, m), 0);
	assert_int_equal(submit_header_senders(m, collect, addrs), -1);
	free(m);
}

static void
test_accounts(void **state)
{
	struct store_account *a = calloc(1, sizeof(*a));
	(void)state;
	assert_non_null(a);
	snprintf(a->allow_from[0], STORE_ADDR_MAX, "Alice@Example.org");
	snprintf(a->allow_from[1], STORE_ADDR_MAX, "*@team.example");
	a->n_allow_from = 2;
	assert_true(acct_sender_allowed(a, "Alice@EXAMPLE.ORG"));
	assert_false(acct_sender_allowed(a, "alice@example.org.evil"));
	assert_false(acct_sender_allowed(a, "bob@example.org"));
	assert_true(acct_sender_allowed(a, "x@Team.Example"));
	assert_false(acct_sender_allowed(a, "x@sub.team.example"));
	assert_false(acct_sender_allowed(a, ""));

	struct sockaddr_in sin = {.sin_family = AF_INET};
	inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
	assert_true(acct_ip_allowed(a, (struct sockaddr *)&sin));	/* no list: any */
	snprintf(a->allow_ip[0], sizeof(a->allow_ip[0]), "10.0.0.0/8");
	snprintf(a->allow_ip[1], sizeof(a->allow_ip[1]), "2001:db8::/32");
	a->n_allow_ip = 2;
	assert_true(acct_ip_allowed(a, (struct sockaddr *)&sin));
	inet_pton(AF_INET, "11.1.2.3", &sin.sin_addr);
	assert_false(acct_ip_allowed(a, (struct sockaddr *)&sin));
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "2001:db8:1::5", &s6.sin6_addr);
	assert_true(acct_ip_allowed(a, (struct sockaddr *)&s6));
	inet_pton(AF_INET6, "::ffff:10.9.9.9", &s6.sin6_addr);
	assert_true(acct_ip_allowed(a, (struct sockaddr *)&s6));
	assert_int_equal(acct_cidr_valid("10.0.0.0/33"), -1);
	assert_int_equal(acct_pattern_valid("*@x.example"), 0);
	assert_int_equal(acct_pattern_valid("x y@z"), -1);
	free(a);
}

static void
test_sasl_and_locks(void **state)
{
	char user[64], pw[64];
	size_t pl;
	(void)state;
	/* "\0alice@x\0secret" and "alice@x\0alice@x\0secret" */
	assert_int_equal(smtp_sasl_plain("AGFsaWNlQHgAc2VjcmV0", user, sizeof(user), pw, sizeof(pw), &pl), 0);
	assert_string_equal(user, "alice@x");
	assert_string_equal(pw, "secret");
	assert_int_equal(smtp_sasl_plain("YWxpY2VAeABhbGljZUB4AHNlY3JldA==", user, sizeof(user), pw, sizeof(pw), &pl), 0);
	/* authzid differs from authcid: refused */
	assert_int_equal(smtp_sasl_plain("Ym9iQHgAYWxpY2VAeABzZWNyZXQ=", user, sizeof(user), pw, sizeof(pw), &pl), -1);
	assert_int_equal(smtp_sasl_plain("!!!", user, sizeof(user), pw, sizeof(pw), &pl), -1);

	struct smtp_locks *l = smtp_locks_new(3, 100);
	assert_non_null(l);
	assert_int_equal(smtp_locks_fail(l, "k", 1000), 1);
	assert_int_equal(smtp_locks_fail(l, "k", 1001), 2);
	assert_false(smtp_locks_locked(l, "k", 1002));
	assert_int_equal(smtp_locks_fail(l, "k", 1002), 3);
	assert_true(smtp_locks_locked(l, "k", 1003));
	assert_false(smtp_locks_locked(l, "other", 1003));
	assert_false(smtp_locks_locked(l, "k", 1102));	/* lock-out over */
	smtp_locks_free(l);
}

static void
test_authcache(void **state)
{
	struct smtp_authcache *c = smtp_authcache_new();
	(void)state;
	assert_non_null(c);
	assert_false(smtp_authcache_hit(c, "a@x", "pw", 2, "$h1", 1000));
	smtp_authcache_put(c, "a@x", "pw", 2, "$h1", 1000);
	assert_true(smtp_authcache_hit(c, "a@x", "pw", 2, "$h1", 1001));
	assert_true(smtp_authcache_hit(c, "A@X", "pw", 2, "$h1", 1001));	/* NOCASE accounts */
	assert_false(smtp_authcache_hit(c, "a@x", "pW", 2, "$h1", 1001));
	assert_false(smtp_authcache_hit(c, "a@x", "pw", 2, "$h2", 1001));	/* password changed */
	assert_false(smtp_authcache_hit(c, "b@x", "pw", 2, "$h1", 1001));
	assert_false(smtp_authcache_hit(c, "a@x", "pw", 2, "$h1", 1000 + SMTP_AUTHCACHE_TTL));
	smtp_authcache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_cmd),
		cmocka_unit_test(test_line_take),
		cmocka_unit_test(test_data),
		cmocka_unit_test(test_submit),
		cmocka_unit_test(test_accounts),
		cmocka_unit_test(test_sasl_and_locks),
		cmocka_unit_test(test_authcache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
