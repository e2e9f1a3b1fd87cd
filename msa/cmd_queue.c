/*
 * cmd_queue.c - `ntamsa queue list|show|flush|delete|hold|release`.
 *
 * Shows the envelope, classification and delivery state per recipient;
 * never the message itself, unless `show --content` is given and the
 * store secret key (with its passphrase, if sealed) is available; each such
 * use leaves a content-shown audit row (message id, uid) first.
 */
#include "msa/cmd.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/log.h"
#include "keys/keys.h"
#include "outbound/queue.h"
#include "store/store.h"

static const char usage[] =
    "usage: ntamsa queue list [--json]\n"
    "       ntamsa queue show ID [--content]\n"
    "       ntamsa queue flush [ID [RCPT]]   retry now (all queued when no ID)\n"
    "       ntamsa queue hold ID [RCPT]\n"
    "       ntamsa queue release ID [RCPT]\n"
    "       ntamsa queue delete ID [RCPT]\n";

static void
fmt_time(time_t t, char *out, size_t len)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL) {
		snprintf(out, len, "-");
		return;
	}
	if (strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "-");
}

/* JSON string (the values are addresses, tokens and SMTP replies). */
static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

struct list_ctx {
	int json;
	int64_t n;
};

static int
list_cb(const struct store_rcpt *r, void *arg)
{
	struct list_ctx *l = arg;
	char next[32], q1[STORE_ADDR_MAX + 8], q2[STORE_REPLY_MAX + 8], q3[STORE_ADDR_MAX + 8];

	fmt_time(r->next_attempt, next, sizeof(next));
	l->n++;
	if (l->json) {
		printf("{\"id\":\"%s\",\"recipient\":", r->msg_id);
		json_str(stdout, r->addr);
		printf(",\"from\":");
		json_str(stdout, r->mail_from);
		printf(",\"state\":\"%s\",\"class\":\"%s\",\"attempts\":%d,\"next\":\"%s\","
		    "\"channel\":", r->state, r->cls_health ? "health" : "clean",
		    r->attempts, next);
		json_str(stdout, r->channel);
		printf(",\"reason\":");
		json_str(stdout, r->reason);
		printf(",\"reply\":");
		json_str(stdout, r->last_reply);
		printf("}\n");
		return 0;
	}
	printf("%s %s %s from=%s class=%s attempts=%d next=%s channel=%s reason=%s reply=%s\n",
	    r->msg_id, log_quote(q1, sizeof(q1), r->addr), r->state,
	    log_quote(q3, sizeof(q3), r->mail_from[0] ? r->mail_from : "<>"),
	    r->cls_health ? "health" : "clean", r->attempts, next,
	    r->channel[0] ? r->channel : "-", r->reason[0] ? r->reason : "-",
	    log_quote(q2, sizeof(q2), r->last_reply[0] ? r->last_reply : "-"));
	return 0;
}

static int
do_list(struct store *s, int argc, char **argv)
{
	struct list_ctx l = {.json = argc > 1 && strcmp(argv[1], "--json") == 0};

	if (store_queue_list(s, NULL, list_cb, &l) != STORE_OK) {
		fprintf(stderr, "ntamsa: queue list: database error\n");
		return 1;
	}
	if (!l.json && l.n == 0)
		printf("queue empty\n");
	return 0;
}

struct show_ctx {
	int64_t n;
	time_t created;
};

static int
show_cb(const struct store_rcpt *r, void *arg)
{
	struct show_ctx *sc = arg;
	char created[32], first[32], next[32], q[STORE_REPLY_MAX + 8];

	if (sc->n++ == 0) {
		sc->created = r->created;
		fmt_time(r->created, created, sizeof(created));
		printf("id: %s\ncreated: %s\naccount: %s\nmail_from: <%s>\nmessage_id: %s\n"
		    "size: %lld\nclass: %s score=%d forced=%d\nbody_8bit: %d\ndata_key: %s\n",
		    r->msg_id, created, r->account, r->mail_from, r->message_id,
		    (long long)r->size, r->cls_health ? "health" : "clean", r->cls_score,
		    r->cls_forced, r->body_8bit, r->shredded ? "shredded" : "present");
	}
	fmt_time(r->first_attempt, first, sizeof(first));
	fmt_time(r->next_attempt, next, sizeof(next));
	printf("rcpt: %s state=%s attempts=%d first=%s next=%s channel=%s reason=%s reply=%s\n",
	    r->addr, r->state, r->attempts, first, next, r->channel[0] ? r->channel : "-",
	    r->reason[0] ? r->reason : "-",
	    log_quote(q, sizeof(q), r->last_reply[0] ? r->last_reply : "-"));
	return 0;
}

