/*
 * db.c - opening the store: pragmas, schema and forward migrations,
 * recovery of half-written messages, error mapping, transaction helpers.
 */
#include "common/errbuf.h"
#include "common/fsmode.h"
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

/* Incomplete rows older than this are dropped even if their pid lives (reuse). */
#define STALE_INCOMPLETE_SECS (24 * 3600)

/*
 * Migrations: entry i takes the schema from version i to i + 1.  Never edit
 * a released entry; append a new one and bump STORE_SCHEMA_VERSION.
 */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	/* 0 -> 1: the first schema */
	"CREATE TABLE messages ("
	"  id TEXT PRIMARY KEY,"
	"  created INTEGER NOT NULL,"
	"  account TEXT NOT NULL DEFAULT '',"
	"  mail_from TEXT NOT NULL DEFAULT '',"
	"  message_id TEXT NOT NULL DEFAULT '',"
	"  size INTEGER NOT NULL DEFAULT 0,"
	"  cls_health INTEGER NOT NULL DEFAULT 0,"
	"  cls_score INTEGER NOT NULL DEFAULT 0,"
	"  cls_reasons TEXT NOT NULL DEFAULT '',"
	"  cls_forced INTEGER NOT NULL DEFAULT 0,"
	"  body_8bit INTEGER NOT NULL DEFAULT 0,"
	"  key_id INTEGER,"
	"  sealed_dk BLOB,"			/* NULL = shredded (or not yet committed) */
	"  state TEXT NOT NULL DEFAULT 'incomplete',"	/* incomplete, queued, done */
	"  writer_pid INTEGER,"			/* owner while incomplete */
	"  nchunks INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX messages_state ON messages(state, created);"
	"CREATE INDEX messages_account ON messages(account, created);"
	"CREATE INDEX messages_key ON messages(key_id) WHERE sealed_dk IS NOT NULL;"
	"CREATE TABLE chunks ("
	"  msg_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  data BLOB NOT NULL,"			/* version | nonce | ciphertext | tag */
	"  PRIMARY KEY (msg_id, idx));"
	"CREATE TABLE recipients ("
	"  id INTEGER PRIMARY KEY,"
	"  msg_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  addr TEXT NOT NULL,"
	"  domain TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'queued',"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt INTEGER,"
	"  first_attempt INTEGER,"
	"  channel TEXT,"
	"  reason TEXT,"
	"  last_reply TEXT,"
	"  updated INTEGER);"
	"CREATE INDEX recipients_due ON recipients(state, next_attempt);"
	"CREATE INDEX recipients_msg ON recipients(msg_id);"
	"CREATE INDEX recipients_domain ON recipients(domain, updated);"
	"CREATE TABLE attempts ("
	"  id INTEGER PRIMARY KEY,"
	"  rcpt_id INTEGER REFERENCES recipients(id) ON DELETE SET NULL,"
	"  msg_id TEXT,"			/* no FK: the log outlives the message */
	"  domain TEXT,"
	"  time INTEGER NOT NULL,"
	"  channel TEXT, host TEXT, addr TEXT, tls_version TEXT, cipher TEXT,"
	"  peer_cert_sha256 TEXT, auth_result TEXT, nta_record TEXT,"
	"  nta_dnssec TEXT, nta_verdict TEXT, reply TEXT, result TEXT);"
	"CREATE INDEX attempts_domain ON attempts(domain, time);"
	"CREATE INDEX attempts_time ON attempts(time);"
	"CREATE INDEX attempts_msg ON attempts(msg_id);"
	"CREATE TABLE accounts ("
	"  address TEXT PRIMARY KEY COLLATE NOCASE,"
	"  pwhash TEXT NOT NULL,"
	"  rate_per_hour INTEGER NOT NULL DEFAULT 0,"
	"  allow_from TEXT NOT NULL DEFAULT '',"	/* newline-separated */
	"  allow_ip TEXT NOT NULL DEFAULT '',"		/* newline-separated CIDRs */
	"  created INTEGER NOT NULL);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  event TEXT NOT NULL,"
	"  msg_id TEXT,"
	"  detail TEXT);"
	"CREATE INDEX audit_time ON audit(time);"
	"CREATE INDEX audit_msg ON audit(msg_id);",

	/*
	 * 1 -> 2: with the writer's pid, its start time: a pid reused after a
	 * crash (pid 1 in a container restarts as pid 1) is not the writer.
	 */
	"ALTER TABLE messages ADD COLUMN writer_start INTEGER;",

	/*
	 * 2 -> 3: store keys whose secret is (about to be) destroyed.  A server
	 * started before a rotation still seals to the old public key; once
	 * that key is retired its commits must fail (temporarily, the client
	 * retries) instead of storing a DK nobody can ever open (R-STORE-3).
	 * The check sits in the database so that it is atomic with the count
	 * store_key_retire() makes before the secret goes.
	 */
	"CREATE TABLE retired_keys (key_id INTEGER PRIMARY KEY, time INTEGER NOT NULL);"
	"CREATE TRIGGER messages_retired_key_ins BEFORE INSERT ON messages"
	"  WHEN NEW.sealed_dk IS NOT NULL AND NEW.key_id IN (SELECT key_id FROM retired_keys)"
	"  BEGIN SELECT RAISE(ABORT, 'data key sealed to a retired store key'); END;"
	"CREATE TRIGGER messages_retired_key_upd BEFORE UPDATE OF key_id, sealed_dk ON messages"
	"  WHEN NEW.sealed_dk IS NOT NULL AND NEW.key_id IN (SELECT key_id FROM retired_keys)"
	"  BEGIN SELECT RAISE(ABORT, 'data key sealed to a retired store key'); END;",

	/*
	 * 3 -> 4: the optional CRAM-MD5 secret (hex HMAC-MD5 key, RFC 2195),
	 * NULL unless the operator set one with `user add|passwd --cram`.
	 * It is password-equivalent (R-AUTH-1 opt-in, see docs/hacking.md).
	 */
	"ALTER TABLE accounts ADD COLUMN cram_secret TEXT;",
};

