/*
 * smtpc.c - the SMTP dialogue of the outbound client (RFC 5321, STARTTLS
 * RFC 3207, PIPELINING RFC 2920, 8BITMIME RFC 6152, SIZE RFC 1870).
 * The TLS rules live in tls_client.c.
 */
#include "outbound/smtpc.h"
#include "outbound/tls_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define LINE_MAX_LEN 2048	/* RFC 5321 says 512; be lenient, stay bounded */
#define WBUF_LEN (16 * 1024)
#define MAIL_LINE_MAX 512	/* MAIL FROM:<path> with parameters */

struct smtpc {
	int fd;
	SSL *ssl;
	int usable;
	int nta;		/* NTA channel: 8bit is never downgraded */
	size_t roff, rlen;
	char rbuf[8192];
	size_t wlen;
	char wbuf[WBUF_LEN];
	struct smtpc_facts facts;
};

const char *
smtpc_strerror(int err)
{
	switch (err) {
	case SMTPC_OK: return "ok";
	case SMTPC_TEMP: return "temporary failure";
	case SMTPC_PERM: return "permanent failure";
	case SMTPC_CHANNEL: return "channel requirements not met";
	case SMTPC_INTERNAL: return "internal error";
	default: return "unknown error";
	}
}

const char *
smtpc_auth_name(enum smtpc_auth a)
{
	switch (a) {
	case SMTPC_AUTH_DANE: return "dane";
	case SMTPC_AUTH_PKIX: return "pkix";
	case SMTPC_AUTH_PKIX_OU: return "pkix+ou";
	default: return "none";
	}
}

/* ---- sockets ---- */

static int
sock_timeouts(int fd, int secs)
{
	struct timeval tv = {.tv_sec = secs > 0 ? secs : 300};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		return -1;
	return 0;
}

