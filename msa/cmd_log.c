/*
 * cmd_log.c - `ntamsa log export [--domain D] [--since T] [--json]`.
 *
 * The log of mail sent to or from a domain (spec R-LOG-1, seed 000 §4a.5):
 * --domain matches the recipient's domain, the envelope sender's and the
 * account's.  One line per delivery attempt: time, account, envelope
 * sender and recipient, Message-ID, classification verdict, channel, the
 * NTA record seen with its DNSSEC state and verdict, host, address, TLS
 * version and cipher, peer certificate digest, DANE/PKIX/OU result, the
 * reply.  Never a Subject or
 * body: the attempts table holds none.
 *
 * Text output is key=value pairs (values quoted by log_quote); --json gives
 * one JSON object per line.
 */
#include "msa/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "store/store.h"

static const char usage[] =
    "usage: ntamsa log export [--domain D] [--since T] [--json]\n"
    "  D: attempts of mail to D (recipient) or from D (envelope sender or account)\n"
    "  T: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ (UTC), or a duration back from now (30m, 4h, 7d)\n";

/* T as an absolute UTC time or a duration back from now. */
static int
parse_since(const char *s, time_t *out)
{
	struct tm tm = {0};
	const char *end;
	int64_t d;

	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (end != NULL && *end == '\0') {
		*out = timegm(&tm);
		return *out == (time_t)-1 ? -1 : 0;
	}
	if (config_parse_duration(s, &d) == 0) {
		*out = time(NULL) - (time_t)d;
		return 0;
	}
	return -1;
}

static void
json_str(const char *key, const char *s, int last)
{
	printf("\"%s\":\"", key);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	printf("\"%s", last ? "" : ",");
}

struct field {
	const char *key;
	const char *val;
};

static int
row_cb(const struct store_log_row *r, void *arg)
{
	int json = *(int *)arg;
	char t[32], q[1100];
	struct tm tm;
	const struct field f[] = {
		{"time", t}, {"msg_id", r->msg_id}, {"account", r->account},
		{"mail_from", r->mail_from}, {"recipient", r->rcpt}, {"message_id", r->message_id},
		{"class", r->cls_health ? "health" : "clean"}, {"domain", r->domain},
		{"channel", r->channel}, {"nta_record", r->nta_record},
		{"nta_dnssec", r->nta_dnssec}, {"nta_verdict", r->nta_verdict},
		{"host", r->host}, {"addr", r->addr}, {"tls_version", r->tls_version},
		{"cipher", r->cipher}, {"peer_cert_sha256", r->peer_cert_sha256},
		{"auth", r->auth_result}, {"result", r->result}, {"reply", r->reply},
	};
	size_t n = sizeof(f) / sizeof(f[0]);

	if (gmtime_r(&r->time, &tm) == NULL || strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(t, sizeof(t), "%lld", (long long)r->time);
	if (json)
		putchar('{');
	for (size_t i = 0; i < n; i++) {
		if (json)
			json_str(f[i].key, f[i].val, i + 1 == n);
		else
			printf("%s%s=%s", i ? " " : "", f[i].key,
			    log_quote(q, sizeof(q), f[i].val[0] ? f[i].val : "-"));
	}
	printf(json ? "}\n" : "\n");
	return 0;
}

int
cmd_log(const struct config *c, int argc, char **argv)
{
	const char *domain = NULL;
	time_t since = 0;
	int json = 0, rc;
	struct store *s = NULL;
	char err[512];

	if (cmd_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "export") != 0) {
		fputs(usage, stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--domain") == 0 && i + 1 < argc)
			domain = argv[++i];
		else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
			if (parse_since(argv[++i], &since) != 0) {
				fprintf(stderr, "ntamsa: log export: bad --since %s\n", argv[i]);
				return 2;
			}
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (store_open(c->data_dir, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "ntamsa: log export: %s\n", err);
		return 1;
	}
	rc = store_log_query(s, domain, since, row_cb, &json);
	store_close(s);
	if (rc != STORE_OK) {
		fprintf(stderr, "ntamsa: log export: %s\n", store_strerror(rc));
		return 1;
	}
	return 0;
}