const char *
store_strerror(int err)
{
	switch (err) {
	case STORE_OK: return "ok";
	case STORE_ERR: return "database error";
	case STORE_NOSPACE: return "disk full";
	case STORE_RDONLY: return "database or data directory is read-only";
	case STORE_CORRUPT: return "database file is corrupt or not a database";
	case STORE_NOTFOUND: return "no such message";
	case STORE_TAMPER: return "stored message failed authentication (tampered or truncated)";
	case STORE_SHREDDED: return "message data key was shredded";
	case STORE_KEY: return "no secret key opens this message's data key";
	case STORE_TOOBIG: return "message too big";
	case STORE_EXISTS: return "already exists";
	default: return "unknown store error";
	}
}

int
store_map(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: case SQLITE_ROW: case SQLITE_DONE:
		return STORE_OK;
	case SQLITE_FULL:
		return STORE_NOSPACE;
	case SQLITE_READONLY:
		return STORE_RDONLY;
	case SQLITE_NOTADB: case SQLITE_CORRUPT:
		return STORE_CORRUPT;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
			return STORE_EXISTS;
		if (rc == SQLITE_CONSTRAINT_TRIGGER)
			return STORE_KEY;	/* the only triggers: retired store keys */
		return STORE_ERR;
	default:
		return STORE_ERR;
	}
}

void
store_lock(struct store *s)
{
	if (pthread_mutex_lock(&s->mu) != 0)
		abort();	/* only on a corrupted mutex: nothing sane left to do */
}

void
store_unlock(struct store *s)
{
	if (pthread_mutex_unlock(&s->mu) != 0)
		abort();
}

int
store_exec(struct store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		log_warn("store-sql", "rc=%d err=\"%s\"", rc, sqlite3_errmsg(s->db));
	return rc == SQLITE_OK ? STORE_OK : store_map(sqlite3_extended_errcode(s->db));
}

int
store_prepare(struct store *s, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK) {
		log_warn("store-prepare", "rc=%d err=\"%s\"", rc, sqlite3_errmsg(s->db));
		*st = NULL;
		return store_map(rc);
	}
	return STORE_OK;
}

