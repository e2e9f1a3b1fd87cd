/*
 * bind.c - checked sqlite3_bind_* with a sticky error.
 *
 * Each helper does nothing when *rc already holds an error, so a run of
 * binds reads as a list and the caller checks once before sqlite3_step:
 * a failed bind (SQLITE_RANGE, SQLITE_NOMEM, SQLITE_TOOBIG) then stops the
 * statement instead of running it with NULL in that parameter's place.
 */
#include "store/store_int.h"

#include <limits.h>

#include "common/log.h"

static int
bind_result(int *rc, int src, int i)
{
	if (src == SQLITE_OK)
		return *rc = STORE_OK;
	/* The index is all we log: a value may be an address or a sealed key. */
	log_warn("store-bind", "param=%d rc=%d err=\"%s\"", i, src, sqlite3_errstr(src));
	return *rc = src == SQLITE_TOOBIG ? STORE_TOOBIG : STORE_ERR;
}

/* d: SQLITE_STATIC (v outlives the step) or SQLITE_TRANSIENT (SQLite copies). */
static int
bind_text(int *rc, sqlite3_stmt *st, int i, const char *v, sqlite3_destructor_type d)
{
	if (*rc != STORE_OK)
		return *rc;
	return bind_result(rc, sqlite3_bind_text(st, i, v, -1, d), i);
}

static int
bind_blob(int *rc, sqlite3_stmt *st, int i, const void *v, size_t len,
    sqlite3_destructor_type d)
{
	if (*rc != STORE_OK)
		return *rc;
	/* SQLite takes an int length: a larger one would wrap, not fail. */
	if (len > INT_MAX)
		return bind_result(rc, SQLITE_TOOBIG, i);
	return bind_result(rc, sqlite3_bind_blob(st, i, v, (int)len, d), i);
}

int
store_bind_text(int *rc, sqlite3_stmt *st, int i, const char *v)
{
	return bind_text(rc, st, i, v, SQLITE_STATIC);
}

int
store_bind_text_copy(int *rc, sqlite3_stmt *st, int i, const char *v)
{
	return bind_text(rc, st, i, v, SQLITE_TRANSIENT);
}

int
store_bind_int64(int *rc, sqlite3_stmt *st, int i, int64_t v)
{
	if (*rc != STORE_OK)
		return *rc;
	return bind_result(rc, sqlite3_bind_int64(st, i, (sqlite3_int64)v), i);
}

int
store_bind_blob(int *rc, sqlite3_stmt *st, int i, const void *v, size_t len)
{
	return bind_blob(rc, st, i, v, len, SQLITE_STATIC);
}

int
store_bind_blob_copy(int *rc, sqlite3_stmt *st, int i, const void *v, size_t len)
{
	return bind_blob(rc, st, i, v, len, SQLITE_TRANSIENT);
}

int
store_bind_null(int *rc, sqlite3_stmt *st, int i)
{
	if (*rc != STORE_OK)
		return *rc;
	return bind_result(rc, sqlite3_bind_null(st, i), i);
}
