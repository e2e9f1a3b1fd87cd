/*
 * account.c - submission accounts and the audit log.
 *
 * The allow lists are stored as newline-separated text: entries are
 * addresses, *@domain patterns and CIDRs, none of which holds a newline
 * (store_account_put refuses one that does).
 */
#include "store/store_int.h"

#include <stdio.h>
#include <string.h>

static int
db_err(struct store *s)
{
	int rc = store_map(sqlite3_extended_errcode(s->db));

	return rc == STORE_OK ? STORE_ERR : rc;
}

/* Join n entries of width w with '\n' into out; -1 if too long or bad. */
static int
join_list(const char *entries, size_t w, size_t n, char *out, size_t outlen)
{
	size_t k = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *e = entries + i * w;
		size_t len = strnlen(e, w);
		if (len == w || len == 0 || strchr(e, '\n') != NULL ||
		    k + len + 2 > outlen)
			return -1;
		if (i > 0)
			out[k++] = '\n';
		memcpy(out + k, e, len);
		k += len;
		out[k] = '\0';
	}
	return 0;
}

/* Split text at '\n' into up to max entries of width w. */
static int
split_list(const char *text, char *entries, size_t w, size_t max, size_t *n)
{
	*n = 0;
	while (text != NULL && *text != '\0') {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		if (*n >= max || len >= w)
			return STORE_CORRUPT;
		memcpy(entries + *n * w, text, len);
		entries[*n * w + len] = '\0';
		(*n)++;
		text = nl ? nl + 1 : NULL;
	}
	return STORE_OK;
}

int
store_account_put(struct store *s, const struct store_account *a)
{
	char from[STORE_LIST_MAX * STORE_ADDR_MAX], ip[STORE_LIST_MAX * 64];
	sqlite3_stmt *st;
	int rc;

	if (a->n_allow_from > STORE_LIST_MAX || a->n_allow_ip > STORE_LIST_MAX ||
	    a->address[0] == '\0' || strnlen(a->address, STORE_ADDR_MAX) == STORE_ADDR_MAX ||
	    strnlen(a->pwhash, sizeof(a->pwhash)) == sizeof(a->pwhash) ||
	    strnlen(a->cram_secret, sizeof(a->cram_secret)) == sizeof(a->cram_secret) ||
	    join_list(&a->allow_from[0][0], STORE_ADDR_MAX, a->n_allow_from, from, sizeof(from)) ||
	    join_list(&a->allow_ip[0][0], 64, a->n_allow_ip, ip, sizeof(ip)))
		return STORE_ERR;
	store_lock(s);
	if ((rc = store_begin(s)) != STORE_OK)
		goto out;
	rc = store_prepare(s, "INSERT OR REPLACE INTO accounts (address, pwhash,"
	    " rate_per_hour, allow_from, allow_ip, created, cram_secret)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st);
	if (rc == STORE_OK) {
		store_bind_text(&rc, st, 1, a->address);
		store_bind_text(&rc, st, 2, a->pwhash);
		store_bind_int64(&rc, st, 3, a->rate_per_hour);
		store_bind_text(&rc, st, 4, from);
		store_bind_text(&rc, st, 5, ip);
		store_bind_int64(&rc, st, 6, a->created ? a->created : time(NULL));
		store_bind_text(&rc, st, 7, a->cram_secret[0] != '\0' ? a->cram_secret : NULL);
		if (rc == STORE_OK)
			rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : db_err(s);
		sqlite3_finalize(st);
	}
	rc = store_end(s, rc);
out:
	store_unlock(s);
	return rc;
}

static int
copy_text(char *out, size_t outlen, const unsigned char *v)
{
	const char *t = v ? (const char *)v : "";
	size_t len = strlen(t);

	if (len >= outlen)
		return STORE_CORRUPT;
	memcpy(out, t, len + 1);
	return STORE_OK;
}

/* Fill a from the current row of st (columns as in ACCOUNT_COLS). */
#define ACCOUNT_COLS "address, pwhash, rate_per_hour, allow_from, allow_ip, created, cram_secret"
static int
row_to_account(sqlite3_stmt *st, struct store_account *a)
{
	int rc;

	memset(a, 0, sizeof(*a));
	rc = copy_text(a->address, sizeof(a->address), sqlite3_column_text(st, 0));
	if (rc == STORE_OK)
		rc = copy_text(a->pwhash, sizeof(a->pwhash), sqlite3_column_text(st, 1));
	a->rate_per_hour = sqlite3_column_int(st, 2);
	if (rc == STORE_OK)
		rc = split_list((const char *)sqlite3_column_text(st, 3), &a->allow_from[0][0],
		    STORE_ADDR_MAX, STORE_LIST_MAX, &a->n_allow_from);
	if (rc == STORE_OK)
		rc = split_list((const char *)sqlite3_column_text(st, 4), &a->allow_ip[0][0],
		    64, STORE_LIST_MAX, &a->n_allow_ip);
	a->created = (time_t)sqlite3_column_int64(st, 5);
	if (rc == STORE_OK)	/* NULL reads as "": no CRAM-MD5 secret */
		rc = copy_text(a->cram_secret, sizeof(a->cram_secret), sqlite3_column_text(st, 6));
	return rc;
}

int
store_account_get(struct store *s, const char *address, struct store_account *out)
{
	sqlite3_stmt *st;
	int rc;

	store_lock(s);
	rc = store_prepare(s, "SELECT " ACCOUNT_COLS " FROM accounts WHERE address = ?1", &st);
	if (rc == STORE_OK) {
		if (store_bind_text(&rc, st, 1, address) == STORE_OK) {
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW)
				rc = row_to_account(st, out);
			else
				rc = rc == SQLITE_DONE ? STORE_NOTFOUND : db_err(s);
		}
		sqlite3_finalize(st);
	}
	store_unlock(s);
	return rc;
}

