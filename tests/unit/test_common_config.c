/* test_common_config.c - the config table: defaults, parsing, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"

static char *
write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/ntamsa-conf-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void
test_defaults(void **state)
{
	(void)state;
	struct config c;
	assert_int_equal(config_defaults(&c), 0);
	assert_string_equal(c.submission, "127.0.0.1:587");
	assert_int_equal(c.out_port, 25);
	assert_int_equal(c.nta_portal_after, 4 * 3600);
	assert_int_equal(c.out_queue_lifetime, 5 * 86400);
	assert_string_equal(c.dns_trust_anchor, "/usr/share/dns/root.key");
	assert_string_equal(c.user, "");
	assert_string_equal(c.deliver_user, "");	/* "": deliver runs as server.user */
	config_free(&c);
}

static void
test_load_good(void **state)
{
	(void)state;
	struct config c;
	char err[256];
	char *p = write_tmp("# comment\n[server]\nhostname = mx.example.test\n"
	    "data_dir = data\nmax_message_size = 10M\nuser = ntamsa\n"
	    "deliver_user = ntamsa-deliver\n[dns]\n"
	    "unbound_option = local-zone: test. transparent\n"
	    "unbound_option = do-ip6: no\n[nta]\nportal_after = 30s\n");
	assert_int_equal(config_defaults(&c), 0);
	assert_int_equal(config_load(&c, p, err, sizeof(err)), 0);
	assert_string_equal(c.hostname, "mx.example.test");
	assert_string_equal(c.user, "ntamsa");
	assert_string_equal(c.deliver_user, "ntamsa-deliver");
	assert_string_equal(c.data_dir, "/tmp/data");
	char *again = config_path(&c, c.data_dir);
	assert_string_equal(again, "/tmp/data");
	free(again);
	assert_int_equal(c.max_message_size, 10 * 1048576);
	assert_int_equal(c.dns_unbound_option.n, 2);
	assert_string_equal(c.dns_unbound_option.v[0], "local-zone: test. transparent");
	assert_int_equal(c.nta_portal_after, 30);
	config_free(&c);
	unlink(p);
}

static void
expect_error(const char *text, const char *want)
{
	struct config c;
	char err[256];
	char *p = write_tmp(text);
	assert_int_equal(config_defaults(&c), 0);
	assert_int_equal(config_load(&c, p, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("got '%s', want it to contain '%s'", err, want);
	config_free(&c);
	unlink(p);
}

static void
test_load_bad(void **state)
{
	(void)state;
	expect_error("[server]\nnosuchkey = 1\n", ":2: unknown key 'nosuchkey'");
	expect_error("hostname = x\n", ":1: key 'hostname' outside a [section]");
	expect_error("[server]\nmax_sessions = many\n", ":2: server.max_sessions: expected a whole number");
	expect_error("[server]\nmax_sessions = 0\n", "out of range");
	expect_error("[server]\nsubmission = 587\n", "expected HOST:PORT");
	expect_error("[server]\nreceived_show_client = maybe\n", "expected yes or no");
	expect_error("[nta]\nportal_after = 4 hours\n", "expected a duration");
	expect_error("[server\n", ":1: bad section header");
	expect_error("[server]\njust a line\n", ":2: expected 'key = value'");
}

static void
test_example_file(void **state)
{
	(void)state;
	struct config c;
	char err[256];
	assert_int_equal(config_defaults(&c), 0);
	if (config_load(&c, "etc/ntamsa.conf.example", err, sizeof(err)) != 0)
		fail_msg("example config refused: %s", err);
	assert_string_equal(c.submission, "127.0.0.1:587");
	assert_int_equal(c.max_message_size, 35 * 1048576);
	config_free(&c);
}

static void
test_inline_comment(void **state)
{
	(void)state;
	struct config c;
	char err[256];
	char *p = write_tmp("[nta]\nprovider_id = a#b   # the id\n");
	assert_int_equal(config_defaults(&c), 0);
	assert_int_equal(config_load(&c, p, err, sizeof(err)), 0);
	assert_string_equal(c.nta_provider_id, "a#b");
	config_free(&c);
	unlink(p);
}

static void
test_scalars(void **state)
{
	(void)state;
	int64_t v;
	assert_int_equal(config_parse_duration("4h", &v), 0);
	assert_int_equal(v, 14400);
	assert_int_equal(config_parse_duration("2d", &v), 0);
	assert_int_equal(v, 172800);
	assert_int_equal(config_parse_duration("-1", &v), -1);
	assert_int_equal(config_parse_duration("5x", &v), -1);
	assert_int_equal(config_parse_size("512k", &v), 0);
	assert_int_equal(v, 524288);
	assert_int_equal(config_parse_size("99999999999999999999", &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_load_good),
		cmocka_unit_test(test_load_bad),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_inline_comment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
