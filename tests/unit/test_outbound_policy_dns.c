/*
 * test_outbound_policy_dns.c - facts + plan against a real signed DNS
 * hierarchy (tests/e2e/dnsnet: NSD on 127.0.60.53, zones signed at run
 * time, a validating libunbound through ntadns).  No mocks: every state
 * comes from the validator.  Skipped (not failed) only when NSD/ldns are
 * not installed or we are not root (port 53).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "ntadns/ntadns.h"
#include "outbound/facts.h"
#include "outbound/policy.h"

#define ADDR "127.0.60.53"
#define VALID "v=NTA7516-1;startdate=2024-01;enddate=2099-12;provider=testprov"
#define TLSA32 "8cb0fc6c527506a053f4f14c8464bebbd6dede2738d11468dd953d7d6a3021f1"

struct zone {
	const char *name, *kind, *body;
};

static const struct zone zones[] = {
	{"odane", "signed",
	    "@ TXT \"" VALID ";ntamx=10 mx.odane.test\"\n"
	    "@ MX 10 mx\n"
	    "mx A 127.0.60.25\n"
	    "_25._tcp.mx TLSA 3 1 1 " TLSA32 "\n"
	    "pkix A 127.0.60.26\n"
	    "_25._tcp.pkix TLSA 1 1 1 " TLSA32 "\n"
	    "full A 127.0.60.27\n"
	    "_25._tcp.full TLSA 3 1 0 " TLSA32 TLSA32 TLSA32 "\n"},
	{"obijc", "signed",
	    "@ TXT \"" VALID "\"\n@ MX 10 mx\nmx A 127.0.60.28\n"},
	{"omixed", "signed", "@ TXT \"" VALID ";ntamx=10 mx.oplain.test\"\n"},
	{"opkix", "signed", "@ TXT \"" VALID ";ntamx=10 pkix.odane.test\"\n"},
	{"ofull", "signed", "@ TXT \"" VALID ";ntamx=10 full.odane.test\"\n"},
	{"oplain", "unsigned", "@ TXT \"" VALID "\"\n@ MX 10 mx\nmx A 127.0.60.29\n"},
	{"obroken", "broken", "@ TXT \"" VALID "\"\n@ MX 10 mx\nmx A 127.0.60.30\n"},
	{"obadhost", "signed", "@ TXT \"" VALID ";ntamx=10 mx.obroken.test\"\n"
	    "@ MX 10 mx.odane.test.\n"},
	{"onone", "signed", "@ MX 10 mx\nmx A 127.0.60.31\n"},
	{"oinvalid", "signed", "@ TXT \"v=NTA7516-1;startdate=2024-13;enddate=2099-12;provider=x\"\n"
	    "@ MX 10 mx\nmx A 127.0.60.32\n"},
	{"onullmx", "signed", "@ TXT \"" VALID "\"\n@ MX 0 .\n"},
	{"ontamxnull", "signed", "@ TXT \"" VALID ";ntamx=10 mx.odane.test\"\n@ MX 0 .\n"},
};

static char work[256], tmp[128];
static int dns_up, cfg_loaded;
static struct config cfg;
static struct dns_resolver *res;
static struct out_policy_cfg pc;
static struct config_list markers = {.n = 1, .v = {"NTA7516-gecertificeerd"}};

static int
run(const char *cmd)
{
	int st = system(cmd);

	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
write_file(const char *path, const char *a, const char *b)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(a, f);
	if (b != NULL)
		fputs(b, f);
	return fclose(f);
}

static int teardown(void **state);

static int
setup_inner(void)
{
	char path[512], cmd[1024], *dnsconf = NULL, err[512] = "";
	size_t i, n = 0;
	FILE *f;

	if (geteuid() != 0 || access("/usr/sbin/nsd", X_OK) != 0 ||
	    run("command -v ldns-signzone >/dev/null 2>&1") != 0)
		return 0;	/* tests skip */
	/* A fixed directory: should an earlier run have died without its
	 * teardown, dnsnet's "up" on the same work dir stops that NSD first. */
	snprintf(tmp, sizeof(tmp), "/tmp/ntamsa-policy-dns");
	if (run("rm -rf /tmp/ntamsa-policy-dns/src && mkdir -p -m 0700 "
	    "/tmp/ntamsa-policy-dns/src") != 0)
		return -1;
	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		char head[64];

		snprintf(path, sizeof(path), "%s/src/%s.test.zone", tmp, zones[i].name);
		snprintf(head, sizeof(head), "; dnsnet: %s\n", zones[i].kind);
		if (write_file(path, head, zones[i].body) != 0)
			return -1;
	}
	snprintf(work, sizeof(work), "%s/net", tmp);
	snprintf(cmd, sizeof(cmd), "python3 tests/e2e/dnsnet/dnsnet.py up --zones %s/src "
	    "--work %s --addr " ADDR " >%s/up.log 2>&1", tmp, work, tmp);
	/* One retry: on a loaded machine NSD may miss dnsnet's start-up probe. */
	if (run(cmd) != 0 && (sleep(1), run(cmd)) != 0) {
		fprintf(stderr, "setup: dnsnet up failed:\n");
		snprintf(cmd, sizeof(cmd), "tail -20 %s/up.log %s/nsd.log >&2", tmp, work);
		(void)run(cmd);
		snprintf(cmd, sizeof(cmd), "python3 tests/e2e/dnsnet/dnsnet.py down --work %s "
		    ">/dev/null 2>&1", work);
		(void)run(cmd);
		return -1;
	}
	dns_up = 1;
	/* [server] + the ready [dns] section dnsnet wrote. */
	snprintf(path, sizeof(path), "%s/dns.conf", work);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	dnsconf = calloc(1, 65536);
	if (dnsconf == NULL)
		return -1;
	n = fread(dnsconf, 1, 65535, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/ntamsa.conf", tmp);
	snprintf(cmd, sizeof(cmd), "[server]\ndata_dir = %s\n\n", tmp);
	if (n == 0 || write_file(path, cmd, dnsconf) != 0) {
		fprintf(stderr, "setup: cannot write %s\n", path);
		free(dnsconf);
		return -1;
	}
	free(dnsconf);
	cfg_loaded = 1;
	if (config_defaults(&cfg) != 0 || config_load(&cfg, path, err, sizeof(err)) != 0 ||
	    dns_resolver_new(&cfg, &res, err, sizeof(err)) != 0 ||
	    out_policy_cfg_init(&pc, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "setup: config/resolver: %s\n", err);
		return -1;
	}
	pc.ou_markers = &markers;
	return 0;
}