static int
sock_bind(int fd, int family, const char *bind_addr)
{
	struct addrinfo hints = {.ai_family = family, .ai_flags = AI_NUMERICHOST};
	struct addrinfo *ai = NULL;
	int rc;

	if (bind_addr == NULL || bind_addr[0] == '\0')
		return 0;
	/* An IPv4 source address says nothing about IPv6 peers (and back). */
	if (getaddrinfo(bind_addr, NULL, &hints, &ai) != 0)
		return 0;
	rc = bind(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return rc;
}

/* Non-blocking connect bounded by timeout seconds, then blocking I/O. */
static int
sock_connect(const struct smtpc_params *p, char *why, size_t whylen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char port[8];
	int fd, fl, soerr = 0;
	socklen_t sl = sizeof(soerr);
	struct pollfd pf;

	snprintf(port, sizeof(port), "%d", p->port);
	if (getaddrinfo(p->addr, port, &hints, &ai) != 0) {
		snprintf(why, whylen, "bad address");
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || sock_bind(fd, ai->ai_family, p->bind) != 0 ||
	    (fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		goto fail;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)
		goto fail;
	pf = (struct pollfd){.fd = fd, .events = POLLOUT};
	if (poll(&pf, 1, (p->connect_timeout > 0 ? p->connect_timeout : 30) * 1000) != 1) {
		errno = ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
		errno = soerr;
		goto fail;
	}
	if (fcntl(fd, F_SETFL, fl) < 0 || sock_timeouts(fd, p->cmd_timeout) != 0)
		goto fail;
	freeaddrinfo(ai);
	return fd;
fail:
	snprintf(why, whylen, "connect: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return -1;
}

/* ---- buffered I/O over the socket or TLS ---- */

static ssize_t
io_read(struct smtpc *c, void *buf, size_t len)
{
	if (c->ssl != NULL) {
		int n = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);

		ERR_clear_error();
		return n > 0 ? n : -1;
	}
	ssize_t n = recv(c->fd, buf, len, 0);
	return n > 0 ? n : -1;
}

static int
io_flush(struct smtpc *c)
{
	size_t off = 0;

	while (off < c->wlen) {
		ssize_t n;

		if (c->ssl != NULL) {
			int k = SSL_write(c->ssl, c->wbuf + off, (int)(c->wlen - off));
			ERR_clear_error();
			n = k > 0 ? k : -1;
		} else {
			n = send(c->fd, c->wbuf + off, c->wlen - off, MSG_NOSIGNAL);
		}
		if (n <= 0) {
			c->usable = 0;
			OPENSSL_cleanse(c->wbuf, c->wlen);
			c->wlen = 0;
			return -1;
		}
		off += (size_t)n;
	}
	/* What was sent (message text, in the clear before TLS) is not kept. */
	OPENSSL_cleanse(c->wbuf, c->wlen);
	c->wlen = 0;
	return 0;
}

static int
io_write(struct smtpc *c, const void *data, size_t len)
{
	const char *d = data;

	while (len > 0) {
		size_t room = sizeof(c->wbuf) - c->wlen;
		size_t k = len < room ? len : room;

		memcpy(c->wbuf + c->wlen, d, k);
		c->wlen += k;
		d += k;
		len -= k;
		if (c->wlen == sizeof(c->wbuf) && io_flush(c) != 0)
			return -1;
	}
	return 0;
}

static int
io_cmd(struct smtpc *c, const char *a, const char *b, const char *e)
{
	if (io_write(c, a, strlen(a)) != 0 ||
	    (b != NULL && io_write(c, b, strlen(b)) != 0) ||
	    (e != NULL && io_write(c, e, strlen(e)) != 0) ||
	    io_write(c, "\r\n", 2) != 0)
		return -1;
	return 0;
}

/* One line without CRLF into line; -1 on EOF/time-out/overlong line. */
static int
io_line(struct smtpc *c, char *line, size_t linelen)
{
	size_t n = 0;

	for (;;) {
		if (c->roff == c->rlen) {
			ssize_t k = io_read(c, c->rbuf, sizeof(c->rbuf));
			if (k <= 0) {
				c->usable = 0;
				return -1;
			}
			c->roff = 0;
			c->rlen = (size_t)k;
		}
		char ch = c->rbuf[c->roff++];
		if (ch == '\n')
			break;
		if (n + 1 >= linelen) {
			c->usable = 0;
			return -1;
		}
		line[n++] = ch;
	}
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return 0;
}

/* ---- replies ---- */

static void
ehlo_ext(struct smtpc_facts *f, const char *kw)
{
	if (strcasecmp(kw, "STARTTLS") == 0)
		f->starttls_offered = 1;
	else if (strcasecmp(kw, "PIPELINING") == 0)
		f->ext_pipelining = 1;
	else if (strcasecmp(kw, "8BITMIME") == 0)
		f->ext_8bitmime = 1;
	else if (strncasecmp(kw, "SIZE", 4) == 0 && (kw[4] == '\0' || kw[4] == ' ')) {
		f->ext_size = 1;
		f->size_max = kw[4] ? strtoull(kw + 5, NULL, 10) : 0;
	}
}

static void
reply_append(char *reply, size_t replylen, const char *line)
{
	size_t have = strlen(reply);

	if (have > 0 && have + 3 < replylen)
		have += (size_t)snprintf(reply + have, replylen - have, " / ");
	if (have < replylen)
		snprintf(reply + have, replylen - have, "%s", line);
}

int
smtpc_reply_line(const char *line, int *code, struct smtpc_facts *ehlo)
{
	int first = *code == 0;

	if (strlen(line) < 3 || line[0] < '2' || line[0] > '5' ||
	    line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9' ||
	    (line[3] != ' ' && line[3] != '-' && line[3] != '\0'))
		return -1;
	int k = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (first)
		*code = k;
	else if (k != *code)
		return -1;
	if (ehlo != NULL && !first && line[3] != '\0')
		ehlo_ext(ehlo, line + 4);
	return line[3] == '-';
}

/*
 * Read one (multi-line) reply; returns its code (200..599) or -1.
 * ehlo != NULL collects the extension keywords.
 */
static int
read_reply(struct smtpc *c, char *reply, size_t replylen, struct smtpc_facts *ehlo)
{
	char line[LINE_MAX_LEN];
	int code = 0;

	if (replylen > 0)
		reply[0] = '\0';
	for (int n = 0; n < SMTPC_REPLY_LINES_MAX; n++) {
		if (io_line(c, line, sizeof(line)) != 0) {
			snprintf(reply, replylen, "connection lost or timed out");
			return -1;
		}
		int more = smtpc_reply_line(line, &code, ehlo);
		if (more < 0) {
			c->usable = 0;
			snprintf(reply, replylen, code == 0 ? "malformed reply" :
			    "malformed or inconsistent multi-line reply");
			return -1;
		}
		reply_append(reply, replylen, line);
		if (!more)
			return code;
	}
	c->usable = 0;
	snprintf(reply, replylen, "reply of more than %d lines", SMTPC_REPLY_LINES_MAX);
	return -1;
}

static int
code_class(int code)
{
	if (code >= 200 && code < 400)
		return SMTPC_OK;
	return code >= 500 ? SMTPC_PERM : SMTPC_TEMP;
}

/* ---- opening ---- */

static int
do_ehlo(struct smtpc *c, const char *helo, char *reply, size_t replylen)
{
	struct smtpc_facts *f = &c->facts;
	int code;

	/* The EHLO after STARTTLS no longer offers it: keep it as first seen. */
	f->ext_pipelining = f->ext_8bitmime = f->ext_size = 0;
	f->size_max = 0;
	if (io_cmd(c, "EHLO ", helo, NULL) != 0 || io_flush(c) != 0) {
		snprintf(reply, replylen, "write failed");
		return SMTPC_TEMP;
	}
	code = read_reply(c, reply, replylen, f);
	if (code < 0)
		return SMTPC_TEMP;
	return code == 250 ? SMTPC_OK : code_class(code) == SMTPC_PERM ? SMTPC_PERM : SMTPC_TEMP;
}

static int
do_starttls(struct smtpc_tls *t, const struct smtpc_params *p, struct smtpc *c,
    char *reply, size_t replylen)
{
	int code, rc;

	if (io_cmd(c, "STARTTLS", NULL, NULL) != 0 || io_flush(c) != 0)
		return SMTPC_TEMP;
	code = read_reply(c, reply, replylen, NULL);
	if (code != 220)
		return code < 0 ? SMTPC_TEMP : SMTPC_CHANNEL;
	/* Bytes the server sent behind 220 would be read as if encrypted
	 * (the STARTTLS injection class): refuse the connection. */
	if (c->roff != c->rlen) {
		snprintf(reply, replylen, "data after STARTTLS reply (injection attempt)");
		return SMTPC_CHANNEL;
	}
	rc = tlsc_handshake(t, p, c->fd, &c->ssl, &c->facts, reply, replylen);
	if (rc != SMTPC_OK)
		return rc;
	return do_ehlo(c, p->helo, reply, replylen);
}

static int
tls_required(const struct smtpc_params *p)
{
	return p->nta || p->require_tls || p->auth != SMTPC_AUTH_NONE;
}

static int
open_dialogue(struct smtpc_tls *t, const struct smtpc_params *p, struct smtpc *c,
    char *reply, size_t replylen)
{
	int code = read_reply(c, reply, replylen, NULL);
	int rc;

	if (code != 220)
		return code >= 500 ? SMTPC_PERM : SMTPC_TEMP;
	if ((rc = do_ehlo(c, p->helo, reply, replylen)) != SMTPC_OK)
		return rc;
	if (!c->facts.starttls_offered || (p->no_starttls && !tls_required(p))) {
		if (!tls_required(p)) {
			snprintf(c->facts.result, sizeof(c->facts.result), "none");
			c->facts.verified = 1;
			return SMTPC_OK;
		}
		/* Never plaintext where TLS is required (spec R-FLOW-4). */
		snprintf(reply, replylen, "STARTTLS not offered");
		snprintf(c->facts.result, sizeof(c->facts.result), "failed:no-starttls");
		return SMTPC_CHANNEL;
	}
	return do_starttls(t, p, c, reply, replylen);
}

int
smtpc_open(struct smtpc_tls *t, const struct smtpc_params *p,
    struct smtpc **out, struct smtpc_facts *facts, char *reply, size_t replylen)
{
	struct smtpc *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (replylen > 0)
		reply[0] = '\0';
	if (c == NULL) {
		snprintf(reply, replylen, "out of memory");
		return SMTPC_INTERNAL;
	}
	c->facts.dane_authority = -1;
	c->facts.dane_usage = -1;
	c->facts.ou_ok = -1;
	c->facts.host_ok = -1;
	c->fd = sock_connect(p, reply, replylen);
	if (c->fd < 0) {
		rc = SMTPC_TEMP;
	} else {
		c->usable = 1;
		c->nta = p->nta;
		rc = open_dialogue(t, p, c, reply, replylen);
	}
	if (facts != NULL)
		*facts = c->facts;
	if (rc != SMTPC_OK) {
		smtpc_close(c);
		return rc;
	}
	*out = c;
	return SMTPC_OK;
}

/* ---- a transaction ---- */

static int
send_envelope(struct smtpc *c, struct smtpc_txn *tx)
{
	char line[MAIL_LINE_MAX];
	int n;

	n = snprintf(line, sizeof(line), "MAIL FROM:<%s>", tx->mail_from);
	if (n > 0 && (size_t)n < sizeof(line) && c->facts.ext_size && tx->size > 0)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " SIZE=%llu",
		    (unsigned long long)tx->size);
	if (n > 0 && (size_t)n < sizeof(line) && tx->body_8bit && c->facts.ext_8bitmime)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " BODY=8BITMIME");
	if (n <= 0 || (size_t)n >= sizeof(line))
		return -1;
	return io_cmd(c, line, NULL, NULL);
}

