/*
 * bench_smtpd_loadgen - SMTP submission load generator (OpenSSL).
 *
 *   -a HOST:PORT  -t starttls|tls  -u USER -w PASS  -f FROM  -r RCPT
 *   -n N sessions in parallel (threads), -k K connections each, -m M
 *   messages per connection, -s S message size in octets.
 *   -I N: open N TLS sessions (EHLO done, no AUTH), print "idle-ready N",
 *   hold them until stdin closes (for resident-memory measurements).
 *
 * Prints one line: messages, seconds, messages/s, latency p50/p99 in ms
 * (from MAIL sent to the 250 after the data), and errors.  MAIL, RCPT
 * and DATA are pipelined (RFC 2920) as a real client would.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct opts {
	char host[256], port[16];
	int implicit;
	const char *user, *pass, *from, *rcpt;
	int n, k, m, size, idle;
};

struct conn {
	int fd;
	SSL *ssl;
	char buf[8192];
	size_t len;
};

struct worker {
	const struct opts *o;
	SSL_CTX *ctx;
	const char *body;
	size_t body_len;
	double *lat;
	size_t n_lat;
	int errors;
};

static double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
c_write(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		if (c->ssl != NULL) {
			size_t w = 0;
			if (SSL_write_ex(c->ssl, p, n, &w) != 1)
				return -1;
			p += w;
			n -= w;
		} else {
			ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
			if (w <= 0)
				return -1;
			p += w;
			n -= (size_t)w;
		}
	}
	return 0;
}

/* Read one reply (all its lines); returns the code or -1. */
static int
c_reply(struct conn *c)
{
	for (;;) {
		char *lf;
		while ((lf = memchr(c->buf, '\n', c->len)) != NULL) {
			size_t ll = (size_t)(lf - c->buf) + 1;
			int last = ll >= 4 && c->buf[3] != '-';
			int code = atoi(c->buf);
			memmove(c->buf, c->buf + ll, c->len - ll);
			c->len -= ll;
			if (last)
				return code;
		}
		if (c->len == sizeof(c->buf))
			return -1;
		size_t got = 0;
		if (c->ssl != NULL) {
			if (SSL_read_ex(c->ssl, c->buf + c->len, sizeof(c->buf) - c->len, &got) != 1)
				return -1;
		} else {
			ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
			if (r <= 0)
				return -1;
			got = (size_t)r;
		}
		c->len += got;
	}
}

static int
c_cmd(struct conn *c, const char *line, int want)
{
	char b[600];
	int n = snprintf(b, sizeof(b), "%s\r\n", line);
	if (n < 0 || (size_t)n >= sizeof(b) || c_write(c, b, (size_t)n) != 0)
		return -1;
	return c_reply(c) == want ? 0 : -1;
}

static void
c_close(struct conn *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
}

static int
b64(const char *in, size_t n, char *out, size_t outlen)
{
	if (outlen < 4 * ((n + 2) / 3) + 1)
		return -1;
	return EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)n) < 0 ? -1 : 0;
}

/* Connect, TLS, EHLO, and AUTH PLAIN when auth is set. */
static int
c_open(struct conn *c, const struct opts *o, SSL_CTX *ctx, int auth)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (getaddrinfo(o->host, o->port, &hints, &ai) != 0)
		return -1;
	c->fd = socket(ai->ai_family, SOCK_STREAM, 0);
	int rc = c->fd >= 0 ? connect(c->fd, ai->ai_addr, ai->ai_addrlen) : -1;
	freeaddrinfo(ai);
	if (rc != 0)
		return -1;
	int one = 1;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!o->implicit && (c_reply(c) != 220 || c_cmd(c, "EHLO loadgen.test", 250) != 0 ||
	    c_cmd(c, "STARTTLS", 220) != 0))
		return -1;
	c->ssl = SSL_new(ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1)
		return -1;
	if (o->implicit && c_reply(c) != 220)
		return -1;
	if (c_cmd(c, "EHLO loadgen.test", 250) != 0)
		return -1;
	if (!auth)
		return 0;
	char raw[600], enc[900], line[1000];
	size_t ul = strlen(o->user), pl = strlen(o->pass);
	if (ul + pl + 2 > sizeof(raw))
		return -1;
	raw[0] = '\0';
	memcpy(raw + 1, o->user, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, o->pass, pl);
	if (b64(raw, ul + pl + 2, enc, sizeof(enc)) != 0)
		return -1;
	snprintf(line, sizeof(line), "AUTH PLAIN %s", enc);
	return c_cmd(c, line, 235);
}

static int
send_one(struct worker *w, struct conn *c)
{
	char env[800];
	int n = snprintf(env, sizeof(env), "MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n",
	    w->o->from, w->o->rcpt);
	if (n < 0 || (size_t)n >= sizeof(env))
		return -1;
	double t0 = now_ms();
	if (c_write(c, env, (size_t)n) != 0 || c_reply(c) != 250 || c_reply(c) != 250 ||
	    c_reply(c) != 354 || c_write(c, w->body, w->body_len) != 0 || c_reply(c) != 250)
		return -1;
	w->lat[w->n_lat++] = now_ms() - t0;
	return 0;
}