/* cmocka skips the group teardown when setup fails: clean up here then. */
static int
setup(void **state)
{
	if (setup_inner() == 0)
		return 0;
	(void)teardown(state);
	return -1;
}

static int
teardown(void **state)
{
	char cmd[1024];

	(void)state;
	if (res != NULL)
		dns_resolver_free(res);
	res = NULL;
	out_policy_cfg_free(&pc);
	if (cfg_loaded)
		config_free(&cfg);
	cfg_loaded = 0;
	if (dns_up) {
		snprintf(cmd, sizeof(cmd), "python3 tests/e2e/dnsnet/dnsnet.py down --work %s "
		    ">/dev/null 2>&1", work);
		(void)run(cmd);
	}
	dns_up = 0;
	if (tmp[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
		(void)run(cmd);
	}
	tmp[0] = '\0';
	return 0;
}

struct dcase {
	const char *domain;
	int health;
	enum out_action act;
	enum out_reason why;		/* plan reason (action != deliver) */
	enum out_channel ch0;		/* first hop's channel (deliver) */
	enum out_verify v0;
	enum out_reason why0;		/* first hop's reason */
	int skip0;
};

static const struct dcase cases[] = {
	{"odane.test", 1, OUT_ACT_DELIVER, OUT_R_OK, OUT_CH_DANE, OUT_VERIFY_DANE,
	    OUT_R_SECURE_DANE, 0},
	{"obijc.test", 1, OUT_ACT_DELIVER, OUT_R_OK, OUT_CH_BIJLAGE_C, OUT_VERIFY_PKIX_HOST,
	    OUT_R_SECURE_NO_TLSA, 0},
	{"omixed.test", 1, OUT_ACT_DELIVER, OUT_R_OK, OUT_CH_BIJLAGE_C, OUT_VERIFY_PKIX_HOST,
	    OUT_R_ADDR_INSECURE, 0},
	{"opkix.test", 1, OUT_ACT_DELIVER, OUT_R_OK, OUT_CH_BIJLAGE_C, OUT_VERIFY_PKIX_HOST,
	    OUT_R_TLSA_UNUSABLE, 0},
	{"ofull.test", 1, OUT_ACT_DEFER, OUT_R_TLSA_TEMPFAIL, 0, 0, OUT_R_TLSA_TEMPFAIL, 1},
	{"oplain.test", 1, OUT_ACT_DELIVER, OUT_R_DOMAIN_INSECURE, OUT_CH_BIJLAGE_B,
	    OUT_VERIFY_PKIX_OU, OUT_R_DOMAIN_INSECURE, 0},
	{"obroken.test", 1, OUT_ACT_DEFER, OUT_R_TXT_BOGUS, 0, 0, 0, 0},
	{"obadhost.test", 1, OUT_ACT_DEFER, OUT_R_ADDR_BOGUS, 0, 0, OUT_R_ADDR_BOGUS, 1},
	{"onone.test", 1, OUT_ACT_PORTAL, OUT_R_NO_NTA_RECORD, 0, 0, 0, 0},
	{"oinvalid.test", 1, OUT_ACT_PORTAL, OUT_R_NTA_INVALID, 0, 0, 0, 0},
	{"onullmx.test", 1, OUT_ACT_BOUNCE, OUT_R_NULL_MX, 0, 0, 0, 0},
	{"ontamxnull.test", 1, OUT_ACT_DELIVER, OUT_R_OK, OUT_CH_DANE, OUT_VERIFY_DANE,
	    OUT_R_SECURE_DANE, 0},
	{"nosuch.test", 1, OUT_ACT_BOUNCE, OUT_R_NO_DOMAIN, 0, 0, 0, 0},
	/* Not health: the normal MX, DANE enforced where TLSA is usable. */
	{"odane.test", 0, OUT_ACT_DELIVER, OUT_R_NOT_HEALTH, OUT_CH_REGULAR, OUT_VERIFY_DANE,
	    OUT_R_SECURE_DANE, 0},
	{"oplain.test", 0, OUT_ACT_DELIVER, OUT_R_NOT_HEALTH, OUT_CH_REGULAR,
	    OUT_VERIFY_OPPORTUNISTIC, OUT_R_OPPORTUNISTIC, 0},
	{"obadhost.test", 0, OUT_ACT_DELIVER, OUT_R_NOT_HEALTH, OUT_CH_REGULAR, OUT_VERIFY_DANE,
	    OUT_R_SECURE_DANE, 0},
	{"ontamxnull.test", 0, OUT_ACT_BOUNCE, OUT_R_NULL_MX, 0, 0, 0, 0},
	{"obroken.test", 0, OUT_ACT_DEFER, OUT_R_MX_BOGUS, 0, 0, 0, 0},
	{"nosuch.test", 0, OUT_ACT_BOUNCE, OUT_R_NO_DOMAIN, 0, 0, 0, 0},
};

static void
test_cases(void **state)
{
	static struct out_dns_facts df;
	size_t i, failures = 0;
	time_t now = time(NULL);

	(void)state;
	if (res == NULL)
		skip();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *c = &cases[i];
		struct out_msg_facts m = {.health = c->health, .now = now, .first_attempt = now};
		struct out_plan p;
		int bad;

		assert_int_equal(out_facts_gather(res, c->domain, c->health, 25, now, &df), 0);
		assert_int_equal(out_policy_plan(&pc, &m, &df, &p), 0);
		bad = p.action != c->act || p.reason != c->why;
		if (!bad && (c->act == OUT_ACT_DELIVER || c->skip0))
			bad = p.n_hop == 0 || p.hop[0].skip != c->skip0 ||
			    p.hop[0].reason != c->why0 ||
			    (!c->skip0 && (p.hop[0].channel != c->ch0 || p.hop[0].verify != c->v0));
		if (bad) {
			fprintf(stderr, "%s health=%d: got %s/%s hop0 %s/%s/%s skip=%d "
			    "(txt %d nta %d mx %d n_mx %zu n_ntamx %zu), want %s/%s hop0 %s/%s/%s\n",
			    c->domain, c->health, out_action_name(p.action),
			    out_reason_name(p.reason),
			    p.n_hop ? out_channel_name(p.hop[0].channel) : "-",
			    p.n_hop ? out_verify_name(p.hop[0].verify) : "-",
			    p.n_hop ? out_reason_name(p.hop[0].reason) : "-",
			    p.n_hop ? p.hop[0].skip : -1, df.txt_state, df.nta, df.mx_state,
			    df.n_mx, df.n_ntamx, out_action_name(c->act), out_reason_name(c->why),
			    out_channel_name(c->ch0), out_verify_name(c->v0),
			    out_reason_name(c->why0));
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* Details the deliver worker relies on: TLSA data, base name, addresses. */
static void
test_dane_details(void **state)
{
	static struct out_dns_facts df;
	struct out_msg_facts m = {.health = 1};
	struct out_plan p;
	static const uint8_t want[4] = {0x8c, 0xb0, 0xfc, 0x6c};

	(void)state;
	if (res == NULL)
		skip();
	m.now = m.first_attempt = time(NULL);
	assert_int_equal(out_facts_gather(res, "odane.test", 1, 25, m.now, &df), 0);
	assert_string_equal(df.provider, "testprov");
	assert_int_equal(df.txt_state, OUT_DNS_SECURE);
	assert_int_equal(df.n_ntamx, 1);
	assert_string_equal(df.ntamx[0].name, "mx.odane.test");
	assert_int_equal(df.ntamx[0].n_addr, 1);
	assert_string_equal(df.ntamx[0].addr[0], "127.0.60.25");
	assert_string_equal(df.ntamx[0].tlsa_base, "mx.odane.test");
	assert_int_equal(out_policy_plan(&pc, &m, &df, &p), 0);
	assert_int_equal(p.hop[0].n_tlsa, 1);
	assert_int_equal(p.hop[0].tlsa[0]->usage, 3);
	assert_int_equal(p.hop[0].tlsa[0]->len, 32);
	assert_memory_equal(p.hop[0].tlsa[0]->data, want, 4);
	assert_int_equal(p.provider_unchecked, 1);
}

/* R-HDR-1: the sending domain's own record, and an invalid one. */
static void
test_sender_nta(void **state)
{
	static struct out_dns_facts df;
	time_t now = time(NULL);

	(void)state;
	if (res == NULL)
		skip();
	assert_int_equal(out_facts_gather_nta(res, "obijc.test", now, &df), 0);
	assert_int_equal(out_policy_sender_compliant(&pc, "obijc.test", &df, now), 1);
	assert_int_equal(out_facts_gather_nta(res, "oinvalid.test", now, &df), 0);
	assert_int_equal(df.nta, OUT_NTA_INVALID);
	assert_string_not_equal(df.nta_why, "");
	assert_int_equal(out_policy_sender_compliant(&pc, "oinvalid.test", &df, now), 0);
	assert_int_equal(out_facts_gather_nta(res, "obroken.test", now, &df), 0);
	assert_int_equal(out_policy_sender_compliant(&pc, "obroken.test", &df, now), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_dane_details),
		cmocka_unit_test(test_sender_nta),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