struct att_ctx {
	const char *msg_id;
};

/* The attempts of one message (from the R-LOG-1 records), oldest first. */
static int
att_cb(const struct store_log_row *a, void *arg)
{
	const struct att_ctx *ac = arg;
	char t[32], q[STORE_REPLY_MAX + 8];

	if (strcmp(a->msg_id, ac->msg_id) != 0)
		return 0;
	fmt_time(a->time, t, sizeof(t));
	printf("attempt: %s %s channel=%s host=%s addr=%s tls=%s auth=%s result=%s reply=%s\n",
	    t, a->rcpt[0] ? a->rcpt : "-", a->channel[0] ? a->channel : "-",
	    a->host[0] ? a->host : "-", a->addr[0] ? a->addr : "-",
	    a->tls_version[0] ? a->tls_version : "-", a->auth_result[0] ? a->auth_result : "-",
	    a->result[0] ? a->result : "-", log_quote(q, sizeof(q), a->reply[0] ? a->reply : "-"));
	return 0;
}

/*
 * Copy the plaintext to fd 1 with write(2): stdio would keep pieces of it
 * in its own buffer, which is freed without wiping.  The caller wipes buf.
 */
static int
copy_content(struct store_reader *rd, char *buf, size_t cap)
{
	ssize_t n = 0;
	int rc = 0;

	while (rc == 0 && (n = store_reader_read(rd, buf, cap)) > 0)
		if (fd_write_all(STDOUT_FILENO, buf, (size_t)n) != 0) {
			fprintf(stderr, "ntamsa: queue show --content: stdout: %s\n",
			    strerror(errno));
			rc = 1;
		}
	if (rc == 0 && n < 0) {
		fprintf(stderr, "ntamsa: queue show --content: %s\n", store_strerror((int)n));
		rc = 1;
	}
	return rc;
}

/*
 * Every decryption by an operator leaves an audit row (who, which
 * message) before any plaintext is shown; without the row, nothing is.
 */
static int
audit_content_shown(struct store *s, const char *id)
{
	char detail[64];
	int rc;

	snprintf(detail, sizeof(detail), "uid=%lu euid=%lu", (unsigned long)getuid(),
	    (unsigned long)geteuid());
	rc = store_audit(s, "content-shown", id, detail);
	if (rc != STORE_OK)
		fprintf(stderr, "ntamsa: queue show --content: cannot write the audit row (%s);"
		    " not shown\n", store_strerror(rc));
	return rc;
}

/* The decrypted message to stdout: only on explicit request with the key. */
static int
show_content(const struct config *c, struct store *s, const char *id)
{
	char err[256], *pass = keys_passphrase_get();
	struct keys_ring *ring = NULL;
	struct store_reader *rd = NULL;
	char buf[16384];
	int rc;

	rc = keys_load_ring(c->data_dir, pass, &ring, err, sizeof(err));
	keys_passphrase_free(pass);
	if (rc != 0) {
		fprintf(stderr, "ntamsa: queue show --content: %s\n", err);
		return 1;
	}
	rc = store_reader_open(s, ring, id, &rd);
	if (rc != STORE_OK) {
		fprintf(stderr, "ntamsa: queue show --content: %s\n", store_strerror(rc));
		keys_ring_free(ring);
		return 1;
	}
	rc = 1;
	/* The header goes through stdio after show_cb's lines: flush before write(2). */
	if (audit_content_shown(s, id) == STORE_OK &&
	    printf("--- content ---\n") > 0 && fflush(stdout) == 0)
		rc = copy_content(rd, buf, sizeof(buf));
	sodium_memzero(buf, sizeof(buf));	/* whether the copy ended well or not */
	store_reader_close(rd);
	keys_ring_free(ring);
	return rc;
}

