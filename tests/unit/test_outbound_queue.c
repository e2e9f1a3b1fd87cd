/*
 * test_outbound_queue.c - scheduler rules (backoff table, lifetime,
 * per-domain slots) and the store's queue section (due scan, updates,
 * operator actions, attempts, log query) on a real SQLite store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "outbound/queue.h"
#include "test_store_util.h"

static void
test_backoff_table(void **state)
{
	static const struct { int n; int64_t want; } cases[] = {
		{0, 60}, {1, 60}, {2, 300}, {3, 900}, {4, 1800}, {5, 3600}, {6, 3600}, {50, 3600},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = out_queue_backoff(cases[i].n);
		if (got != cases[i].want)
			fail_msg("backoff(%d): got %lld, want %lld", cases[i].n,
			    (long long)got, (long long)cases[i].want);
	}
}

static void
test_lifetime(void **state)
{
	const int64_t life = 5 * 86400;
	time_t created = 1000000, next;

	(void)state;
	assert_int_equal(out_queue_next(created + 10, created, 1, life, &next), OUT_QUEUE_RETRY);
	assert_int_equal(next, created + 10 + 60);
	assert_int_equal(out_queue_next(created + 100, created, 7, life, &next), OUT_QUEUE_RETRY);
	assert_int_equal(next, created + 100 + 3600);
	/* The last retry is pulled in to the expiry time, not past it. */
	assert_int_equal(out_queue_next(created + life - 60, created, 9, life, &next), OUT_QUEUE_RETRY);
	assert_int_equal(next, created + life);
	assert_int_equal(out_queue_next(created + life, created, 10, life, &next), OUT_QUEUE_EXPIRED);
	assert_int_equal(next, 0);
}

static void
test_slots(void **state)
{
	struct out_slots s;

	(void)state;
	out_slots_init(&s, 2);
	assert_int_equal(out_slots_take(&s, "a.test"), 0);
	assert_int_equal(out_slots_take(&s, "A.TEST"), 0);
	assert_int_equal(out_slots_take(&s, "a.test"), -1);
	assert_int_equal(out_slots_take(&s, "b.test"), 0);
	assert_int_equal(out_slots_used(&s, "a.test"), 2);
	out_slots_release(&s, "a.test");
	assert_int_equal(out_slots_take(&s, "a.test"), 0);
	assert_int_equal(out_slots_used(&s, "b.test"), 1);
	assert_int_equal(out_slots_used(&s, "c.test"), 0);
}

struct collect {
	size_t n;
	struct store_rcpt r[8];
};

static int
collect_cb(const struct store_rcpt *r, void *arg)
{
	struct collect *c = arg;

	if (c->n < 8)
		c->r[c->n++] = *r;
	return 0;
}

static int
log_cb(const struct store_log_row *r, void *arg)
{
	struct store_log_row *out = arg;

	*out = *r;
	return 0;
}