int
store_account_del(struct store *s, const char *address)
{
	sqlite3_stmt *st;
	int rc;

	store_lock(s);
	if ((rc = store_begin(s)) != STORE_OK)
		goto out;
	rc = store_prepare(s, "DELETE FROM accounts WHERE address = ?1", &st);
	if (rc == STORE_OK) {
		if (store_bind_text(&rc, st, 1, address) == STORE_OK)
			rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : db_err(s);
		if (rc == STORE_OK && sqlite3_changes(s->db) == 0)
			rc = STORE_NOTFOUND;
		sqlite3_finalize(st);
	}
	rc = store_end(s, rc);
out:
	store_unlock(s);
	return rc;
}

/*
 * The callback runs with the store lock held (it is recursive, so the
 * callback may use this store; other threads wait meanwhile).  A non-zero
 * return from it stops the walk and is returned.
 */
int
store_account_list(struct store *s,
    int (*cb)(const struct store_account *a, void *arg), void *arg)
{
	struct store_account a;
	sqlite3_stmt *st;
	int rc;

	store_lock(s);
	rc = store_prepare(s, "SELECT " ACCOUNT_COLS " FROM accounts ORDER BY address", &st);
	while (rc == STORE_OK) {
		int r = sqlite3_step(st);
		if (r == SQLITE_DONE)
			break;
		if (r != SQLITE_ROW) {
			rc = db_err(s);
			break;
		}
		if ((rc = row_to_account(st, &a)) == STORE_OK)
			rc = cb(&a, arg);
	}
	if (st != NULL)
		sqlite3_finalize(st);
	store_unlock(s);
	return rc;
}

int
store_account_sent_since(struct store *s, const char *address, time_t t, int64_t *n)
{
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	store_lock(s);
	rc = store_prepare(s, "SELECT count(*) FROM messages WHERE account = ?1"
	    " AND created >= ?2 AND state != 'incomplete'", &st);
	if (rc == STORE_OK) {
		store_bind_text(&rc, st, 1, address);
		store_bind_int64(&rc, st, 2, t);
		if (rc == STORE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				*n = sqlite3_column_int64(st, 0);
			else
				rc = db_err(s);
		}
		sqlite3_finalize(st);
	}
	store_unlock(s);
	return rc;
}

int
store_audit(struct store *s, const char *event, const char *msg_id, const char *detail)
{
	sqlite3_stmt *st;
	int rc;

	store_lock(s);
	if ((rc = store_begin(s)) != STORE_OK)
		goto out;
	rc = store_prepare(s, "INSERT INTO audit (time, event, msg_id, detail)"
	    " VALUES (?1, ?2, ?3, ?4)", &st);
	if (rc == STORE_OK) {
		store_bind_int64(&rc, st, 1, time(NULL));
		store_bind_text(&rc, st, 2, event);
		store_bind_text(&rc, st, 3, msg_id);
		store_bind_text(&rc, st, 4, detail);
		if (rc == STORE_OK)
			rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : db_err(s);
		sqlite3_finalize(st);
	}
	rc = store_end(s, rc);
out:
	store_unlock(s);
	return rc;
}