static int
do_show(const struct config *c, struct store *s, int argc, char **argv)
{
	struct show_ctx sc = {0};
	int content = argc > 2 && strcmp(argv[2], "--content") == 0;

	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (store_queue_list(s, argv[1], show_cb, &sc) != STORE_OK) {
		fprintf(stderr, "ntamsa: queue show: database error\n");
		return 1;
	}
	if (sc.n == 0) {
		fprintf(stderr, "ntamsa: queue show: no such message %s\n", argv[1]);
		return 1;
	}
	struct att_ctx ac = {.msg_id = argv[1]};
	if (store_log_query(s, NULL, sc.created, att_cb, &ac) != STORE_OK)
		fprintf(stderr, "ntamsa: queue show: attempts unavailable\n");
	return content ? show_content(c, s, argv[1]) : 0;
}

struct ids {
	size_t n, cap;
	char (*id)[STORE_ID_LEN];
};

static int
ids_cb(const struct store_rcpt *r, void *arg)
{
	struct ids *ids = arg;

	if (strcmp(r->state, "queued") != 0)
		return 0;
	if (ids->n > 0 && strcmp(ids->id[ids->n - 1], r->msg_id) == 0)
		return 0;
	if (ids->n == ids->cap) {
		size_t nc = ids->cap ? ids->cap * 2 : 64;
		void *p = realloc(ids->id, nc * sizeof(*ids->id));
		if (p == NULL)
			return 1;
		ids->id = p;
		ids->cap = nc;
	}
	memcpy(ids->id[ids->n++], r->msg_id, STORE_ID_LEN);
	return 0;
}

/* flush without an id: every message with a queued recipient. */
static int
flush_all(const struct config *c, struct store *s)
{
	struct ids ids = {0};
	int64_t total = 0, n;
	int rc = store_queue_list(s, NULL, ids_cb, &ids);

	for (size_t i = 0; rc == STORE_OK && i < ids.n; i++) {
		rc = store_queue_op(s, "flush", ids.id[i], NULL, time(NULL), &n);
		total += n;
	}
	free(ids.id);
	if (rc != STORE_OK) {
		fprintf(stderr, "ntamsa: queue flush: %s\n", store_strerror(rc));
		return 1;
	}
	printf("flush: %lld recipient(s)\n", (long long)total);
	if (total > 0)
		(void)out_wake_notify(c->data_dir);	/* no worker running: fine */
	return 0;
}

static int
do_op(const struct config *c, struct store *s, const char *op, int argc, char **argv)
{
	int64_t n = 0;
	int rc;

	if (argc < 2) {
		if (strcmp(op, "flush") == 0)
			return flush_all(c, s);
		fputs(usage, stderr);
		return 2;
	}
	rc = store_queue_op(s, op, argv[1], argc > 2 ? argv[2] : NULL, time(NULL), &n);
	if (rc != STORE_OK) {
		fprintf(stderr, "ntamsa: queue %s: %s\n", op, store_strerror(rc));
		return 1;
	}
	printf("%s: %lld recipient(s)\n", op, (long long)n);
	/* Due now: the deliver worker need not wait for its timer. */
	if (n > 0 && (strcmp(op, "flush") == 0 || strcmp(op, "release") == 0))
		(void)out_wake_notify(c->data_dir);
	/* Nothing left to deliver after a delete: crypto-shred now. */
	if (strcmp(op, "delete") == 0 && n > 0) {
		int64_t left = 1;
		if (store_msg_pending(s, argv[1], &left) == STORE_OK && left == 0) {
			rc = store_msg_shred(s, argv[1]);
			printf("data key: %s\n", rc == STORE_OK ? "shredded" : store_strerror(rc));
		}
	}
	if (n > 0) {
		char detail[96];
		snprintf(detail, sizeof(detail), "op=%s rcpts=%lld", op, (long long)n);
		(void)store_audit(s, "queue-op", argv[1], detail);
	}
	return n > 0 ? 0 : 1;
}

int
cmd_queue(const struct config *c, int argc, char **argv)
{
	struct store *s = NULL;
	char err[512];
	int rc;

	if (cmd_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "list") && strcmp(sub, "show") && strcmp(sub, "flush") &&
	    strcmp(sub, "hold") && strcmp(sub, "release") && strcmp(sub, "delete")) {
		fputs(usage, stderr);
		return 2;
	}
	if (store_open(c->data_dir, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "ntamsa: queue: %s\n", err);
		return 1;
	}
	if (strcmp(sub, "list") == 0)
		rc = do_list(s, argc - 1, argv + 1);
	else if (strcmp(sub, "show") == 0)
		rc = do_show(c, s, argc - 1, argv + 1);
	else
		rc = do_op(c, s, sub, argc - 1, argv + 1);
	store_close(s);
	return rc;
}