static void
test_store_queue(void **state)
{
	struct tenv t;
	char id[STORE_ID_LEN];
	struct collect c = {0};
	time_t now = time(NULL), when;
	int64_t n;
	struct store_log_row lr;

	(void)state;
	assert_int_equal(tenv_setup(&t), 0);
	assert_int_equal(tenv_put(&t, 1000, 1, id), 0);
	/* Freshly committed: due now. */
	assert_int_equal(store_queue_due(t.s, now + 1, 10, collect_cb, &c), STORE_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.r[0].msg_id, id);
	assert_string_equal(c.r[0].state, "queued");
	assert_string_equal(c.r[0].mail_from, "alice@example.test");
	assert_int_equal(c.r[0].size, 1000);
	assert_int_equal(c.r[0].attempts, 0);
	int64_t rid = c.r[0].id;

	/* A failed attempt: next attempt later, not due now. */
	struct store_rcpt_update u = {.state = "queued", .next_attempt = now + 60,
	    .channel = "dane", .reason = "tls-failed", .last_reply = "451 4.7.5 x",
	    .tried = 1, .now = now};
	assert_int_equal(store_rcpt_update(t.s, rid, &u), STORE_OK);
	c.n = 0;
	assert_int_equal(store_queue_due(t.s, now + 1, 10, collect_cb, &c), STORE_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(store_queue_next_due(t.s, &when), STORE_OK);
	assert_int_equal(when, now + 60);
	c.n = 0;
	assert_int_equal(store_queue_list(t.s, NULL, collect_cb, &c), STORE_OK);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.r[0].attempts, 1);
	assert_int_equal(c.r[0].first_attempt, now);
	assert_string_equal(c.r[0].reason, "tls-failed");

	/* Operator: flush makes it due, hold hides it, release brings it back. */
	assert_int_equal(store_queue_op(t.s, "flush", id, NULL, now, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_queue_op(t.s, "hold", id, NULL, now, &n), STORE_OK);
	assert_int_equal(n, 1);
	c.n = 0;
	assert_int_equal(store_queue_due(t.s, now + 1, 10, collect_cb, &c), STORE_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(store_queue_op(t.s, "release", id, "nobody@x.test", now, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_queue_op(t.s, "release", id, NULL, now, &n), STORE_OK);
	assert_int_equal(n, 1);
	c.n = 0;
	assert_int_equal(store_queue_due(t.s, now + 1, 10, collect_cb, &c), STORE_OK);
	assert_int_equal(c.n, 1);

	/* Attempt record and the log query. */
	struct store_attempt a = {.rcpt_id = rid, .msg_id = id, .domain = "example.net",
	    .time = now, .channel = "dane", .host = "mx.example.net", .addr = "127.0.60.9",
	    .tls_version = "TLSv1.3", .cipher = "TLS_AES_256_GCM_SHA384",
	    .peer_cert_sha256 = "ab", .auth_result = "dane-ee", .nta_verdict = "valid",
	    .nta_dnssec = "secure", .reply = "250 ok", .result = "delivered"};
	assert_int_equal(store_attempt_add(t.s, &a), STORE_OK);
	memset(&lr, 0, sizeof(lr));
	assert_int_equal(store_log_query(t.s, "EXAMPLE.net", now - 1, log_cb, &lr), STORE_OK);
	assert_string_equal(lr.rcpt, "bob@Example.NET");
	assert_string_equal(lr.account, "alice@example.test");
	assert_string_equal(lr.auth_result, "dane-ee");
	assert_string_equal(lr.result, "delivered");
	memset(&lr, 0, sizeof(lr));
	assert_int_equal(store_log_query(t.s, "other.test", 0, log_cb, &lr), STORE_OK);
	assert_string_equal(lr.result, "");

	/* Delivered: final, nothing pending, message can be shredded. */
	assert_int_equal(store_msg_pending(t.s, id, &n), STORE_OK);
	assert_int_equal(n, 1);
	u = (struct store_rcpt_update){.state = "delivered", .tried = 1, .now = now};
	assert_int_equal(store_rcpt_update(t.s, rid, &u), STORE_OK);
	assert_int_equal(store_msg_pending(t.s, id, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_queue_op(t.s, "delete", id, NULL, now, &n), STORE_OK);
	assert_int_equal(n, 0);
	/* Retention: shredded only once the last update is older than the cut. */
	size_t shr = 9;
	assert_int_equal(store_queue_shred_retained(t.s, now - 10, &shr), STORE_OK);
	assert_int_equal(shr, 0);
	assert_int_equal(store_queue_shred_retained(t.s, now + 1, &shr), STORE_OK);
	assert_int_equal(shr, 1);
	assert_int_equal(store_queue_shred_retained(t.s, now + 1, &shr), STORE_OK);
	assert_int_equal(shr, 0);
	assert_true(store_rcpt_state_final("portal"));
	assert_false(store_rcpt_state_final("hold"));
	tenv_teardown(&t);
}

/* A gid of ours other than the effective one (root: any), or -1. */
static gid_t
other_gid(void)
{
	gid_t g[64];
	int n = getgroups(64, g);

	if (geteuid() == 0)
		return getegid() + 4242;	/* need not exist for chown */
	for (int i = 0; i < n; i++)
		if (g[i] != getegid())
			return g[i];
	return (gid_t)-1;
}

/*
 * deliver.wake follows the data directory's layout (common/fsmode.h):
 * 0660 and the directory's group when group-shared, else 0600, whatever
 * the umask, and a FIFO left from the other layout is repaired.
 */
static void
test_wake_fifo_mode(void **state)
{
	static const struct {
		mode_t dir, umask, pre;		/* pre: an existing FIFO's mode, 0 none */
		int other_group;		/* the directory gets another group of ours */
		mode_t want;
	} cases[] = {
		{0700, 022, 0, 0, 0600},
		{0700, 000, 0, 0, 0600},
		{0750, 000, 0, 0, 0600},	/* group without w: not shared */
		{0700, 000, 0666, 0, 0600},	/* narrowed */
		{0770, 077, 0, 0, 0660},	/* the umask does not narrow it */
		{02770, 077, 0, 0, 0660},
		{0770, 022, 0600, 0, 0660},	/* left from owner-only: widened */
		{0770, 022, 0, 1, 0660},	/* no setgid: group given */
		{0770, 022, 0600, 1, 0660},
	};
	mode_t old = umask(022);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char dir[] = "/tmp/ntamsa-wake-XXXXXX", fifo[64];
		gid_t gid = cases[i].other_group ? other_gid() : getegid();
		struct stat st;
		int fd;

		if (gid == (gid_t)-1) {
			print_message("case %zu skipped: no second group\n", i);
			continue;
		}
		assert_non_null(mkdtemp(dir));
		assert_int_equal(chown(dir, (uid_t)-1, gid), 0);
		assert_int_equal(chmod(dir, cases[i].dir), 0);
		snprintf(fifo, sizeof(fifo), "%s/deliver.wake", dir);
		umask(0);
		if (cases[i].pre != 0)
			assert_int_equal(mkfifo(fifo, cases[i].pre), 0);
		umask(cases[i].umask);
		fd = out_wake_open(dir);
		umask(022);
		assert_true(fd >= 0);
		assert_int_equal(out_wake_notify(dir), 0);
		assert_int_equal(lstat(fifo, &st), 0);
		if ((st.st_mode & 07777) != cases[i].want)
			fail_msg("case %zu: got mode %04o, want %04o", i,
			    (unsigned)(st.st_mode & 07777), (unsigned)cases[i].want);
		if (cases[i].want == 0660 && st.st_gid != gid)
			fail_msg("case %zu: got group %u, want %u", i, (unsigned)st.st_gid,
			    (unsigned)gid);
		close(fd);
		assert_int_equal(unlink(fifo), 0);
		assert_int_equal(rmdir(dir), 0);
	}
	umask(old);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_table),
		cmocka_unit_test(test_lifetime),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_store_queue),
		cmocka_unit_test(test_wake_fifo_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