int
store_cached(struct store *s, int slot, const char *sql, sqlite3_stmt **st)
{
	int rc;

	*st = NULL;
	if (slot < 0 || slot >= STORE_SLOT_MAX)
		return STORE_ERR;
	if (s->cache[slot] == NULL) {
		rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
		    &s->cache[slot], NULL);
		if (rc != SQLITE_OK) {
			log_warn("store-prepare", "rc=%d err=\"%s\"", rc, sqlite3_errmsg(s->db));
			s->cache[slot] = NULL;
			return store_map(rc);
		}
	}
	*st = s->cache[slot];
	return STORE_OK;
}

void
store_release(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	/*
	 * The reset happens whatever it returns, and what it returns is the
	 * last step's error, which the caller checked: nothing new to report.
	 * The same holds for every reset in this file (statements are prepared
	 * with _v2/_v3, whose step returns the specific error itself).
	 */
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
}

/*
 * BEGIN IMMEDIATE takes the write lock now, so a transaction never fails
 * half-way on a lock upgrade.  busy_timeout already waits; retry a few
 * times on top because several processes may queue for the lock.
 */
int
store_begin(struct store *s)
{
	for (int i = 0; i < STORE_BEGIN_TRIES; i++) {
		int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return STORE_OK;
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			return store_map(sqlite3_extended_errcode(s->db));
		(void)usleep(1000);
	}
	log_warn("store-busy", "op=begin");
	return STORE_ERR;
}

int
store_commit_tx(struct store *s)
{
	int rc;

	for (int i = 0; i < STORE_BEGIN_TRIES; i++) {
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return STORE_OK;
		if ((rc & 0xff) != SQLITE_BUSY)
			break;
		(void)usleep(1000);
	}
	rc = store_map(sqlite3_extended_errcode(s->db));
	store_rollback(s);
	return rc == STORE_OK ? STORE_ERR : rc;
}

void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int
store_end(struct store *s, int rc)
{
	if (rc == STORE_OK)
		return store_commit_tx(s);
	store_rollback(s);
	return rc;
}

int
store_checkpoint(struct store *s)
{
	int rc;

	/*
	 * TRUNCATE waits (busy handler) for readers of old frames; never stall a
	 * shred or a commit for the full busy timeout on that: if a reader holds
	 * on, ckpt_pending makes a later commit or store_close try again.
	 */
	(void)sqlite3_busy_timeout(s->db, s->ckpt_pending ? 0 : STORE_CKPT_WAIT_MS);
	rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	(void)sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	s->ckpt_pending = rc != SQLITE_OK;
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		return store_map(rc);
	return STORE_OK;
}


static int
read_version(struct store *s, int *v)
{
	sqlite3_stmt *st;
	int rc = store_prepare(s, "SELECT max(version) FROM schema_version", &st);

	if (rc != STORE_OK)
		return rc;
	rc = sqlite3_step(st);
	*v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	rc = rc == SQLITE_ROW ? STORE_OK : store_map(sqlite3_extended_errcode(s->db));
	sqlite3_finalize(st);
	return rc;
}

/* Bring the schema to STORE_SCHEMA_VERSION in one write transaction. */
static int
migrate(struct store *s, char *err, size_t errlen)
{
	int v = 0, rc;

	rc = store_exec(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
	if (rc != STORE_OK)
		goto fail;
	if ((rc = store_begin(s)) != STORE_OK)
		goto fail;
	if ((rc = read_version(s, &v)) != STORE_OK)
		goto fail_tx;
	if (v > STORE_SCHEMA_VERSION) {
		store_rollback(s);
		errbuf_set(err, errlen, "%s: schema version %d is newer than this program (%d)",
		    s->path, v, STORE_SCHEMA_VERSION);
		return STORE_ERR;
	}
	for (; v < STORE_SCHEMA_VERSION; v++) {
		char sql[64];
		if ((rc = store_exec(s, migrations[v])) != STORE_OK)
			goto fail_tx;
		(void)snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d)", v + 1);
		if ((rc = store_exec(s, sql)) != STORE_OK)
			goto fail_tx;
	}
	if ((rc = store_commit_tx(s)) != STORE_OK)
		goto fail;
	return STORE_OK;
fail_tx:
	store_rollback(s);
fail:
	errbuf_set(err, errlen, "%s: cannot create or migrate the schema: %s (%s)",
	    s->path, store_strerror(rc), sqlite3_errmsg(s->db));
	return rc;
}