static int
send_rcpt(struct smtpc *c, const char *addr)
{
	return io_cmd(c, "RCPT TO:<", addr, ">");
}

/* One piece of the body, dot-stuffed; *bol: the piece starts a line. */
static int
write_stuffed(struct smtpc *c, const char *buf, size_t n, int *bol)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		if (*bol && buf[i] == '.') {
			if (io_write(c, buf + start, i - start) != 0 || io_write(c, ".", 1) != 0)
				return -1;
			start = i;
		}
		*bol = buf[i] == '\n';
	}
	return io_write(c, buf + start, n - start);
}

/* Dot-stuff (RFC 5321 §4.5.2) the stream and end it with CRLF.CRLF. */
static int
send_body(struct smtpc *c, struct smtpc_txn *tx)
{
	char buf[16384];
	int bol = 1, rc = 0;
	char last = '\n';
	ssize_t n;

	while (rc == 0 && (n = tx->read(tx->read_arg, buf, sizeof(buf))) != 0) {
		if (n < 0)
			rc = -2;
		else if (write_stuffed(c, buf, (size_t)n, &bol) != 0)
			rc = -1;
		else
			last = buf[n - 1];
	}
	OPENSSL_cleanse(buf, sizeof(buf));	/* message text */
	if (rc != 0)
		return rc;
	if (last != '\n' && io_write(c, "\r\n", 2) != 0)
		return -1;
	if (io_write(c, ".\r\n", 3) != 0 || io_flush(c) != 0)
		return -1;
	return 0;
}

