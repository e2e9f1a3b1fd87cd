/*
 * test_outbound_smtpc.c - the outbound SMTP client against a real TLS peer
 * (tests/unit/test_outbound_smtpc_peer.py on 127.0.60.1) with certificates
 * generated at run time: DANE-EE/TA, unusable TLSA, PKIX names, expiry,
 * wildcards, the Bijlage B OU marker, STARTTLS missing or injected, TLS 1.1,
 * and the transaction (dot-stuffing, pipelining, per-recipient replies,
 * 8BITMIME, SIZE, connection reuse) and an IPv6 peer on ::1; and the
 * reason the policy gives each failed connection through the shared facts
 * mapping (out_tls_facts_from_smtpc), also when OpenSSL aborted the
 * handshake at the certificate check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "outbound/conncache.h"
#include "outbound/facts.h"
#include "outbound/policy.h"
#include "outbound/smtpc.h"

#define PEER_ADDR "127.0.60.1"

static char tmpdir[] = "/tmp/ntamsa-smtpc-XXXXXX";
static char certdir[300], outdir[300];
static pid_t peer_pid = -1;
static int peer_port;
static struct smtpc_tls *tls;

static int
run(const char *cmd)
{
	int rc = system(cmd);
	return (rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0) ? 0 : -1;
}

static pid_t peer6_pid = -1;
static int peer6_port;

static int
start_peer_at(const char *addr, pid_t *pidp, int *portp)
{
	int pfd[2];
	char line[64] = "";
	FILE *f;
	pid_t pid;

	if (pipe(pfd) != 0)
		return -1;
	pid = *pidp = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* The peer dies with the test, also when the test crashes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(pfd[1], 1);
		close(pfd[0]);
		execlp("python3", "python3", "-W", "ignore", "tests/unit/test_outbound_smtpc_peer.py",
		    addr, "0", certdir, outdir, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL ||
	    sscanf(line, "ready %d", portp) != 1) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static int
setup(void **state)
{
	char cmd[1200];
	const char *markers[] = {"NTA7516-CERTIFIED"};
	char ca[400], err[256];
	struct smtpc_tls_conf tc = {.ou_markers = markers, .n_ou_markers = 1};

	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(certdir, sizeof(certdir), "%s/pki", tmpdir);
	snprintf(outdir, sizeof(outdir), "%s/out", tmpdir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s %s && sh tests/unit/test_outbound_smtpc_certs.sh %s",
	    certdir, outdir, certdir);
	if (run(cmd) != 0 || start_peer_at(PEER_ADDR, &peer_pid, &peer_port) != 0)
		return -1;
	/* IPv6 peer on ::1 when the host has IPv6 loopback; else that case skips. */
	if (start_peer_at("::1", &peer6_pid, &peer6_port) != 0)
		peer6_port = 0;
	snprintf(ca, sizeof(ca), "%s/ca.pem", certdir);
	tc.ca_file = ca;
	tc.bijlage_b_ca_file = ca;
	if (smtpc_tls_new(&tc, &tls, err, sizeof(err)) != 0) {
		fprintf(stderr, "smtpc_tls_new: %s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	char cmd[400];

	(void)state;
	smtpc_tls_free(tls);
	if (peer_pid > 0) {
		kill(peer_pid, SIGTERM);
		waitpid(peer_pid, NULL, 0);
	}
	if (peer6_pid > 0) {
		kill(peer6_pid, SIGTERM);
		waitpid(peer6_pid, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return run(cmd);
}

/* TLSA association data of certdir/NAME.crt: selector 0 cert, 1 SPKI. */
static size_t
tlsa_data(const char *name, int selector, int mtype, uint8_t *out, size_t outlen)
{
	char path[400];
	FILE *f;
	X509 *x;
	unsigned char *der = NULL;
	int n;
	unsigned int mdlen = 0;

	snprintf(path, sizeof(path), "%s/%s.crt", certdir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	n = selector == 0 ? i2d_X509(x, &der) : i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	assert_true(n > 0);
	if (mtype == 0) {
		assert_true((size_t)n <= outlen);
		memcpy(out, der, (size_t)n);
		mdlen = (unsigned int)n;
	} else {
		assert_int_equal(EVP_Digest(der, (size_t)n, out, &mdlen,
		    mtype == 1 ? EVP_sha256() : EVP_sha512(), NULL), 1);
	}
	OPENSSL_free(der);
	X509_free(x);
	return mdlen;
}

struct vcase {
	const char *name;
	const char *opts;		/* EHLO argument: peer behaviour */
	const char *host, *base;
	enum smtpc_auth auth;
	int nta;
	const char *tlsa_cert;		/* cert the TLSA record is made from, NULL none */
	int usage, selector, mtype;
	int want_rc;
	const char *want_result;	/* prefix of facts.result */
	int want_added;			/* -1 = don't care */
};

static const struct vcase vcases[] = {
	{"dane-ee match", "cert=self", "mx.good.test", NULL, SMTPC_AUTH_DANE, 1, "self", 3, 1, 1, SMTPC_OK, "dane-ee", 1},
	{"dane-ee full cert sha512", "cert=self", "mx.good.test", NULL, SMTPC_AUTH_DANE, 1, "self", 3, 0, 2, SMTPC_OK, "dane-ee", 1},
	{"dane-ee mismatch", "cert=self", "mx.good.test", NULL, SMTPC_AUTH_DANE, 1, "good", 3, 1, 1, SMTPC_CHANNEL, "failed:", 1},
	{"dane-ee mismatch regular", "cert=self", "mx.good.test", NULL, SMTPC_AUTH_DANE, 0, "good", 3, 1, 1, SMTPC_CHANNEL, "failed:", 1},
	{"dane-ta match", "cert=good", "mx.good.test", NULL, SMTPC_AUTH_DANE, 1, "ca", 2, 0, 1, SMTPC_OK, "dane-ta", 1},
	{"dane-ta spki", "cert=good", "mx.good.test", NULL, SMTPC_AUTH_DANE, 1, "ca", 2, 1, 1, SMTPC_OK, "dane-ta", 1},
	{"dane-ta base domain as name", "cert=good", "alias.other.test", "mx.good.test", SMTPC_AUTH_DANE, 1, "ca", 2, 0, 1, SMTPC_OK, "dane-ta", 1},
	{"dane-ta wrong name", "cert=good", "mx.other.test", NULL, SMTPC_AUTH_DANE, 1, "ca", 2, 0, 1, SMTPC_CHANNEL, "failed:", 1},
	{"dane-ee ignores name", "cert=good", "mx.other.test", NULL, SMTPC_AUTH_DANE, 1, "good", 3, 1, 1, SMTPC_OK, "dane-ee", 1},
	{"pkix-ee only = no dane", "cert=good", "mx.good.test", NULL, SMTPC_AUTH_DANE, 1, "good", 1, 0, 1, SMTPC_CHANNEL, "failed:no-usable-tlsa", 0},
	{"pkix-ta only = no dane", "cert=good", "mx.good.test", NULL, SMTPC_AUTH_DANE, 1, "ca", 0, 0, 1, SMTPC_CHANNEL, "failed:no-usable-tlsa", 0},
	{"pkix good", "cert=good", "mx.good.test", NULL, SMTPC_AUTH_PKIX, 1, NULL, 0, 0, 0, SMTPC_OK, "pkix", -1},
	{"pkix bad name", "cert=good", "mx.bad.test", NULL, SMTPC_AUTH_PKIX, 1, NULL, 0, 0, 0, SMTPC_CHANNEL, "failed:", -1},
	{"pkix expired", "cert=expired", "mx.good.test", NULL, SMTPC_AUTH_PKIX, 1, NULL, 0, 0, 0, SMTPC_CHANNEL, "failed:", -1},
	{"pkix partial wildcard", "cert=wild", "mx1.good.test", NULL, SMTPC_AUTH_PKIX, 1, NULL, 0, 0, 0, SMTPC_CHANNEL, "failed:", -1},
	{"pkix full wildcard", "cert=fullwild", "mx1.good.test", NULL, SMTPC_AUTH_PKIX, 1, NULL, 0, 0, 0, SMTPC_OK, "pkix", -1},
	{"pkix untrusted self-signed", "cert=self", "not-the-host", NULL, SMTPC_AUTH_PKIX, 1, NULL, 0, 0, 0, SMTPC_CHANNEL, "failed:", -1},
	{"ou marker present", "cert=ou", "mx.ou.test", NULL, SMTPC_AUTH_PKIX_OU, 1, NULL, 0, 0, 0, SMTPC_OK, "pkix+ou", -1},
	{"ou marker prefix only", "cert=ounear", "mx.ou.test", NULL, SMTPC_AUTH_PKIX_OU, 1, NULL, 0, 0, 0, SMTPC_CHANNEL, "failed:ou", -1},
	{"ou absent", "cert=good", "mx.good.test", NULL, SMTPC_AUTH_PKIX_OU, 1, NULL, 0, 0, 0, SMTPC_CHANNEL, "failed:ou", -1},
	{"no starttls nta", "nostarttls", "mx.good.test", NULL, SMTPC_AUTH_PKIX, 1, NULL, 0, 0, 0, SMTPC_CHANNEL, "failed:no-starttls", -1},
	{"no starttls dane", "nostarttls", "mx.good.test", NULL, SMTPC_AUTH_DANE, 0, "self", 3, 1, 1, SMTPC_CHANNEL, "failed:no-starttls", -1},
	{"no starttls regular", "nostarttls", "mx.good.test", NULL, SMTPC_AUTH_NONE, 0, NULL, 0, 0, 0, SMTPC_OK, "none", -1},
	{"tls 1.1 peer refused", "cert=good,tls=1.1", "mx.good.test", NULL, SMTPC_AUTH_PKIX, 1, NULL, 0, 0, 0, SMTPC_CHANNEL, "failed:handshake", -1},
	{"starttls injection", "cert=good,inject", "mx.good.test", NULL, SMTPC_AUTH_PKIX, 1, NULL, 0, 0, 0, SMTPC_CHANNEL, "", -1},
	{"tls 1.1 peer regular, plaintext retry", "cert=good,tls=1.1", "mx.good.test", NULL, SMTPC_AUTH_NONE, 0, NULL, 0, 0, 0, SMTPC_OK, "none", -1},
	{"regular opportunistic", "cert=self", "mx.good.test", NULL, SMTPC_AUTH_NONE, 0, NULL, 0, 0, 0, SMTPC_OK, "none", -1},
	/* Spec section 7: NTA channels offer "goed" suites and groups only. */
	{"cbc-only peer refused pkix", "cert=good,tls=cbc", "mx.good.test", NULL, SMTPC_AUTH_PKIX, 1, NULL, 0, 0, 0, SMTPC_CHANNEL, "failed:handshake", -1},
	{"cbc-only peer refused dane", "cert=self,tls=cbc", "mx.good.test", NULL, SMTPC_AUTH_DANE, 1, "self", 3, 1, 1, SMTPC_CHANNEL, "failed:handshake", -1},
	{"cbc-only peer regular", "cert=good,tls=cbc", "mx.good.test", NULL, SMTPC_AUTH_NONE, 0, NULL, 0, 0, 0, SMTPC_OK, "none", -1},
	{"p521-only peer refused pkix", "cert=good,tls=p521", "mx.good.test", NULL, SMTPC_AUTH_PKIX, 1, NULL, 0, 0, 0, SMTPC_CHANNEL, "failed:handshake", -1},
	{"p521-only peer regular", "cert=good,tls=p521", "mx.good.test", NULL, SMTPC_AUTH_NONE, 0, NULL, 0, 0, 0, SMTPC_OK, "none", -1},
};

static void
fill_params(struct smtpc_params *p, const char *opts, const char *host)
{
	*p = (struct smtpc_params){
		.host = host, .addr = PEER_ADDR, .port = peer_port, .helo = opts,
		.connect_timeout = 5, .cmd_timeout = 20,
	};
}

static void
test_verify(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		const struct vcase *v = &vcases[i];
		struct smtpc_params p;
		struct smtpc_tlsa rec;
		uint8_t data[4096];
		struct smtpc_facts f;
		struct smtpc *c = NULL;
		char reply[SMTPC_REPLY_MAX];
		int rc;

		fill_params(&p, v->opts, v->host);
		p.tlsa_base = v->base;
		p.auth = v->auth;
		p.nta = v->nta;
		p.no_starttls = strstr(v->name, "plaintext retry") != NULL;
		if (v->tlsa_cert != NULL) {
			rec = (struct smtpc_tlsa){.usage = (uint8_t)v->usage,
			    .selector = (uint8_t)v->selector, .mtype = (uint8_t)v->mtype, .data = data};
			rec.len = tlsa_data(v->tlsa_cert, v->selector, v->mtype, data, sizeof(data));
			p.tlsa = &rec;
			p.n_tlsa = 1;
		}
		rc = smtpc_open(tls, &p, &c, &f, reply, sizeof(reply));
		if (rc != v->want_rc || strncmp(f.result, v->want_result, strlen(v->want_result)) != 0 ||
		    (v->want_added >= 0 && f.tlsa_added != v->want_added))
			fail_msg("%s: got rc %d result '%s' added %d (%s), want rc %d result '%s' added %d",
			    v->name, rc, f.result, f.tlsa_added, reply, v->want_rc, v->want_result,
			    v->want_added);
		if (rc == SMTPC_OK) {
			assert_non_null(c);
			if (strcmp(v->opts, "nostarttls") != 0 && !p.no_starttls) {
				assert_int_equal(f.tls, 1);
				assert_int_equal(f.starttls_offered, 1);
				assert_int_equal(strlen(f.peer_sha256), 64);
			}
			if (v->auth == SMTPC_AUTH_DANE)
				assert_true(f.dane_authority >= 0);
			if (v->nta)
				assert_true(strcmp(f.tls_version, "TLSv1.2") == 0 ||
				    strcmp(f.tls_version, "TLSv1.3") == 0);
		} else {
			assert_null(c);
		}
		/* A failed verification still names the peer it met. */
		if (rc == SMTPC_CHANNEL && strcmp(v->want_result, "failed:") == 0)
			assert_int_equal(strlen(f.peer_sha256), 64);
		smtpc_close(c);
	}
}

/* smtpc facts -> policy judgement: the reason each failure gets. */
struct jcase {
	const char *name;
	const char *opts, *host;
	enum out_channel ch;
	enum out_verify verify;
	const char *tlsa_cert;		/* DANE: record made from this cert */
	int usage, selector;
	enum out_judgement want;
	enum out_reason want_why;
	int want_verify_failed;		/* handshake aborted at the certificate */
};

static const struct jcase jcases[] = {
	{"dane-ee mismatch", "cert=self", "mx.good.test", OUT_CH_DANE, OUT_VERIFY_DANE, "good", 3, 1, OUT_FAIL, OUT_R_DANE_MISMATCH, 1},
	{"dane-ta expired leaf", "cert=expired", "mx.good.test", OUT_CH_DANE, OUT_VERIFY_DANE, "ca", 2, 0, OUT_FAIL, OUT_R_DANE_MISMATCH, 1},
	{"dane-ta wrong name", "cert=good", "mx.other.test", OUT_CH_DANE, OUT_VERIFY_DANE, "ca", 2, 0, OUT_FAIL, OUT_R_DANE_MISMATCH, 1},
	{"dane-ee match", "cert=self", "mx.good.test", OUT_CH_DANE, OUT_VERIFY_DANE, "self", 3, 1, OUT_PASS, OUT_R_OK, 0},
	{"bijlage-c good", "cert=good", "mx.good.test", OUT_CH_BIJLAGE_C, OUT_VERIFY_PKIX_HOST, NULL, 0, 0, OUT_PASS, OUT_R_OK, 0},
	{"bijlage-c valid chain, wrong name", "cert=good", "mx.bad.test", OUT_CH_BIJLAGE_C, OUT_VERIFY_PKIX_HOST, NULL, 0, 0, OUT_FAIL, OUT_R_HOSTNAME_MISMATCH, 0},
	{"bijlage-c expired", "cert=expired", "mx.good.test", OUT_CH_BIJLAGE_C, OUT_VERIFY_PKIX_HOST, NULL, 0, 0, OUT_FAIL, OUT_R_PKIX_FAILED, 1},
	{"bijlage-c expired and wrong name", "cert=expired", "mx.bad.test", OUT_CH_BIJLAGE_C, OUT_VERIFY_PKIX_HOST, NULL, 0, 0, OUT_FAIL, OUT_R_PKIX_FAILED, 1},
	{"bijlage-c untrusted", "cert=self", "not-the-host", OUT_CH_BIJLAGE_C, OUT_VERIFY_PKIX_HOST, NULL, 0, 0, OUT_FAIL, OUT_R_PKIX_FAILED, 1},
	{"bijlage-c partial wildcard", "cert=wild", "mx1.good.test", OUT_CH_BIJLAGE_C, OUT_VERIFY_PKIX_HOST, NULL, 0, 0, OUT_FAIL, OUT_R_HOSTNAME_MISMATCH, 0},
	{"bijlage-b ou, other host name", "cert=ou", "mx.elsewhere.test", OUT_CH_BIJLAGE_B, OUT_VERIFY_PKIX_OU, NULL, 0, 0, OUT_PASS, OUT_R_OK, 0},
	{"bijlage-b expired", "cert=expired", "mx.good.test", OUT_CH_BIJLAGE_B, OUT_VERIFY_PKIX_OU, NULL, 0, 0, OUT_FAIL, OUT_R_PKIX_FAILED, 1},
	{"bijlage-b untrusted", "cert=self", "mx.good.test", OUT_CH_BIJLAGE_B, OUT_VERIFY_PKIX_OU, NULL, 0, 0, OUT_FAIL, OUT_R_PKIX_FAILED, 1},
	{"bijlage-b no ou", "cert=good", "mx.good.test", OUT_CH_BIJLAGE_B, OUT_VERIFY_PKIX_OU, NULL, 0, 0, OUT_FAIL, OUT_R_OU_MISMATCH, 0},
	{"tls 1.1 peer: no tls", "cert=good,tls=1.1", "mx.good.test", OUT_CH_BIJLAGE_C, OUT_VERIFY_PKIX_HOST, NULL, 0, 0, OUT_FAIL, OUT_R_TLS_FAILED, 0},
	{"no starttls", "nostarttls", "mx.good.test", OUT_CH_BIJLAGE_B, OUT_VERIFY_PKIX_OU, NULL, 0, 0, OUT_FAIL, OUT_R_NO_STARTTLS, 0},
};

static void
test_judge_reason(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(jcases) / sizeof(jcases[0]); i++) {
		const struct jcase *v = &jcases[i];
		struct out_host_facts hf;
		struct out_hop hop = {.host = &hf, .channel = v->ch, .verify = v->verify};
		struct out_msg_facts m = {.health = 1};
		struct out_tls_facts tf;
		struct smtpc_params p;
		struct smtpc_tlsa rec;
		struct smtpc_facts f;
		struct smtpc *c = NULL;
		uint8_t data[4096];
		char reply[SMTPC_REPLY_MAX];
		enum out_reason why;
		enum out_judgement j;
		int rc;

		memset(&hf, 0, sizeof(hf));
		snprintf(hf.name, sizeof(hf.name), "%s", v->host);
		fill_params(&p, v->opts, v->host);
		p.nta = 1;
		p.auth = v->verify == OUT_VERIFY_DANE ? SMTPC_AUTH_DANE :
		    v->verify == OUT_VERIFY_PKIX_HOST ? SMTPC_AUTH_PKIX : SMTPC_AUTH_PKIX_OU;
		if (v->tlsa_cert != NULL) {
			rec = (struct smtpc_tlsa){.usage = (uint8_t)v->usage,
			    .selector = (uint8_t)v->selector, .mtype = 1, .data = data};
			rec.len = tlsa_data(v->tlsa_cert, v->selector, 1, data, sizeof(data));
			p.tlsa = &rec;
			p.n_tlsa = 1;
		}
		rc = smtpc_open(tls, &p, &c, &f, reply, sizeof(reply));
		out_tls_facts_from_smtpc(&f, rc, &tf);
		j = out_policy_judge(&hop, &m, &tf, &why);
		if (j != v->want || why != v->want_why || f.verify_failed != v->want_verify_failed ||
		    (j == OUT_PASS) != (rc == SMTPC_OK))
			fail_msg("%s: got %s %s verify_failed %d rc %d (%s, %s), want %s %s %d",
			    v->name, j == OUT_PASS ? "pass" : "fail", out_reason_name(why),
			    f.verify_failed, rc, f.result, f.verify_text,
			    v->want == OUT_PASS ? "pass" : "fail", out_reason_name(v->want_why),
			    v->want_verify_failed);
		/* A refused peer is never handed out, whatever the reason. */
		if (rc != SMTPC_OK)
			assert_null(c);
		smtpc_close(c);
	}
}

struct src {
	const char *data;
	size_t len, off, step;
};

static ssize_t
src_read(void *arg, void *buf, size_t len)
{
	struct src *s = arg;
	size_t k = s->len - s->off;

	if (k > len)
		k = len;
	if (k > s->step)
		k = s->step;	/* small steps: dots at chunk edges */
	memcpy(buf, s->data + s->off, k);
	s->off += k;
	return (ssize_t)k;
}

static int
count_msgs(void)
{
	int n = 0;
	char path[400];

	for (;;) {
		snprintf(path, sizeof(path), "%s/msg-%d", outdir, n + 1);
		if (access(path, F_OK) != 0)
			return n;
		n++;
	}
}

static void
assert_msg(int n, const char *want, size_t wantlen)
{
	char path[400], got[8192];
	FILE *f;
	size_t k;

	snprintf(path, sizeof(path), "%s/msg-%d", outdir, n);
	f = fopen(path, "rb");
	assert_non_null(f);
	k = fread(got, 1, sizeof(got), f);
	fclose(f);
	if (k != wantlen || memcmp(got, want, k) != 0)
		fail_msg("msg-%d: got %zu bytes '%.*s', want %zu bytes '%s'", n, k, (int)k, got,
		    wantlen, want);
}

static struct smtpc *
open_ok(const char *opts, int nta)
{
	struct smtpc_params p;
	struct smtpc *c = NULL;
	struct smtpc_facts f;
	char reply[SMTPC_REPLY_MAX];

	fill_params(&p, opts, "mx.good.test");
	p.nta = nta;
	p.auth = nta ? SMTPC_AUTH_PKIX : SMTPC_AUTH_NONE;
	if (smtpc_open(tls, &p, &c, &f, reply, sizeof(reply)) != SMTPC_OK)
		fail_msg("open %s: %s", opts, reply);
	return c;
}

static void
test_send_reuse(void **state)
{
	static const char body[] = "From: a@b\r\n\r\n.hidden line\r\n..two\r\nend.";
	static const char want[] = "From: a@b\r\n\r\n.hidden line\r\n..two\r\nend.\r\n";
	struct smtpc *c = open_ok("cert=good", 1);
	struct smtpc_rcpt r[1] = {{.addr = "x@good.test"}};
	struct src s = {.data = body, .len = strlen(body), .step = 7};
	struct smtpc_txn tx = {.mail_from = "a@b.test", .rcpt = r, .n_rcpt = 1,
	    .read = src_read, .read_arg = &s, .size = strlen(body)};
	char reply[SMTPC_REPLY_MAX];
	int before = count_msgs();

	(void)state;
	assert_int_equal(smtpc_send(c, &tx, reply, sizeof(reply)), SMTPC_OK);
	assert_int_equal(r[0].result, SMTPC_OK);
	assert_msg(before + 1, want, strlen(want));
	/* Same connection, RSET, second message (connection reuse). */
	assert_int_equal(smtpc_rset(c), SMTPC_OK);
	s.off = 0;
	s.step = 4096;
	tx.mail_from = "";
	assert_int_equal(smtpc_send(c, &tx, reply, sizeof(reply)), SMTPC_OK);
	assert_msg(before + 2, want, strlen(want));
	assert_true(smtpc_usable(c));
	smtpc_close(c);
}

static void
test_rcpt_results(void **state)
{
	struct smtpc *c = open_ok("cert=good", 0);
	struct smtpc_rcpt r[3] = {{.addr = "ok@x.test"}, {.addr = "temp1@x.test"}, {.addr = "perm1@x.test"}};
	struct src s = {.data = "a\r\n", .len = 3, .step = 100};
	struct smtpc_txn tx = {.mail_from = "a@b.test", .rcpt = r, .n_rcpt = 3,
	    .read = src_read, .read_arg = &s};
	char reply[SMTPC_REPLY_MAX];

	(void)state;
	assert_int_equal(smtpc_send(c, &tx, reply, sizeof(reply)), SMTPC_OK);
	assert_int_equal(r[0].result, SMTPC_OK);
	assert_int_equal(r[1].result, SMTPC_TEMP);
	assert_int_equal(r[2].result, SMTPC_PERM);
	assert_non_null(strstr(r[2].reply, "550"));
	/* All recipients refused: permanent overall, connection still fine. */
	assert_int_equal(smtpc_rset(c), SMTPC_OK);
	s.off = 0;
	tx.rcpt = r + 2;
	tx.n_rcpt = 1;
	assert_int_equal(smtpc_send(c, &tx, reply, sizeof(reply)), SMTPC_PERM);
	assert_int_equal(smtpc_rset(c), SMTPC_OK);
	smtpc_close(c);
}

static void
test_limits(void **state)
{
	struct smtpc_rcpt r[1] = {{.addr = "ok@x.test"}};
	struct src s = {.data = "caf\xc3\xa9\r\n", .len = 7, .step = 100};
	struct smtpc_txn tx = {.mail_from = "a@b.test", .rcpt = r, .n_rcpt = 1,
	    .read = src_read, .read_arg = &s, .body_8bit = 1};
	char reply[SMTPC_REPLY_MAX];
	struct smtpc *c;

	(void)state;
	/* R-HDR-3: no 8BITMIME on an NTA channel = failed channel. */
	c = open_ok("cert=good,no8bit", 1);
	assert_int_equal(smtpc_send(c, &tx, reply, sizeof(reply)), SMTPC_CHANNEL);
	smtpc_close(c);
	/* Regular mail is sent as is (never converted). */
	c = open_ok("cert=good,no8bit", 0);
	assert_int_equal(smtpc_send(c, &tx, reply, sizeof(reply)), SMTPC_OK);
	smtpc_close(c);
	/* SIZE: too large for the peer is permanent. */
	c = open_ok("cert=good,size=100", 0);
	s.off = 0;
	tx.size = 1000;
	assert_int_equal(smtpc_send(c, &tx, reply, sizeof(reply)), SMTPC_PERM);
	assert_int_equal(r[0].result, SMTPC_PERM);
	smtpc_close(c);
	/* 4xx after DATA: temporary for the recipient. */
	c = open_ok("cert=good,data=451", 0);
	s.off = 0;
	tx.size = 0;
	assert_int_equal(smtpc_send(c, &tx, reply, sizeof(reply)), SMTPC_TEMP);
	assert_int_equal(r[0].result, SMTPC_TEMP);
	smtpc_close(c);
}

/* The reply parser on its own, and a peer whose reply never ends. */
static void
test_reply(void **state)
{
	struct smtpc_facts f = {0};
	struct smtpc_params p;
	struct smtpc *c = NULL;
	char reply[SMTPC_REPLY_MAX];
	int code = 0;

	(void)state;
	assert_int_equal(smtpc_reply_line("250-peer", &code, &f), 1);
	assert_int_equal(code, 250);
	assert_int_equal(smtpc_reply_line("250-STARTTLS", &code, &f), 1);
	assert_int_equal(smtpc_reply_line("250-SIZE 1000", &code, &f), 1);
	assert_int_equal(smtpc_reply_line("250 8BITMIME", &code, &f), 0);
	assert_true(f.starttls_offered && f.ext_size && f.size_max == 1000 && f.ext_8bitmime);
	code = 0;
	assert_int_equal(smtpc_reply_line("250", &code, NULL), 0);	/* bare code */
	code = 0;
	assert_int_equal(smtpc_reply_line("250-a", &code, NULL), 1);
	assert_int_equal(smtpc_reply_line("251 b", &code, NULL), -1);	/* code changed */
	static const char *const bad[] = {"", "25", "199 x", "600 x", "2x0 x", "250x", "250_y"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		code = 0;
		if (smtpc_reply_line(bad[i], &code, NULL) != -1)
			fail_msg("'%s' accepted", bad[i]);
	}
	/* Just under the line cap: fine; over it: refused, not read forever. */
	fill_params(&p, "cert=good,endless=90", "mx.good.test");
	assert_int_equal(smtpc_open(tls, &p, &c, &f, reply, sizeof(reply)), SMTPC_OK);
	smtpc_close(c);
	c = NULL;
	fill_params(&p, "cert=good,endless=5000", "mx.good.test");
	assert_int_equal(smtpc_open(tls, &p, &c, &f, reply, sizeof(reply)), SMTPC_TEMP);
	assert_null(c);
	assert_non_null(strstr(reply, "more than 100 lines"));
}

static void
test_conncache(void **state)
{
	struct out_conncache *cc = out_cc_new(30);
	struct smtpc *c = open_ok("cert=good", 1), *got;
	char k1[OUT_CC_KEY_MAX], k2[OUT_CC_KEY_MAX];

	(void)state;
	assert_non_null(cc);
	out_cc_key(k1, sizeof(k1), "bijlage-c", "pkix", "mx.good.test", PEER_ADDR, peer_port);
	out_cc_key(k2, sizeof(k2), "regular", "opportunistic", "mx.good.test", PEER_ADDR, peer_port);
	out_cc_put(cc, k1, c, 1000);
	assert_int_equal(out_cc_count(cc), 1);
	/* Another channel to the same host never gets this connection. */
	assert_null(out_cc_get(cc, k2, 1001));
	got = out_cc_get(cc, k1, 1001);
	assert_ptr_equal(got, c);
	assert_int_equal(out_cc_count(cc), 0);
	assert_int_equal(smtpc_rset(got), SMTPC_OK);
	out_cc_put(cc, k1, got, 1001);
	/* Idle too long: closed, not handed out. */
	assert_null(out_cc_get(cc, k1, 1100));
	assert_int_equal(out_cc_count(cc), 0);
	c = open_ok("cert=good", 1);
	out_cc_put(cc, k1, c, 2000);
	out_cc_expire(cc, 2031);
	assert_int_equal(out_cc_count(cc), 0);
	out_cc_free(cc);
}

/* One open against a TLS context of its own; returns smtpc's rc. */
static int
open_with(struct smtpc_tls *t, const char *opts, const char *host, enum smtpc_auth auth,
    struct smtpc_facts *f)
{
	struct smtpc_params p;
	struct smtpc *c = NULL;
	char reply[SMTPC_REPLY_MAX];
	int rc;

	fill_params(&p, opts, host);
	p.nta = 1;
	p.auth = auth;
	rc = smtpc_open(t, &p, &c, f, reply, sizeof(reply));
	smtpc_close(c);
	return rc;
}

/*
 * Trust per channel: Bijlage B trusts nta.bijlage_b_ca_file when set (and
 * then only it), else outbound.ca_file; Bijlage C always outbound.ca_file.
 * "self.crt" stands in for a CA that signed none of the peer's certificates.
 */
static void
test_trust_per_channel(void **state)
{
	const char *markers[] = {"NTA7516-CERTIFIED"};
	char ca[400], other[400], err[256];
	struct smtpc_tls_conf tc = {.ou_markers = markers, .n_ou_markers = 1};
	struct smtpc_tls *t = NULL;
	struct smtpc_facts f;

	(void)state;
	snprintf(ca, sizeof(ca), "%s/ca.pem", certdir);
	snprintf(other, sizeof(other), "%s/self.crt", certdir);
	/* Bijlage B CA set apart: B passes, C (other trust) fails its chain. */
	tc.ca_file = other;
	tc.bijlage_b_ca_file = ca;
	assert_int_equal(smtpc_tls_new(&tc, &t, err, sizeof(err)), 0);
	assert_int_equal(open_with(t, "cert=ou", "mx.ou.test", SMTPC_AUTH_PKIX_OU, &f), SMTPC_OK);
	assert_int_equal(open_with(t, "cert=good", "mx.good.test", SMTPC_AUTH_PKIX, &f), SMTPC_CHANNEL);
	assert_int_equal(f.chain_ok, 0);
	smtpc_tls_free(t);
	/* The reverse: B's own CA does not cover the peer, outbound.ca_file does. */
	tc.ca_file = ca;
	tc.bijlage_b_ca_file = other;
	assert_int_equal(smtpc_tls_new(&tc, &t, err, sizeof(err)), 0);
	assert_int_equal(open_with(t, "cert=ou", "mx.ou.test", SMTPC_AUTH_PKIX_OU, &f), SMTPC_CHANNEL);
	assert_int_equal(f.verify_failed, 1);
	assert_int_equal(open_with(t, "cert=good", "mx.good.test", SMTPC_AUTH_PKIX, &f), SMTPC_OK);
	smtpc_tls_free(t);
	/* No Bijlage B CA: outbound.ca_file serves both. */
	tc.bijlage_b_ca_file = NULL;
	assert_int_equal(smtpc_tls_new(&tc, &t, err, sizeof(err)), 0);
	assert_int_equal(open_with(t, "cert=ou", "mx.ou.test", SMTPC_AUTH_PKIX_OU, &f), SMTPC_OK);
	smtpc_tls_free(t);
}

static void
test_ipv6(void **state)
{
	struct smtpc_params p;
	struct smtpc_facts f;
	struct smtpc *c = NULL;
	char reply[SMTPC_REPLY_MAX];

	(void)state;
	if (peer6_port == 0)
		skip();
	fill_params(&p, "cert=good", "mx.good.test");
	p.addr = "::1";
	p.port = peer6_port;
	p.bind = "127.0.60.1";	/* an IPv4 source address is not applied to IPv6 */
	p.nta = 1;
	p.auth = SMTPC_AUTH_PKIX;
	if (smtpc_open(tls, &p, &c, &f, reply, sizeof(reply)) != SMTPC_OK)
		fail_msg("open [::1]: %s", reply);
	assert_string_equal(f.result, "pkix");
	smtpc_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_judge_reason),
		cmocka_unit_test(test_trust_per_channel),
		cmocka_unit_test(test_send_reuse),
		cmocka_unit_test(test_rcpt_results),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_conncache),
		cmocka_unit_test(test_ipv6),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
