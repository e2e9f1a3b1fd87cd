/*
 * dkim_bench.c - figures for the outbound message path: header rewrite,
 * DKIM signing (RSA 2048 and 3072) and policy decisions per second.
 * Prints figures only; asserts nothing.  Built with sanitizers by
 * `make unit` (slow figures); for real figures build it optimised:
 *
 *   cc -std=c11 -D_GNU_SOURCE -O2 -I. -o /tmp/dkim_bench tests/tools/dkim_bench.c \
 *      -Wl,--start-group build/rel/lib*.a -Wl,--end-group \
 *      -lssl -lcrypto -lsodium -lsqlite3 -lunbound -letpan -lpthread
 *   /tmp/dkim_bench
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "outbound/dkim.h"
#include "outbound/policy.h"
#include "outbound/rewrite.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char hdr[] =
    "Received: from client by msa; Mon, 23 Nov 2026 10:00:00 +0100\r\n"
    "From: \"Dr. Jansen\" <jansen@zorg.example>\r\n"
    "To: patient@ontvanger.example\r\n"
    "Subject: [veilig] Uitslag\r\n"
    "Organization: Praktijk\r\n"
    "List-Id: <x>\r\n"
    "X-NTA7516-Classify: secure\r\n"
    "Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
    "Message-ID: <1@zorg.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n";

static int
bench_sign(const char *dir, int bits, size_t body_len, int n)
{
	char key[512], line[1024], txt[8192], err[512], sig[OUT_DKIM_SIG_MAX];
	struct config c;
	struct out_dkim *k = NULL;
	char *body = malloc(body_len);
	double t0, t;
	size_t i, sl;
	int j;

	if (body == NULL)
		return -1;
	for (i = 0; i < body_len; i++)
		body[i] = (i % 78 == 76) ? '\r' : (i % 78 == 77) ? '\n' : (char)('a' + i % 26);
	snprintf(key, sizeof(key), "%s/k%d.pem", dir, bits);
	unlink(key);
	if (out_dkim_keygen("zorg.example", "b", bits, key, txt, sizeof(txt), err,
	    sizeof(err)) < 0 || config_defaults(&c) != 0) {
		fprintf(stderr, "keygen: %s\n", err);
		free(body);
		return -1;
	}
	snprintf(line, sizeof(line), "zorg.example b %s", key);
	if (config_set(&c, "dkim", "domain", line, err, sizeof(err)) != 0 ||
	    out_dkim_load(&c, &k, err, sizeof(err)) < 0) {
		fprintf(stderr, "load: %s\n", err);
		free(body);
		config_free(&c);
		return -1;
	}
	t0 = now_s();
	for (j = 0; j < n; j++) {
		struct out_dkim_sig *s;

		if (out_dkim_begin(k, hdr, sizeof(hdr) - 1, &s) < 0 ||
		    out_dkim_body(s, body, body_len) < 0 ||
		    out_dkim_end(s, 1, sig, sizeof(sig), &sl) < 0) {
			fprintf(stderr, "sign failed\n");
			break;
		}
	}
	t = now_s() - t0;
	printf("dkim rsa-%d body %7zu B: %8.1f msg/s  %8.1f MB/s body hashing incl.\n",
	    bits, body_len, n / t, (double)n * (double)body_len / t / 1e6);
	out_dkim_free(k);
	config_free(&c);
	unlink(key);
	free(body);
	return 0;
}

static void
bench_rewrite(int n)
{
	struct out_rw_opts o = {.nta_channel = 1, .sender_compliant = 1,
	    .provider_id = "ntamsa-test-provider"};
	char out[2048];
	size_t ol;
	double t0 = now_s(), t;
	int j;

	for (j = 0; j < n; j++)
		if (out_rw_header(hdr, sizeof(hdr) - 1, &o, out, sizeof(out), &ol) != 0)
			break;
	t = now_s() - t0;
	printf("rewrite header (%zu B, NTA channel): %10.0f headers/s\n",
	    sizeof(hdr) - 1, n / t);
}

static void
bench_policy(int n)
{
	static struct out_dns_facts df;
	struct config_list mk = {.n = 1, .v = {"m"}};
	struct out_policy_cfg pc = {.portal_after = 14400, .queue_lifetime = 432000,
	    .ou_markers = &mk};
	struct out_msg_facts m = {.health = 1, .now = 1800000000, .first_attempt = 1800000000};
	struct out_tls_facts t = {.connected = 1, .starttls_offered = 1, .tls = 1,
	    .tls_version = 0x0304, .dane_tlsa_added = 1, .dane_authority = 0,
	    .eightbitmime = 1};
	const struct out_tls_facts *tl[1] = {&t};
	enum out_action a;
	enum out_reason why;
	double t0, el;
	int j, ok = 0;

	df.fetched = m.now;
	df.nta = OUT_NTA_VALID;
	df.domain_exists = 1;
	df.n_mx = 2;
	for (j = 0; j < 2; j++) {
		df.mx[j].addr_state = OUT_DNS_SECURE;
		df.mx[j].tlsa_looked_up = 1;
		df.mx[j].n_tlsa = 1;
		df.mx[j].tlsa[0] = (struct out_tlsa){.usage = 3, .selector = 1, .mtype = 1, .len = 32};
	}
	t0 = now_s();
	for (j = 0; j < n; j++)
		ok += out_policy_decide(&pc, &m, &df, tl, 1, &a, &why) == OUT_CH_DANE;
	el = now_s() - t0;
	printf("policy decide (2 hosts, dane): %10.0f decisions/s (%d dane)\n", n / el, ok);
}

int
main(void)
{
	char dir[] = "/tmp/ntamsa-dkim-bench.XXXXXX";

	if (mkdtemp(dir) == NULL)
		return 1;
	bench_rewrite(200000);
	bench_policy(200000);
	bench_sign(dir, 2048, 2048, 300);
	bench_sign(dir, 2048, 1024 * 1024, 100);
	bench_sign(dir, 3072, 2048, 100);
	bench_sign(dir, 3072, 1024 * 1024, 50);
	rmdir(dir);
	return 0;
}