static void
set_all(struct smtpc_txn *tx, int only_ok, int result, const char *reply)
{
	for (size_t i = 0; i < tx->n_rcpt; i++) {
		if (only_ok && tx->rcpt[i].result != SMTPC_OK)
			continue;
		tx->rcpt[i].result = result;
		snprintf(tx->rcpt[i].reply, sizeof(tx->rcpt[i].reply), "%s", reply);
	}
}

static int
check_limits(struct smtpc *c, struct smtpc_txn *tx, char *reply, size_t replylen)
{
	/* R-HDR-3: an 8bit message is never converted to 7bit; on an NTA
	 * channel a peer without 8BITMIME is a failed channel. */
	if (c->nta && tx->body_8bit && !c->facts.ext_8bitmime) {
		snprintf(reply, replylen, "peer lacks 8BITMIME for an 8bit message");
		set_all(tx, 0, SMTPC_CHANNEL, reply);
		return SMTPC_CHANNEL;
	}
	if (c->facts.ext_size && c->facts.size_max > 0 && tx->size > c->facts.size_max) {
		snprintf(reply, replylen, "552 5.3.4 message larger than the peer's SIZE %llu",
		    (unsigned long long)c->facts.size_max);
		set_all(tx, 0, SMTPC_PERM, reply);
		return SMTPC_PERM;
	}
	return SMTPC_OK;
}

/* Read the MAIL and RCPT replies; returns how many recipients were taken. */
static int
read_envelope(struct smtpc *c, struct smtpc_txn *tx, int pipelined,
    char *reply, size_t replylen, int *mail_rc)
{
	int code = read_reply(c, reply, replylen, NULL);
	size_t ok = 0;

	*mail_rc = code < 0 ? SMTPC_TEMP : code == 250 ? SMTPC_OK : code_class(code);
	if (code < 0)
		return -1;
	for (size_t i = 0; i < tx->n_rcpt; i++) {
		struct smtpc_rcpt *r = &tx->rcpt[i];

		if (*mail_rc != SMTPC_OK && !pipelined) {
			r->result = *mail_rc;
			snprintf(r->reply, sizeof(r->reply), "%s", reply);
			continue;
		}
		if (!pipelined && (send_rcpt(c, r->addr) != 0 || io_flush(c) != 0))
			return -1;
		int rc = read_reply(c, r->reply, sizeof(r->reply), NULL);
		if (rc < 0)
			return -1;
		r->result = *mail_rc != SMTPC_OK ? *mail_rc : (rc == 250 || rc == 251) ? SMTPC_OK : code_class(rc);
		if (r->result == SMTPC_OK)
			ok++;
	}
	return (int)ok;
}

static int
txn_result(struct smtpc_txn *tx)
{
	int any_temp = 0;

	for (size_t i = 0; i < tx->n_rcpt; i++) {
		if (tx->rcpt[i].result == SMTPC_OK)
			return SMTPC_OK;
		if (tx->rcpt[i].result != SMTPC_PERM)
			any_temp = 1;
	}
	return any_temp ? SMTPC_TEMP : SMTPC_PERM;
}