int64_t
store_proc_start(pid_t pid)
{
	char path[64], buf[1024];
	FILE *f;
	size_t n;

	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	(void)fclose(f);
	buf[n] = '\0';
	/* "pid (comm) state ..." and comm may hold spaces or ')': skip to the last ')'. */
	char *p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	/* Fields from 3 (state) on; starttime is field 22. */
	int field = 2;
	for (p++; *p != '\0' && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field != 22)
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(p, &end, 10);
	if (errno != 0 || end == p)
		return -1;
	return v;
}

/* Is the writer of an incomplete row still running? */
static int
writer_alive(sqlite3_stmt *st)
{
	pid_t pid = (pid_t)sqlite3_column_int64(st, 1);

	if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM))
		return 0;
	if (sqlite3_column_type(st, 3) == SQLITE_NULL)
		return 1;
	return store_proc_start(pid) == sqlite3_column_int64(st, 3);
}

/* Delete the incomplete row id: STORE_OK, or the bind's or the step's error. */
static int
delete_incomplete(struct store *s, sqlite3_stmt *del, const char *id)
{
	int rc = STORE_OK;

	if (store_bind_text_copy(&rc, del, 1, id) != STORE_OK)
		return rc;
	if (sqlite3_step(del) != SQLITE_DONE &&
	    (rc = store_map(sqlite3_extended_errcode(s->db))) == STORE_OK)
		rc = STORE_ERR;
	(void)sqlite3_reset(del);
	return rc;
}

/*
 * A message is written in several transactions; until its commit its row is
 * 'incomplete' and owned by the writer's pid.  Remove such rows whose writer
 * is gone, so nothing half-stored ever looks whole and no space leaks.
 */
int
store_recover(struct store *s)
{
	sqlite3_stmt *st, *del;
	int rc, drc = STORE_OK, n = 0;
	time_t now = time(NULL);

	if ((rc = store_begin(s)) != STORE_OK)
		return rc;
	if ((rc = store_prepare(s, "SELECT id, writer_pid, created, writer_start FROM messages "
	    "WHERE state = 'incomplete'", &st)) != STORE_OK) {
		store_rollback(s);
		return rc;
	}
	if ((rc = store_prepare(s, "DELETE FROM messages WHERE id = ?1 AND state = 'incomplete'",
	    &del)) != STORE_OK) {
		sqlite3_finalize(st);
		store_rollback(s);
		return rc;
	}
	while (drc == STORE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t created = sqlite3_column_int64(st, 2);
		if (writer_alive(st) && now - created < STALE_INCOMPLETE_SECS)
			continue;
		drc = delete_incomplete(s, del, (const char *)sqlite3_column_text(st, 0));
		n += drc == STORE_OK;
	}
	if (drc == STORE_OK)
		rc = rc == SQLITE_DONE ? STORE_OK : store_map(sqlite3_extended_errcode(s->db));
	else
		rc = drc;
	sqlite3_finalize(st);
	sqlite3_finalize(del);
	if (rc != STORE_OK) {
		store_rollback(s);
		return rc;
	}
	if (n > 0)
		log_info("store-recover", "removed_incomplete=%d", n);
	return store_commit_tx(s);
}

/* Explain an open/pragma failure in words an operator can act on. */
static int
open_fail(struct store *s, const char *data_dir, const char *what, char *err, size_t errlen)
{
	int ext = s->db ? sqlite3_extended_errcode(s->db) : SQLITE_CANTOPEN;
	int rc = store_map(ext);

	if (rc == STORE_OK)
		rc = STORE_ERR;

	if ((ext & 0xff) == SQLITE_CANTOPEN || rc == STORE_ERR) {
		/* CANTOPEN in a read-only directory: WAL needs -wal and -shm files. */
		if (access(data_dir, W_OK) != 0 && (errno == EROFS || errno == EACCES))
			rc = STORE_RDONLY;
	}
	errbuf_set(err, errlen, "%s: %s: %s (%s)", s->path, what, store_strerror(rc),
	    s->db ? sqlite3_errmsg(s->db) : "cannot open");
	return rc;
}