static void *
run_worker(void *p)
{
	struct worker *w = p;
	for (int k = 0; k < w->o->k; k++) {
		struct conn c;
		if (c_open(&c, w->o, w->ctx, 1) != 0) {
			w->errors++;
			c_close(&c);
			continue;
		}
		for (int m = 0; m < w->o->m; m++)
			if (send_one(w, &c) != 0) {
				w->errors++;
				break;
			}
		(void)c_cmd(&c, "QUIT", 221);
		c_close(&c);
	}
	return NULL;
}

/* A message of about size octets: headers, then 76-octet lines. */
static char *
make_body(const struct opts *o, size_t *len)
{
	size_t cap = (size_t)o->size + 1024;
	char *b = malloc(cap);
	if (b == NULL)
		return NULL;
	int n = snprintf(b, cap, "From: <%s>\r\nTo: <%s>\r\nSubject: load\r\n\r\n", o->from, o->rcpt);
	size_t l = n > 0 ? (size_t)n : 0;
	while (l + 78 + 5 < cap && l < (size_t)o->size) {
		memset(b + l, 'x', 76);
		memcpy(b + l + 76, "\r\n", 2);
		l += 78;
	}
	memcpy(b + l, ".\r\n", 3);
	*len = l + 3;
	return b;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int
idle_mode(const struct opts *o, SSL_CTX *ctx)
{
	struct conn *cs = calloc((size_t)o->idle, sizeof(*cs));
	int open = 0;
	if (cs == NULL)
		return 1;
	for (int i = 0; i < o->idle; i++)
		if (c_open(&cs[i], o, ctx, 0) == 0)
			open++;
	printf("idle-ready %d\n", open);
	fflush(stdout);
	char b[64];
	while (read(0, b, sizeof(b)) > 0)
		;
	for (int i = 0; i < o->idle; i++)
		c_close(&cs[i]);
	free(cs);
	return 0;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	int ch;
	memset(o, 0, sizeof(*o));
	o->n = 1, o->k = 1, o->m = 1, o->size = 2048;
	o->from = o->user = "load@example.org";
	o->pass = "load";
	o->rcpt = "sink@example.net";
	while ((ch = getopt(argc, argv, "a:t:u:w:f:r:n:k:m:s:I:")) != -1) {
		switch (ch) {
		case 'a': {
			const char *colon = strrchr(optarg, ':');
			if (colon == NULL || (size_t)(colon - optarg) >= sizeof(o->host))
				return -1;
			memcpy(o->host, optarg, (size_t)(colon - optarg));
			snprintf(o->port, sizeof(o->port), "%s", colon + 1);
			break;
		}
		case 't': o->implicit = !strcmp(optarg, "tls"); break;
		case 'u': o->user = optarg; break;
		case 'w': o->pass = optarg; break;
		case 'f': o->from = optarg; break;
		case 'r': o->rcpt = optarg; break;
		case 'n': o->n = atoi(optarg); break;
		case 'k': o->k = atoi(optarg); break;
		case 'm': o->m = atoi(optarg); break;
		case 's': o->size = atoi(optarg); break;
		case 'I': o->idle = atoi(optarg); break;
		default: return -1;
		}
	}
	return o->host[0] && o->n > 0 && o->k > 0 && o->m > 0 && o->size > 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct opts o;
	if (parse_opts(argc, argv, &o) != 0) {
		fprintf(stderr, "usage: bench_smtpd_loadgen -a HOST:PORT [-t starttls|tls] [-u USER]"
		    " [-w PASS] [-f FROM] [-r RCPT] [-n SESSIONS] [-k CONNS] [-m MSGS] [-s SIZE]"
		    " [-I IDLE]\n");
		return 2;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return 1;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);	/* a benchmark, not a client */
	if (o.idle > 0)
		return idle_mode(&o, ctx);
	size_t blen;
	char *body = make_body(&o, &blen);
	struct worker *w = calloc((size_t)o.n, sizeof(*w));
	pthread_t *t = calloc((size_t)o.n, sizeof(*t));
	if (body == NULL || w == NULL || t == NULL)
		return 1;
	double t0 = now_ms();
	for (int i = 0; i < o.n; i++) {
		w[i] = (struct worker){.o = &o, .ctx = ctx, .body = body, .body_len = blen};
		w[i].lat = calloc((size_t)o.k * (size_t)o.m, sizeof(double));
		if (w[i].lat == NULL || pthread_create(&t[i], NULL, run_worker, &w[i]) != 0)
			return 1;
	}
	size_t total = 0;
	int errors = 0;
	for (int i = 0; i < o.n; i++) {
		pthread_join(t[i], NULL);
		total += w[i].n_lat;
		errors += w[i].errors;
	}
	double secs = (now_ms() - t0) / 1e3;
	double *all = calloc(total ? total : 1, sizeof(double));
	if (all == NULL)
		return 1;
	size_t k = 0;
	for (int i = 0; i < o.n; i++) {
		memcpy(all + k, w[i].lat, w[i].n_lat * sizeof(double));
		k += w[i].n_lat;
		free(w[i].lat);
	}
	qsort(all, total, sizeof(double), cmp_d);
	double p50 = total ? all[total / 2] : 0, p99 = total ? all[(total * 99) / 100 < total ? (total * 99) / 100 : total - 1] : 0;
	printf("msgs=%zu secs=%.2f msgs_per_s=%.1f p50_ms=%.1f p99_ms=%.1f errors=%d\n",
	    total, secs, secs > 0 ? (double)total / secs : 0, p50, p99, errors);
	free(all);
	free(w);
	free(t);
	free(body);
	SSL_CTX_free(ctx);
	return errors ? 1 : 0;
}