static int
io_fail(struct smtpc *c, struct smtpc_txn *tx, char *reply, size_t replylen)
{
	c->usable = 0;
	if (reply[0] == '\0')
		snprintf(reply, replylen, "connection lost or timed out");
	set_all(tx, 1, SMTPC_TEMP, reply);
	return SMTPC_TEMP;
}

static int
send_data(struct smtpc *c, struct smtpc_txn *tx, int dcode, char *reply, size_t replylen)
{
	int rc, code;

	if (dcode != 354) {
		set_all(tx, 1, dcode < 0 ? SMTPC_TEMP : code_class(dcode), reply);
		return txn_result(tx);
	}
	rc = send_body(c, tx);
	if (rc == -2) {
		/* Our source failed mid-message: the peer must not take a
		 * truncated message, so drop the connection. */
		c->usable = 0;
		snprintf(reply, replylen, "message source failed");
		set_all(tx, 1, SMTPC_TEMP, reply);
		return SMTPC_TEMP;
	}
	if (rc != 0 || (code = read_reply(c, reply, replylen, NULL)) < 0)
		return io_fail(c, tx, reply, replylen);
	set_all(tx, 1, code == 250 ? SMTPC_OK : code_class(code), reply);
	return txn_result(tx);
}

int
smtpc_send(struct smtpc *c, struct smtpc_txn *tx, char *reply, size_t replylen)
{
	int pipelined = c->facts.ext_pipelining, mail_rc, ok, dcode, rc;

	reply[0] = '\0';
	for (size_t i = 0; i < tx->n_rcpt; i++) {
		tx->rcpt[i].result = SMTPC_TEMP;
		tx->rcpt[i].reply[0] = '\0';
	}
	if (!c->usable)
		return io_fail(c, tx, reply, replylen);
	if ((rc = check_limits(c, tx, reply, replylen)) != SMTPC_OK)
		return rc;
	if (send_envelope(c, tx) != 0)
		return io_fail(c, tx, reply, replylen);
	for (size_t i = 0; pipelined && i < tx->n_rcpt; i++)
		if (send_rcpt(c, tx->rcpt[i].addr) != 0)
			return io_fail(c, tx, reply, replylen);
	/* RFC 2920: DATA may end the pipelined group. */
	if ((pipelined && io_cmd(c, "DATA", NULL, NULL) != 0) || io_flush(c) != 0)
		return io_fail(c, tx, reply, replylen);
	ok = read_envelope(c, tx, pipelined, reply, replylen, &mail_rc);
	if (ok < 0)
		return io_fail(c, tx, reply, replylen);
	if (!pipelined && ok > 0 && (io_cmd(c, "DATA", NULL, NULL) != 0 || io_flush(c) != 0))
		return io_fail(c, tx, reply, replylen);
	if (!pipelined && ok == 0)
		return txn_result(tx);
	dcode = read_reply(c, reply, replylen, NULL);
	if (dcode < 0)
		return io_fail(c, tx, reply, replylen);
	if (ok == 0 && dcode == 354) {
		/* Pipelined DATA accepted with no recipient: end it empty. */
		if (io_write(c, ".\r\n", 3) != 0 || io_flush(c) != 0 ||
		    read_reply(c, reply, replylen, NULL) < 0)
			c->usable = 0;
		return txn_result(tx);
	}
	if (ok == 0)
		return txn_result(tx);
	return send_data(c, tx, dcode, reply, replylen);
}

int
smtpc_rset(struct smtpc *c)
{
	char reply[SMTPC_REPLY_MAX];

	if (!c->usable || io_cmd(c, "RSET", NULL, NULL) != 0 || io_flush(c) != 0 ||
	    read_reply(c, reply, sizeof(reply), NULL) != 250) {
		c->usable = 0;
		return SMTPC_TEMP;
	}
	return SMTPC_OK;
}

int
smtpc_usable(const struct smtpc *c)
{
	return c != NULL && c->usable;
}

const struct smtpc_facts *
smtpc_get_facts(const struct smtpc *c)
{
	return &c->facts;
}

void
smtpc_close(struct smtpc *c)
{
	char reply[SMTPC_REPLY_MAX];

	if (c == NULL)
		return;
	if (c->usable && io_cmd(c, "QUIT", NULL, NULL) == 0 && io_flush(c) == 0)
		(void)read_reply(c, reply, sizeof(reply), NULL);
	if (c->ssl != NULL) {
		if (c->usable)
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		ERR_clear_error();
	}
	if (c->fd >= 0)
		close(c->fd);
	OPENSSL_cleanse(c, sizeof(*c));		/* its buffers held message text */
	free(c);
}