/* One try at journal_mode=WAL: 1 done, 0 busy (try again), negative error. */
static int
try_wal(struct store *s)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	int wal = 0;

	if (rc == SQLITE_OK) {
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const unsigned char *m = sqlite3_column_text(st, 0);
			wal = m != NULL && !strcmp((const char *)m, "wal");
		}
		sqlite3_finalize(st);
	}
	if (wal)
		return 1;
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return 0;
	rc = store_map(sqlite3_extended_errcode(s->db));
	return rc != STORE_OK ? rc : STORE_ERR;
}

static int
apply_pragmas(struct store *s)
{
	int rc = 0;

	/*
	 * Switching a fresh file to WAL needs an exclusive lock, and SQLite
	 * answers BUSY at once, without the busy handler, when another process
	 * opening the same new file at the same moment would otherwise
	 * deadlock with us: retry like store_begin does.
	 */
	for (int i = 0; i < STORE_BEGIN_TRIES && (rc = try_wal(s)) == 0; i++)
		(void)usleep(1000 * (unsigned)(i + 1));
	if (rc <= 0)
		return rc < 0 ? rc : STORE_ERR;
	/* synchronous=FULL: with NORMAL a commit can roll back after power loss. */
	/* temp_store=MEMORY: sorts and temp indexes never reach a temp file. */
	return store_exec(s, "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;"
	    "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-8000");
}

/*
 * The database, -wal and -shm hold sealed DKs, addresses and audit data:
 * owner-only (0600) whatever umask the caller ran with, or 0660 and the
 * data directory's group in the group-shared layout (common/fsmode.h: smtpd
 * and deliver are two users sharing that group).  Never anything for
 * others.  A different mode or group is fixed and logged (not refused: a
 * group-readable file is a mistake to repair, not a reason to stop mail).
 * Done by path, before SQLite opens anything: closing any descriptor of a
 * database file drops every POSIX lock this process holds on it, so we
 * never open one.  A -wal or -shm SQLite creates later gets the database
 * file's mode (and, in a setgid directory, its group).
 * AT_SYMLINK_NOFOLLOW: never chmod/chown what a link points to.
 */
static void
fix_group(const char *path, const char *sfx, const struct stat *sb, const struct fsmode *fm)
{
	if (!fm->shared || sb->st_gid == fm->gid)
		return;
	if (fchownat(AT_FDCWD, path, (uid_t)-1, fm->gid, AT_SYMLINK_NOFOLLOW) == 0)
		log_warn("store-group-fixed", "file=ntamsa.db%s old=%u new=%u",
		    sfx, (unsigned)sb->st_gid, (unsigned)fm->gid);
	else
		log_warn("store-group-unfixable", "file=ntamsa.db%s group=%u want=%u errno=%d",
		    sfx, (unsigned)sb->st_gid, (unsigned)fm->gid, errno);
}

static void
fix_modes(const char *db, const struct fsmode *fm)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	char path[4096 + 8];		/* struct store path + "-wal" */
	struct stat sb;

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		int n = snprintf(path, sizeof(path), "%s%s", db, sfx[i]);
		if (n < 0 || (size_t)n >= sizeof(path) || lstat(path, &sb) != 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		fix_group(path, sfx[i], &sb, fm);
		if ((sb.st_mode & 07777) == fm->db)
			continue;
		if (fchmodat(AT_FDCWD, path, fm->db, AT_SYMLINK_NOFOLLOW) == 0)
			log_warn("store-mode-fixed", "file=ntamsa.db%s old=%04o new=%04o",
			    sfx[i], (unsigned)(sb.st_mode & 07777), (unsigned)fm->db);
		else
			log_warn("store-mode-unfixable", "file=ntamsa.db%s mode=%04o errno=%d",
			    sfx[i], (unsigned)(sb.st_mode & 07777), errno);
	}
}

