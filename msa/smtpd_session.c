/* smtpd_session.c - one SMTP submission session: state machine and I/O. */
#include "common/log.h"
#include "msa/accounts.h"
#include "msa/smtpd_int.h"
#include "msa/smtpd_parse.h"
#include "msa/submit.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdint.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define IN_BUF 8192
#define OUT_BUF 4096
#define MAX_BAD_CMDS 10
#define AUTH_DELAY_MS 250	/* per failure counted so far, capped below */
#define AUTH_DELAY_MAX_MS 3000

struct smtp_session {
	struct smtp_server *srv;
	const struct config *cfg;
	int fd;
	int timeout_ms;
	SSL *ssl;
	int implicit;
	char ip[INET6_ADDRSTRLEN];
	struct sockaddr_storage peer;
	char helo[256];
	int greeted;
	int authed;
	struct store_account *acct;	/* set once authenticated */
	int bad;
	int closing;
	/* transaction */
	int in_mail;
	char mail_from[SMTP_PATH_MAX];
	int body8;
	size_t n_rcpt;
	char (*rcpt)[SMTP_PATH_MAX];
	/* I/O */
	char in[IN_BUF];
	size_t in_len;
	char out[OUT_BUF];
	size_t out_len;
};

/* ---- I/O ---- */

static void
set_timeout(struct smtp_session *s, int64_t secs)
{
	struct timeval tv = {.tv_sec = (time_t)secs, .tv_usec = 0};
	s->timeout_ms = secs > INT32_MAX / 1000 ? INT32_MAX : (int)(secs * 1000);
	/* A failure only leaves the previous timeout in place. */
	(void)setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
raw_write(struct smtp_session *s, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w;
		if (s->ssl != NULL) {
			size_t done = 0;
			if (SSL_write_ex(s->ssl, p, n, &done) != 1) {
				ERR_clear_error();
				return -1;
			}
			w = (ssize_t)done;
		} else {
			w = send(s->fd, p, n, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
flush_out(struct smtp_session *s)
{
	if (s->out_len == 0)
		return 0;
	int rc = raw_write(s, s->out, s->out_len);
	s->out_len = 0;
	if (rc != 0)
		s->closing = 1;
	return rc;
}

/* Queue one reply line (CRLF added); flushed before the next blocking read. */
__attribute__((format(printf, 2, 3)))
static void
reply(struct smtp_session *s, const char *fmt, ...)
{
	char line[600];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	if (s->out_len + (size_t)n > sizeof(s->out) && flush_out(s) != 0)
		return;
	memcpy(s->out + s->out_len, line, (size_t)n);
	s->out_len += (size_t)n;
}

/* Read more input; 1 got bytes, 0 EOF, -1 error or time-out. */
static int
fill(struct smtp_session *s)
{
	if (flush_out(s) != 0)
		return -1;
	if (s->in_len >= sizeof(s->in))
		return -1;
	/*
	 * Wait for the client or for shutdown.  Waking sessions through the
	 * stop pipe (not shutdown(2)) keeps the TLS session able to send 421.
	 */
	if (s->ssl == NULL || !SSL_has_pending(s->ssl)) {
		struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN},
		    {.fd = s->srv->stop_fd, .events = POLLIN}};
		int r;
		while ((r = poll(p, 2, s->timeout_ms)) < 0 && errno == EINTR)
			;
		if (r == 0)
			errno = EAGAIN;
		if (r <= 0 || (p[1].revents & POLLIN))
			return -1;
	}
	for (;;) {
		if (s->ssl != NULL) {
			size_t got = 0;
			int r = SSL_read_ex(s->ssl, s->in + s->in_len, sizeof(s->in) - s->in_len, &got);
			if (r == 1) {
				s->in_len += got;
				return 1;
			}
			int e = SSL_get_error(s->ssl, r);
			ERR_clear_error();
			if (e == SSL_ERROR_ZERO_RETURN)
				return 0;
			if (e == SSL_ERROR_SYSCALL && errno == 0)
				return 0;
			return -1;
		}
		ssize_t r = recv(s->fd, s->in + s->in_len, sizeof(s->in) - s->in_len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? 0 : -1;
		s->in_len += (size_t)r;
		return 1;
	}
}

/*
 * Drop the first n input bytes.  The bytes the shift leaves behind are
 * wiped, so nothing consumed (message text, AUTH credentials) stays in
 * the buffer, not even as a stale copy past its end.
 */
static void
consume(struct smtp_session *s, size_t n)
{
	memmove(s->in, s->in + n, s->in_len - n);
	s->in_len -= n;
	sodium_memzero(s->in + s->in_len, n);
}

/* End the session politely when the reading side failed. */
static void
read_failed(struct smtp_session *s, int rc)
{
	if (s->srv->stopping)
		reply(s, "421 4.3.2 %s Service shutting down", s->cfg->hostname);
	else if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		reply(s, "421 4.4.2 %s Timeout, closing connection", s->cfg->hostname);
	(void)flush_out(s);
	s->closing = 1;
}

/* ---- transaction ---- */

static void
txn_reset(struct smtp_session *s)
{
	s->in_mail = 0;
	s->mail_from[0] = '\0';
	s->body8 = 0;
	s->n_rcpt = 0;
}

static void
session_reset(struct smtp_session *s)
{
	txn_reset(s);
	s->helo[0] = '\0';
	s->greeted = 0;
	s->authed = 0;
	if (s->acct != NULL) {
		sodium_memzero(s->acct, sizeof(*s->acct));
		free(s->acct);
		s->acct = NULL;
	}
}

/* ---- commands ---- */

static void
do_ehlo(struct smtp_session *s, const struct smtp_cmd *c, int ehlo)
{
	/* The parser bounds the name to 255 octets. */
	size_t n = strnlen(c->arg, sizeof(s->helo) - 1);
	memcpy(s->helo, c->arg, n);
	s->helo[n] = '\0';
	s->greeted = 1;
	txn_reset(s);
	if (!ehlo) {
		reply(s, "250 %s", s->cfg->hostname);
		return;
	}
	reply(s, "250-%s", s->cfg->hostname);
	reply(s, "250-PIPELINING");
	reply(s, "250-SIZE %lld", (long long)s->cfg->max_message_size);
	reply(s, "250-8BITMIME");
	if (s->ssl == NULL)
		reply(s, "250-STARTTLS");
	else if (!s->authed)	/* CRAM-MD5 only as the operator's opt-in (R-AUTH-1) */
		reply(s, s->cfg->auth_cram_md5 ? "250-AUTH PLAIN LOGIN CRAM-MD5" :
		    "250-AUTH PLAIN LOGIN");
	reply(s, "250 ENHANCEDSTATUSCODES");
}

static int
tls_accept(struct smtp_session *s)
{
	SSL_CTX *ctx = smtp_server_ctx(s->srv);
	if (ctx == NULL)
		return -1;
	s->ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);		/* the SSL holds its own reference */
	if (s->ssl == NULL || SSL_set_fd(s->ssl, s->fd) != 1) {
		ERR_clear_error();
		return -1;
	}
	if (SSL_accept(s->ssl) != 1) {
		char e[160];
		ERR_error_string_n(ERR_peek_error(), e, sizeof(e));
		char q[200];
		log_info("tls-fail", "ip=%s error=%s", s->ip, log_quote(q, sizeof(q), e));
		ERR_clear_error();
		SSL_free(s->ssl);
		s->ssl = NULL;
		return -1;
	}
	return 0;
}

static void
do_starttls(struct smtp_session *s)
{
	if (s->ssl != NULL) {
		reply(s, "503 5.5.1 TLS already active");
		return;
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	if (flush_out(s) != 0)
		return;
	/*
	 * Anything the client pipelined behind STARTTLS arrived in plaintext
	 * and must not be executed inside the TLS session (CVE-2011-0411 class).
	 */
	s->in_len = 0;
	if (tls_accept(s) != 0) {
		s->closing = 1;
		return;
	}
	session_reset(s);	/* RFC 3207 4.2: forget everything learnt before */
}

/* Read one SASL continuation line into out; -1 on cancel ("*") or error. */
static int
sasl_line(struct smtp_session *s, const char *challenge, char *out, size_t outlen)
{
	reply(s, "334 %s", challenge);
	for (;;) {
		size_t ll, used;
		int r = smtp_line_take(s->in, s->in_len, SMTP_CMD_MAX, &ll, &used);
		if (r == 1) {
			int ok = ll < outlen;
			if (ok) {
				memcpy(out, s->in, ll);
				out[ll] = '\0';
			}
			consume(s, used);
			if (!ok) {
				reply(s, "500 5.5.6 Authentication exchange line too long");
				return -1;
			}
			if (strcmp(out, "*") == 0) {
				reply(s, "501 5.0.0 Authentication cancelled");
				return -1;
			}
			return 0;
		}
		if (r < 0) {
			consume(s, used);
			reply(s, "500 5.5.2 Syntax error in authentication exchange");
			return -1;
		}
		int fr = fill(s);
		if (fr <= 0) {
			read_failed(s, fr);
			return -1;
		}
	}
}

static void
auth_delay(int fails)
{
	long ms = (long)fails * AUTH_DELAY_MS;
	if (ms > AUTH_DELAY_MAX_MS)
		ms = AUTH_DELAY_MAX_MS;
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
account_key(const char *user, char *key, size_t keylen)
{
	snprintf(key, keylen, "u:%s", user);
	for (char *p = key; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

/*
 * Check user/password; replies itself.  pw is wiped by the caller.  With
 * cram (the CRAM-MD5 challenge sent), pw is the client's 16-octet digest,
 * checked against the account's CRAM secret instead of its Argon2id hash;
 * lock-out, slow-down and replies are the same.
 */
static void
auth_check(struct smtp_session *s, const char *user, const char *pw, size_t pwlen,
    const char *cram)
{
	struct smtp_server *srv = s->srv;
	char ukey[STORE_ADDR_MAX + 8], ikey[INET6_ADDRSTRLEN + 4], q[STORE_ADDR_MAX * 4];
	time_t now = time(NULL);

	account_key(user, ukey, sizeof(ukey));
	snprintf(ikey, sizeof(ikey), "ip:%s", s->ip);
	struct store_account *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	int grc = store_account_get(srv->store, user, a);
	if (grc != STORE_OK && grc != STORE_NOTFOUND) {
		log_err("auth-store", "error=%s", store_strerror(grc));
		reply(s, "454 4.7.0 Temporary authentication failure");
		free(a);
		return;
	}
	int found = grc == STORE_OK;
	int locked = smtp_locks_locked(srv->locks, ukey, now);
	/* Same work whether or not the account exists: no user enumeration. */
	int cached = cram == NULL && found && !locked &&
	    smtp_authcache_hit(srv->authcache, user, pw, pwlen, a->pwhash, now);
	int ok;
	if (cram != NULL)	/* a has cram_secret "" when not found: fails alike */
		ok = smtp_cram_verify(a->cram_secret, cram, (const unsigned char *)pw) == 0;
	else
		ok = cached ||
		    acct_verify_password(found ? a->pwhash : srv->dummy_hash, pw, pwlen) == 0;
	ok = ok && found && !locked;
	if (ok && !acct_ip_allowed(a, (const struct sockaddr *)&s->peer)) {
		log_info("auth-refused", "ip=%s user=%s reason=allow-ip", s->ip,
		    log_quote(q, sizeof(q), user));
		reply(s, "535 5.7.8 Authentication credentials invalid");
		sodium_memzero(a, sizeof(*a));
		free(a);
		return;
	}
	if (!ok) {
		int f1 = locked ? 0 : smtp_locks_fail(srv->locks, ukey, now);
		int f2 = smtp_locks_fail(srv->locks, ikey, now);
		log_info("auth-fail", "ip=%s user=%s", s->ip, log_quote(q, sizeof(q), user));
		auth_delay(f1 > f2 ? f1 : f2);
		reply(s, "535 5.7.8 Authentication credentials invalid");
		sodium_memzero(a, sizeof(*a));
		free(a);
		return;
	}
	smtp_locks_clear(srv->locks, ukey);
	if (!cached && cram == NULL)
		smtp_authcache_put(srv->authcache, user, pw, pwlen, a->pwhash, now);
	s->acct = a;
	s->authed = 1;
	log_info("auth-ok", "ip=%s user=%s", s->ip, log_quote(q, sizeof(q), user));
	reply(s, "235 2.7.0 Authentication successful");
}

/*
 * One AUTH exchange's secrets, all wiped together when it ends: the
 * decoded user and password (or CRAM-MD5 digest), the continuation line,
 * the CRAM-MD5 challenge.
 */
struct auth_in {
	char user[STORE_ADDR_MAX], pw[600], line[SMTP_CMD_MAX], chal[400];
	size_t pwlen;
};

/*
 * The mechanisms: 0 decoded into a, -1 undecodable (the caller answers
 * 501), 1 the exchange ended here (cancelled, too long, connection gone:
 * sasl_line has answered).
 */
static int
auth_plain(struct smtp_session *s, const char *init, struct auth_in *a)
{
	if (init == NULL) {
		if (sasl_line(s, "", a->line, sizeof(a->line)) != 0)
			return 1;
		init = a->line;
	}
	/* "=" is an empty initial response (RFC 4954 4). */
	return smtp_sasl_plain(strcmp(init, "=") ? init : "", a->user, sizeof(a->user),
	    a->pw, sizeof(a->pw), &a->pwlen) == 0 ? 0 : -1;
}

static int
auth_login(struct smtp_session *s, const char *init, struct auth_in *a)
{
	size_t n;

	if (init == NULL) {
		if (sasl_line(s, "VXNlcm5hbWU6", a->line, sizeof(a->line)) != 0)
			return 1;
		init = a->line;
	}
	if (smtp_b64_decode(init, a->user, sizeof(a->user), &n) != 0 || n == 0 ||
	    memchr(a->user, '\0', n) != NULL)
		return -1;
	if (sasl_line(s, "UGFzc3dvcmQ6", a->line, sizeof(a->line)) != 0)
		return 1;
	return smtp_b64_decode(a->line, a->pw, sizeof(a->pw), &a->pwlen) == 0 ? 0 : -1;
}

/* RFC 2195: no initial response; the challenge is one-time. */
static int
auth_cram(struct smtp_session *s, struct auth_in *a)
{
	char cb[540];

	if (smtp_cram_challenge(s->cfg->hostname, a->chal, sizeof(a->chal), cb, sizeof(cb)) != 0) {
		reply(s, "454 4.7.0 Temporary authentication failure");
		return 1;
	}
	if (sasl_line(s, cb, a->line, sizeof(a->line)) != 0)
		return 1;
	a->pwlen = 16;
	return smtp_cram_response(a->line, a->user, sizeof(a->user),
	    (unsigned char *)a->pw) == 0 ? 0 : -1;
}

/* 1 when AUTH may start now; otherwise it has answered why not. */
static int
auth_allowed(struct smtp_session *s)
{
	char ikey[INET6_ADDRSTRLEN + 4];

	if (s->authed) {
		reply(s, "503 5.5.1 Already authenticated");
		return 0;
	}
	if (s->in_mail) {
		reply(s, "503 5.5.1 AUTH not permitted during a mail transaction");
		return 0;
	}
	snprintf(ikey, sizeof(ikey), "ip:%s", s->ip);
	if (smtp_locks_locked(s->srv->locks, ikey, time(NULL))) {
		reply(s, "454 4.7.0 Too many failed logins, try again later");
		return 0;
	}
	return 1;
}

static void
do_auth(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct auth_in a = {.pwlen = 0};
	char mech[32] = "";
	const char *sp = strchr(c->arg, ' ');
	const char *init = sp != NULL ? sp + 1 : NULL;
	size_t ml = sp ? (size_t)(sp - c->arg) : strlen(c->arg);
	int rc;

	if (!auth_allowed(s))
		return;
	if (ml < sizeof(mech)) {
		memcpy(mech, c->arg, ml);
		mech[ml] = '\0';
	}
	if (!strcasecmp(mech, "PLAIN"))
		rc = auth_plain(s, init, &a);
	else if (!strcasecmp(mech, "LOGIN"))
		rc = auth_login(s, init, &a);
	else if (!strcasecmp(mech, "CRAM-MD5") && s->cfg->auth_cram_md5 && init == NULL)
		rc = auth_cram(s, &a);
	else {
		reply(s, "504 5.5.4 Unrecognized authentication type");
		return;
	}
	if (rc < 0)
		reply(s, "501 5.5.2 Cannot decode authentication data");
	else if (rc == 0)
		auth_check(s, a.user, a.pw, a.pwlen, a.chal[0] != '\0' ? a.chal : NULL);
	sodium_memzero(&a, sizeof(a));
}

static void
do_mail(struct smtp_session *s, const struct smtp_cmd *c)
{
	char q[SMTP_PATH_MAX * 4];

	if (s->in_mail) {
		reply(s, "503 5.5.1 Nested MAIL command");
		return;
	}
	if (c->has_size && c->size > (uint64_t)s->cfg->max_message_size) {
		reply(s, "552 5.3.4 Message size exceeds fixed maximum message size");
		return;
	}
	if (!acct_sender_allowed(s->acct, c->path)) {
		log_info("sender-refused", "user=%s from=%s",
		    log_quote(q, sizeof(q), s->acct->address), c->path[0] ? "other" : "null");
		reply(s, "550 5.7.1 Sender address not allowed for this account");
		return;
	}
	int64_t sent = 0;
	if (smtp_rate_count(s->srv->rate, s->acct->address, time(NULL), &sent) != 0) {
		reply(s, "451 4.3.0 Temporary local problem, try again later");
		return;
	}
	if (s->acct->rate_per_hour > 0 && sent >= s->acct->rate_per_hour) {
		log_info("rate-limit", "user=%s sent=%lld", log_quote(q, sizeof(q), s->acct->address),
		    (long long)sent);
		reply(s, "450 4.7.1 Hourly message limit reached, try again later");
		return;
	}
	snprintf(s->mail_from, sizeof(s->mail_from), "%s", c->path);
	s->body8 = c->body == SMTP_BODY_8BITMIME;
	s->in_mail = 1;
	s->n_rcpt = 0;
	reply(s, "250 2.1.0 Ok");
}

static void
do_rcpt(struct smtp_session *s, const struct smtp_cmd *c)
{
	if (!s->in_mail) {
		reply(s, "503 5.5.1 Need MAIL before RCPT");
		return;
	}
	if (s->n_rcpt >= (size_t)s->cfg->max_recipients) {
		reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	/* Allocated at first use: idle sessions stay small. */
	if (s->rcpt == NULL &&
	    (s->rcpt = calloc((size_t)s->cfg->max_recipients, SMTP_PATH_MAX)) == NULL) {
		reply(s, "452 4.3.1 Insufficient system storage");
		return;
	}
	snprintf(s->rcpt[s->n_rcpt++], SMTP_PATH_MAX, "%s", c->path);
	reply(s, "250 2.1.5 Ok");
}

struct sender_ck {
	const struct store_account *a;
	int n;
};

static int
sender_cb(const char *addr, void *arg)
{
	struct sender_ck *k = arg;
	k->n++;
	return acct_sender_allowed(k->a, addr) ? 0 : 1;
}

/* submit_write's sink: keeps the store's own error for the reply. */
struct store_sink {
	struct store_msg *sm;
	int rc;
};

static int
store_wr(const void *p, size_t n, void *arg)
{
	struct store_sink *k = arg;

	k->rc = store_msg_write(k->sm, p, n);
	return k->rc == STORE_OK ? 0 : -1;
}

/* A short name for the log: grep-able, unlike the sentence. */
static const char *
store_err_name(int rc)
{
	switch (rc) {
	case STORE_NOSPACE: return "disk-full";
	case STORE_RDONLY: return "read-only";
	case STORE_CORRUPT: return "corrupt";
	case STORE_KEY: return "store-key-retired";
	case STORE_TOOBIG: return "too-big";
	default: return "store-error";
	}
}

/*
 * RFC 3463: a full disk is 452 4.3.1 (the client retries later); anything
 * else the store cannot do now (read-only, corrupt, I/O) is 451 4.3.0.
 * The log line names the store's error so an operator knows which.
 */
static void
commit_reply(struct smtp_session *s, int rc, const char *id)
{
	char q[STORE_ADDR_MAX * 4];

	if (rc == STORE_OK) {
		smtp_rate_add(s->srv->rate, s->acct->address);
		log_info("queued", "id=%s user=%s rcpts=%zu", id,
		    log_quote(q, sizeof(q), s->acct->address), s->n_rcpt);
		reply(s, "250 2.0.0 Ok: queued as %s", id);
		char b = 1;
		/* A full pipe means deliver is already due to wake up. */
		if (s->srv->wake_fd >= 0 && write(s->srv->wake_fd, &b, 1) < 0 && errno != EAGAIN)
			log_warn("wake-fail", "errno=%d", errno);
		return;
	}
	char why[200];
	log_err("commit-fail", "id=%s error=%s reason=%s", id[0] ? id : "-",
	    store_err_name(rc), log_quote(why, sizeof(why), store_strerror(rc)));
	if (rc == STORE_NOSPACE)
		reply(s, "452 4.3.1 Insufficient system storage");
	else
		reply(s, "451 4.3.0 Local error in processing, try again later");
}

/* What one attempt to store the accepted message needs. */
struct commit_job {
	struct submit_msg *m;
	const struct submit_verdict *v;
	int body8;
};

/* Write m into sm and commit it (sm is consumed); id gets sm's id. */
static int
write_commit(struct smtp_session *s, struct commit_job *j, struct store_msg *sm,
    char id[STORE_ID_LEN])
{
	snprintf(id, STORE_ID_LEN, "%s", store_msg_id(sm));
	struct submit_env env = {
		.hostname = s->cfg->hostname, .queue_id = id, .client_ip = s->ip,
		.client_helo = s->helo, .show_client = s->cfg->received_show_client,
		.tls = s->ssl != NULL,
	};
	struct store_sink k = {.sm = sm, .rc = STORE_OK};
	int rc = STORE_OK;
	if (submit_write(j->m, &env, store_wr, &k) != 0)
		rc = k.rc != STORE_OK ? k.rc : STORE_ERR;
	for (size_t i = 0; rc == STORE_OK && i < s->n_rcpt; i++)
		rc = store_msg_add_rcpt(sm, s->rcpt[i]);
	if (rc != STORE_OK) {
		store_msg_abort(sm);
		return rc;
	}
	struct store_meta meta = {
		.account = s->acct->address, .mail_from = s->mail_from,
		.message_id = j->m->message_id, .cls_health = j->v->health,
		.cls_score = j->v->score, .cls_reasons = j->v->reasons,
		.cls_forced = j->v->forced, .body_8bit = j->body8,
	};
	return store_msg_commit(sm, &meta);
}

/*
 * Header checks, fix-ups, classification, encryption, durable commit.
 * sm was made (DK sealed) when DATA began, off this post-DATA path; it is
 * NULL when that failed, and is consumed here whatever happens.
 */
static void
accept_message(struct smtp_session *s, const struct smtp_data *d, struct store_msg *sm)
{
	char id[STORE_ID_LEN] = "";
	struct submit_msg *m = malloc(sizeof(*m));
	if (m == NULL || submit_parse(d->out, d->out_len, m) != 0) {
		store_msg_abort(sm);
		free(m);
		reply(s, "552 5.3.4 Too many header fields");
		return;
	}
	struct sender_ck k = {.a = s->acct, .n = 0};
	int rc = submit_header_senders(m, sender_cb, &k);
	if (rc != 0 || m->n_from == 0) {
		store_msg_abort(sm);
		free(m);
		reply(s, rc > 0 ? "550 5.7.1 Header From/Sender address not allowed for this account" :
		    "550 5.6.0 Message needs a valid From header");
		return;
	}
	struct submit_verdict v;
	if (submit_classify(s->cfg, d->out, d->out_len, &v) != 0) {
		memset(&v, 0, sizeof(v));
		v.health = 1;	/* fail-safe (R-CLS-3) */
		snprintf(v.reasons, sizeof(v.reasons), "classifier-error");
	}
	struct commit_job j = {.m = m, .v = &v, .body8 = s->body8 || d->eightbit};
	rc = sm != NULL ? write_commit(s, &j, sm, id) : STORE_KEY;
	/*
	 * STORE_KEY: sealed to a key retired since we loaded it (`keys rotate
	 * --reseal`), or the DATA-start seal failed.  Load the current key and
	 * seal a fresh message once; a second failure is the client's 4xx.
	 */
	if (rc == STORE_KEY) {
		if (sm != NULL)
			log_info("commit-retry", "id=%s reason=store-key-retired", id);
		if (sm == NULL || smtp_server_reload_pub(s->srv) == 0) {
			struct store_msg *again = NULL;
			rc = smtp_server_msg_new(s->srv, &again);
			if (rc == STORE_OK)
				rc = write_commit(s, &j, again, id);
		}
	}
	free(m);
	commit_reply(s, rc, id);
}

static void
data_refused(struct smtp_session *s, int err)
{
	switch (err) {
	case SMTP_D_SIZE:
		reply(s, "552 5.3.4 Message size exceeds fixed maximum message size");
		break;
	case SMTP_D_BARE_LF:
		reply(s, "550 5.6.0 Bare LF in message; lines must end in CRLF");
		break;
	case SMTP_D_BARE_CR:
		reply(s, "550 5.6.0 Bare CR in message; lines must end in CRLF");
		break;
	case SMTP_D_NUL:
		reply(s, "550 5.6.0 NUL octet in message");
		break;
	default:
		reply(s, "550 5.6.0 Message line longer than 1000 octets");
		break;
	}
}

static void
do_data(struct smtp_session *s)
{
	if (!s->in_mail || s->n_rcpt == 0) {
		reply(s, s->in_mail ? "554 5.5.1 No valid recipients" :
		    "503 5.5.1 Need MAIL and RCPT before DATA");
		return;
	}
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
	/*
	 * Seal the message's DK (crypto_box_seal, the costly part of
	 * store_msg_new) while the client sends, not after the final dot.  It
	 * touches no disk until written to, so dropping it on a refusal or a
	 * lost connection leaves nothing behind.
	 */
	struct store_msg *sm = NULL;
	if (flush_out(s) == 0 && smtp_server_msg_new(s->srv, &sm) != STORE_OK)
		sm = NULL;	/* accept_message retries and reports */
	struct smtp_data d;
	size_t charged = 0;
	int over_budget = 0;
	smtp_data_init(&d, (size_t)s->cfg->max_message_size);
	set_timeout(s, s->cfg->timeout_data_block);
	while (!d.done) {
		if (s->in_len > 0) {
			long used = smtp_data_feed(&d, s->in, s->in_len);
			if (used < 0) {
				reply(s, "451 4.3.0 Out of memory");
				s->closing = 1;
				break;
			}
			/* Plaintext leaves our input buffer as soon as it is copied. */
			consume(s, (size_t)used);
			if (d.out_cap > charged) {
				size_t add = d.out_cap - charged;
				charged = d.out_cap;
				/* Over the budget: read on to the end, keep nothing more. */
				if (atomic_fetch_add(&s->srv->buffered, add) + add > s->srv->data_budget &&
				    d.err == SMTP_D_OK) {
					over_budget = 1;
					d.max = d.total;
				}
			}
			continue;
		}
		int fr = fill(s);
		if (fr <= 0) {
			read_failed(s, fr);
			break;
		}
	}
	set_timeout(s, s->cfg->timeout_command);
	if (d.done) {
		if (over_budget && d.err == SMTP_D_SIZE)
			reply(s, "452 4.3.1 Insufficient system resources, try again later");
		else if (d.err != SMTP_D_OK)
			data_refused(s, d.err);
		else {
			accept_message(s, &d, sm);
			sm = NULL;
		}
		txn_reset(s);
	}
	store_msg_abort(sm);
	smtp_data_free(&d);	/* wipes the message text */
	atomic_fetch_sub(&s->srv->buffered, charged);
}

/* Which commands a session may give in its present state. */
static int
gate(struct smtp_session *s, enum smtp_verb v)
{
	switch (v) {
	case SMTP_V_EHLO: case SMTP_V_HELO: case SMTP_V_NOOP:
	case SMTP_V_RSET: case SMTP_V_QUIT: case SMTP_V_STARTTLS:
		return 1;
	default:
		break;
	}
	if (s->ssl == NULL) {
		reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return 0;
	}
	if (v == SMTP_V_AUTH) {
		if (!s->greeted) {
			reply(s, "503 5.5.1 Send EHLO first");
			return 0;
		}
		return 1;
	}
	if (!s->authed) {
		reply(s, "530 5.7.0 Authentication required");
		return 0;
	}
	if (v == SMTP_V_MAIL && !s->greeted) {
		reply(s, "503 5.5.1 Send EHLO first");
		return 0;
	}
	return 1;
}

static void
parse_error(struct smtp_session *s, int rc)
{
	s->bad++;
	switch (rc) {
	case SMTP_P_UNKNOWN: reply(s, "500 5.5.1 Command unrecognized"); break;
	case SMTP_P_PARAM: reply(s, "555 5.5.4 Unsupported parameter"); break;
	case SMTP_P_PATH: reply(s, "501 5.1.7 Bad address syntax"); break;
	case SMTP_P_NUL: reply(s, "500 5.5.2 Invalid character in command"); break;
	default: reply(s, "501 5.5.4 Syntax error in parameters"); break;
	}
}

static void
dispatch(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_cmd *c = malloc(sizeof(*c));
	if (c == NULL) {
		reply(s, "421 4.3.0 Out of memory");
		s->closing = 1;
		return;
	}
	int rc = smtp_parse_cmd(line, len, c);
	if (rc != SMTP_P_OK) {
		/* Known verbs answer the state gate first: no hints before TLS. */
		if (c->verb == SMTP_V_UNKNOWN || gate(s, c->verb))
			parse_error(s, rc);
		sodium_memzero(c, sizeof(*c));
		free(c);
		return;
	}
	if (!gate(s, c->verb)) {
		sodium_memzero(c, sizeof(*c));
		free(c);
		return;
	}
	switch (c->verb) {
	case SMTP_V_EHLO: do_ehlo(s, c, 1); break;
	case SMTP_V_HELO: do_ehlo(s, c, 0); break;
	case SMTP_V_STARTTLS: do_starttls(s); break;
	case SMTP_V_AUTH: do_auth(s, c); break;
	case SMTP_V_MAIL: do_mail(s, c); break;
	case SMTP_V_RCPT: do_rcpt(s, c); break;
	case SMTP_V_DATA: do_data(s); break;
	case SMTP_V_RSET: txn_reset(s); reply(s, "250 2.0.0 Ok"); break;
	case SMTP_V_NOOP: reply(s, "250 2.0.0 Ok"); break;
	case SMTP_V_VRFY: reply(s, "252 2.5.0 Cannot VRFY, send some mail"); break;
	case SMTP_V_HELP: reply(s, "214 2.0.0 See RFC 5321 and RFC 6409"); break;
	case SMTP_V_QUIT:
		reply(s, "221 2.0.0 Bye");
		s->closing = 1;
		break;
	default: reply(s, "500 5.5.1 Command unrecognized"); break;
	}
	sodium_memzero(c, sizeof(*c));
	free(c);
}

static void
command_loop(struct smtp_session *s)
{
	int discarding = 0;

	while (!s->closing) {
		if (s->srv->stopping) {
			read_failed(s, 0);
			return;
		}
		size_t ll = 0, used = 0;
		int r = smtp_line_take(s->in, s->in_len, SMTP_CMD_MAX, &ll, &used);
		if (r == 0) {
			int fr = fill(s);
			if (fr <= 0) {
				read_failed(s, fr);
				return;
			}
			continue;
		}
		if (r < 0) {
			int had_lf = used > 0 && s->in[used - 1] == '\n';
			consume(s, used);
			if (!had_lf) {
				discarding = 1;	/* the rest of an overlong line follows */
				continue;
			}
			reply(s, discarding || used > SMTP_CMD_MAX ? "500 5.5.2 Line too long" :
			    "500 5.5.2 Syntax error: command lines end in CRLF");
			discarding = 0;
			if (++s->bad >= MAX_BAD_CMDS)
				break;
			continue;
		}
		if (discarding) {
			consume(s, used);
			discarding = 0;
			reply(s, "500 5.5.2 Line too long");
			continue;
		}
		char line[SMTP_CMD_MAX];
		memcpy(line, s->in, ll);
		consume(s, used);
		dispatch(s, line, ll);
		sodium_memzero(line, ll);	/* AUTH PLAIN may carry a password */
		if (s->bad >= MAX_BAD_CMDS)
			break;
	}
	if (s->bad >= MAX_BAD_CMDS) {
		reply(s, "421 4.7.0 Too many errors, closing connection");
		s->closing = 1;
	}
	(void)flush_out(s);
}

void
smtp_session_run(struct smtp_server *srv, int fd, int implicit_tls,
    const struct sockaddr_storage *peer)
{
	struct smtp_session *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return;
	s->srv = srv;
	s->cfg = srv->cfg;
	s->fd = fd;
	s->implicit = implicit_tls;
	s->peer = *peer;
	if (peer->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)peer)->sin_addr,
		    s->ip, sizeof(s->ip));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr,
		    s->ip, sizeof(s->ip));
	set_timeout(s, srv->cfg->timeout_command);
	if (!implicit_tls || tls_accept(s) == 0) {
		reply(s, "220 %s ESMTP ntamsa", srv->cfg->hostname);
		command_loop(s);
	}
	if (s->ssl != NULL) {
		(void)SSL_shutdown(s->ssl);
		ERR_clear_error();
		SSL_free(s->ssl);
	}
	free(s->rcpt);
	session_reset(s);	/* frees and wipes the account */
	sodium_memzero(s, sizeof(*s));
	free(s);
}