/*
 * Create the database file with the layout's mode ourselves: no window with
 * the umask's mode (fchmod: a umask must not narrow 0660 either, or the
 * other worker's user could not open it).  O_EXCL: we only ever close a
 * descriptor of a file that did not exist, so no lock of this process can
 * be on it.  Returns -1 when the mode or group could not be set; the
 * caller need not care: fix_modes tries again and logs it.
 */
static int
precreate_db(const char *path, const struct fsmode *fm)
{
	const char *step;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, fm->db);
	int rc;

	if (fd < 0)
		return 0;	/* it exists (or cannot be made: SQLite says why) */
	rc = fsmode_apply_fd(fd, fm->gid, fm->db, &step);
	if (close(fd) != 0)	/* an empty file is a new database to SQLite */
		rc = -1;
	return rc;
}

int
store_open(const char *data_dir, struct store **out, char *err, size_t errlen)
{
	struct store *s;
	struct stat sb;
	struct fsmode fm;
	int rc, n;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		errbuf_set(err, errlen, "out of memory");
		return STORE_ERR;
	}
	n = snprintf(s->path, sizeof(s->path), "%s/ntamsa.db", data_dir);
	if (n < 0 || (size_t)n >= sizeof(s->path) || stat(data_dir, &sb) != 0 ||
	    !S_ISDIR(sb.st_mode)) {
		errbuf_set(err, errlen, "data directory %s missing or path too long", data_dir);
		free(s);
		return STORE_ERR;
	}
	/*
	 * Recursive: a callback run under the lock (store_account_list) may call
	 * back into the store; SQLite allows nested statements on a connection.
	 */
	pthread_mutexattr_t ma;
	if (pthread_mutexattr_init(&ma) != 0 ||
	    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE) != 0 ||
	    pthread_mutex_init(&s->mu, &ma) != 0 || pthread_mutex_init(&s->gc_mu, NULL) != 0 ||
	    pthread_cond_init(&s->gc_cv, NULL) != 0) {
		errbuf_set(err, errlen, "cannot initialise store locks");
		free(s);
		return STORE_ERR;
	}
	(void)pthread_mutexattr_destroy(&ma);
	fsmode_layout(data_dir, &fm);
	(void)precreate_db(s->path, &fm);	/* fix_modes repairs and logs */
	fix_modes(s->path, &fm);
	rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = open_fail(s, data_dir, "cannot open", err, errlen);
		store_close(s);
		return rc;
	}
	(void)sqlite3_extended_result_codes(s->db, 1);
	(void)sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	if (sqlite3_db_readonly(s->db, "main") == 1) {
		errbuf_set(err, errlen, "%s: %s", s->path, store_strerror(STORE_RDONLY));
		store_close(s);
		return STORE_RDONLY;
	}
	if ((rc = apply_pragmas(s)) != STORE_OK) {
		rc = open_fail(s, data_dir, "cannot set up", err, errlen);
		store_close(s);
		return rc;
	}
	if ((rc = migrate(s, err, errlen)) != STORE_OK) {
		store_close(s);
		return rc;
	}
	if ((rc = store_recover(s)) != STORE_OK) {
		rc = open_fail(s, data_dir, "cannot remove incomplete messages", err, errlen);
		store_close(s);
		return rc;
	}
	*out = s;
	return STORE_OK;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < STORE_SLOT_MAX; i++)
		if (s->cache[i] != NULL)
			(void)sqlite3_finalize(s->cache[i]);
	if (s->db != NULL && s->ckpt_pending)
		(void)store_checkpoint(s);
	if (s->db != NULL)
		(void)sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->gc_mu);
	pthread_cond_destroy(&s->gc_cv);
	free(s);
}

void
store_gc_stats(struct store *s, uint64_t *batches, uint64_t *msgs)
{
	if (pthread_mutex_lock(&s->gc_mu) != 0)
		abort();
	*batches = s->gc_msgs.batches;
	*msgs = s->gc_msgs.items;
	(void)pthread_mutex_unlock(&s->gc_mu);
}
