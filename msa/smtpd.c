/* smtpd.c - the submission worker: listeners, session threads, signals. */
#include "msa/smtpd.h"

#include "common/log.h"
#include "keys/keys.h"
#include "msa/accounts.h"
#include "msa/smtpd_int.h"
#include "msa/smtpd_ocsp.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * One thread per session.  Buffers are on the heap; the stack is sized for
 * the classifier's parser (libetpan recurses), and only the pages a session
 * touches count as resident, so idle sessions stay small.
 */
#define SESSION_STACK (1024 * 1024)
#define SHUTDOWN_WAIT_SECS 30

struct ip_count {
	char ip[INET6_ADDRSTRLEN];
	int n;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	SSL_CTX *ctx;
	size_t n_sessions;
	size_t cap;
	int *fds;			/* live session sockets (slots) */
	struct ip_count *ips;		/* per-IP session counts */
} reg = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int stop_pipe[2] = {-1, -1};

struct sess_arg {
	struct smtp_server *srv;
	int fd;
	int implicit;
	size_t slot;
	struct sockaddr_storage peer;
	char ip[INET6_ADDRSTRLEN];
};

int
smtpd_listen(const char *hostport, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');

	if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host)) {
		snprintf(err, errlen, "%s: want host:port", hostport);
		return -1;
	}
	size_t hl = (size_t)(colon - hostport);
	memcpy(host, hostport, hl);
	host[hl] = '\0';
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", hostport, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
		snprintf(err, errlen, "%s: %s", hostport, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

SSL_CTX *
smtp_server_ctx(struct smtp_server *srv)
{
	(void)srv;
	pthread_mutex_lock(&reg.mu);
	SSL_CTX *ctx = reg.ctx;
	if (ctx != NULL && SSL_CTX_up_ref(ctx) != 1)
		ctx = NULL;
	pthread_mutex_unlock(&reg.mu);
	return ctx;
}

static struct ip_count *
ip_slot(const char *ip, int create)
{
	struct ip_count *spare = NULL;
	for (size_t i = 0; i < reg.cap; i++) {
		if (reg.ips[i].n > 0 && !strcmp(reg.ips[i].ip, ip))
			return &reg.ips[i];
		if (spare == NULL && reg.ips[i].n == 0)
			spare = &reg.ips[i];
	}
	if (create && spare != NULL)
		snprintf(spare->ip, sizeof(spare->ip), "%s", ip);
	return create ? spare : NULL;
}

/* Register a session; -1 when over max_sessions, -2 over the per-IP limit. */
static int
reg_add(const struct config *c, int fd, const char *ip, size_t *slot)
{
	int rc = 0;
	pthread_mutex_lock(&reg.mu);
	struct ip_count *ic = ip_slot(ip, 1);
	if (reg.n_sessions >= reg.cap || ic == NULL)
		rc = -1;
	else if (ic->n >= c->max_sessions_per_ip)
		rc = -2;
	if (rc == 0) {
		for (size_t i = 0; i < reg.cap; i++)
			if (reg.fds[i] < 0) {
				reg.fds[i] = fd;
				*slot = i;
				break;
			}
		ic->n++;
		reg.n_sessions++;
	}
	pthread_mutex_unlock(&reg.mu);
	return rc;
}

static void
reg_del(size_t slot, const char *ip)
{
	pthread_mutex_lock(&reg.mu);
	reg.fds[slot] = -1;
	struct ip_count *ic = ip_slot(ip, 0);
	if (ic != NULL)
		ic->n--;
	reg.n_sessions--;
	pthread_cond_broadcast(&reg.cv);
	pthread_mutex_unlock(&reg.mu);
}

static void *
session_thread(void *p)
{
	struct sess_arg *a = p;
	smtp_session_run(a->srv, a->fd, a->implicit, &a->peer);
	int fd = a->fd;
	/* Unregister before close: the registry never names a reused number. */
	reg_del(a->slot, a->ip);
	close(fd);
	free(a);
	return NULL;
}

static void
peer_ip(const struct sockaddr_storage *ss, char *ip, size_t iplen)
{
	const void *src = ss->ss_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)(const void *)ss)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;
	if (inet_ntop(ss->ss_family, src, ip, (socklen_t)iplen) == NULL)
		snprintf(ip, iplen, "unknown");
}

static void
accept_one(struct smtp_server *srv, int lfd, int implicit)
{
	struct sess_arg *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return;
	socklen_t sl = sizeof(a->peer);
	int fd = accept4(lfd, (struct sockaddr *)&a->peer, &sl, SOCK_CLOEXEC);
	if (fd < 0) {
		free(a);
		return;
	}
	/* Replies are batched by the session itself; Nagle would only delay them. */
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	a->srv = srv;
	a->fd = fd;
	a->implicit = implicit;
	peer_ip(&a->peer, a->ip, sizeof(a->ip));
	int rc = reg_add(srv->cfg, fd, a->ip, &a->slot);
	if (rc != 0) {
		log_info("session-refused", "ip=%s reason=%s", a->ip,
		    rc == -1 ? "max-sessions" : "max-sessions-per-ip");
		/* On 465 a plaintext line would be garbage to a TLS client. */
		static const char busy[] = "421 4.7.0 Too many connections, try again later\r\n";
		if (!implicit && send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("session-refused-send", "errno=%d", errno);
		close(fd);
		free(a);
		return;
	}
	pthread_attr_t at;
	pthread_t t;
	int ok = pthread_attr_init(&at) == 0;
	if (ok) {
		ok = pthread_attr_setstacksize(&at, SESSION_STACK) == 0 &&
		    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED) == 0 &&
		    pthread_create(&t, &at, session_thread, a) == 0;
		pthread_attr_destroy(&at);
	}
	if (!ok) {
		log_err("session-thread", "error=%s", strerror(errno));
		reg_del(a->slot, a->ip);
		close(fd);
		free(a);
	}
}

static void
reload_tls(struct smtp_server *srv)
{
	char err[512];
	SSL_CTX *n = smtp_tls_ctx_new(srv->cfg, err, sizeof(err));
	if (n == NULL) {
		char q[600];
		log_err("tls-reload-fail", "error=%s keeping=old", log_quote(q, sizeof(q), err));
		return;
	}
	/* Before sessions see n: the old certificate's staple must never go out with it. */
	if (smtp_ocsp_use_ctx(srv->ocsp, n) != 0)
		log_err("ocsp-setup", "error=setup-failed stapling=off");
	pthread_mutex_lock(&reg.mu);
	SSL_CTX *old = reg.ctx;
	reg.ctx = n;
	pthread_mutex_unlock(&reg.mu);
	SSL_CTX_free(old);		/* running sessions keep their reference */
	log_info("tls-reload", "ok=1");
}

int
smtp_server_msg_new(struct smtp_server *srv, struct store_msg **out)
{
	*out = NULL;
	if (pthread_rwlock_rdlock(&srv->pub_lock) != 0)
		return STORE_ERR;
	int rc = store_msg_new(srv->store, srv->pub, out);
	(void)pthread_rwlock_unlock(&srv->pub_lock);
	return rc;
}

/*
 * Seal data keys ahead of need (keys.h): the X25519 work of a message's
 * seal happens while sessions wait on the network or on fsync, not on
 * their path.  Without the thread every session seals inline, so a
 * failure here costs speed only.
 */
static void
seal_ahead(struct keys_pub *pub)
{
	char err[256];

	if (keys_pub_seal_ahead(pub, KEYS_AHEAD_DEPTH, err, sizeof(err)) != KEYS_OK)
		log_warn("seal-ahead", "error=\"%s\" sealing=inline", err);
}

int
smtp_server_reload_pub(struct smtp_server *srv)
{
	char err[512], q[600];
	struct keys_pub *n = NULL;

	if (keys_load_pub(srv->cfg->data_dir, &n, err, sizeof(err)) != 0) {
		log_err("pubkey-reload-fail", "error=%s keeping=old", log_quote(q, sizeof(q), err));
		return -1;
	}
	seal_ahead(n);
	if (pthread_rwlock_wrlock(&srv->pub_lock) != 0) {
		keys_pub_free(n);
		return -1;
	}
	struct keys_pub *old = srv->pub;
	srv->pub = n;
	(void)pthread_rwlock_unlock(&srv->pub_lock);
	log_info("pubkey-reload", "old_key=%u key=%u", old ? keys_pub_id(old) : 0u,
	    keys_pub_id(n));
	keys_pub_free(old);
	return 0;
}

/* Stop: no new sessions, 421 to waiting ones, let commits finish. */
static void
shutdown_sessions(struct smtp_server *srv)
{
	srv->stopping = 1;
	/* Never read: stays readable and wakes every waiting session. */
	char b = 1;
	if (write(stop_pipe[1], &b, 1) != 1)
		log_err("smtpd-stop", "error=%s", strerror(errno));
	pthread_mutex_lock(&reg.mu);
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += SHUTDOWN_WAIT_SECS;
	while (reg.n_sessions > 0)
		if (pthread_cond_timedwait(&reg.cv, &reg.mu, &dl) == ETIMEDOUT)
			break;
	size_t left = reg.n_sessions;
	pthread_mutex_unlock(&reg.mu);
	log_info("smtpd-stop", "sessions_left=%zu", left);
}

static int
serve_loop(struct smtp_server *srv, int fd_sub, int fd_subs, int sfd)
{
	struct pollfd p[3] = {
		{.fd = sfd, .events = POLLIN},
		{.fd = fd_sub, .events = POLLIN},
		{.fd = fd_subs, .events = POLLIN},
	};
	for (;;) {
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll", "error=%s", strerror(errno));
			return 1;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					reload_tls(srv);
					/* After `keys rotate`: seal to the new key from now on. */
					(void)smtp_server_reload_pub(srv);
				}
				else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
					return 0;
			}
		}
		if (p[1].revents & POLLIN)
			accept_one(srv, fd_sub, 0);
		if (p[2].revents & POLLIN)
			accept_one(srv, fd_subs, 1);
	}
}

static int
server_init(const struct config *c, struct smtp_server *srv, int wake_fd,
    int (*drop)(void *), void *drop_arg)
{
	char err[512], q[600];

	memset(srv, 0, sizeof(*srv));
	srv->cfg = c;
	srv->wake_fd = wake_fd;
	srv->data_budget = SMTP_DATA_BUDGET;
	if (pthread_rwlock_init(&srv->pub_lock, NULL) != 0)
		return -1;
#ifdef NTAMSA_TEST_BUILD
	/* Test builds only: a small budget lets a test reach the 452 path. */
	const char *tb = getenv("NTAMSA_TEST_DATA_BUDGET");
	if (tb != NULL && atol(tb) > 0)
		srv->data_budget = (size_t)atol(tb);
#endif
	if (sodium_init() < 0 || pipe2(stop_pipe, O_CLOEXEC) != 0)
		return -1;
	srv->stop_fd = stop_pipe[0];
	reg.cap = (size_t)c->max_sessions;
	reg.fds = malloc(reg.cap * sizeof(int));
	reg.ips = calloc(reg.cap, sizeof(struct ip_count));
	if (reg.fds == NULL || reg.ips == NULL)
		return -1;
	for (size_t i = 0; i < reg.cap; i++)
		reg.fds[i] = -1;
	if ((reg.ctx = smtp_tls_ctx_new(c, err, sizeof(err))) == NULL) {
		log_err("smtpd-init", "error=%s", log_quote(q, sizeof(q), err));
		return -1;
	}
	if (c->ocsp_stapling && ((srv->ocsp = smtp_ocsp_new()) == NULL ||
	    smtp_ocsp_use_ctx(srv->ocsp, reg.ctx) != 0))
		return -1;
	if (drop != NULL && drop(drop_arg) != 0)
		return -1;
	/* Fetches go to the network as server.user, never as root. */
	if (smtp_ocsp_start(srv->ocsp) != 0)
		log_err("ocsp-thread", "error=cannot-start stapling=off");
	if (store_open(c->data_dir, &srv->store, err, sizeof(err)) != 0 ||
	    keys_load_pub(c->data_dir, &srv->pub, err, sizeof(err)) != 0) {
		log_err("smtpd-init", "error=%s", log_quote(q, sizeof(q), err));
		return -1;
	}
	seal_ahead(srv->pub);
	srv->locks = smtp_locks_new(c->auth_fail_limit, c->auth_lockout);
	srv->authcache = smtp_authcache_new();
	srv->rate = smtp_rate_new(srv->store);
	/* Unknown users cost one Argon2id verification like known ones. */
	if (srv->locks == NULL || srv->authcache == NULL || srv->rate == NULL ||
	    acct_hash_password("no such user", 12, srv->dummy_hash) != 0)
		return -1;
	return 0;
}

static int
set_nonblock(int fd)
{
	int fl;
	if (fd < 0)
		return 0;
	fl = fcntl(fd, F_GETFL);
	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ? -1 : 0;
}

static void
server_free(struct smtp_server *srv)
{
	if (srv->store != NULL)
		store_close(srv->store);
	if (srv->pub != NULL)
		keys_pub_free(srv->pub);
	smtp_locks_free(srv->locks);
	smtp_authcache_free(srv->authcache);
	smtp_rate_free(srv->rate);
	smtp_ocsp_free(srv->ocsp);
	srv->ocsp = NULL;
	SSL_CTX_free(reg.ctx);
	reg.ctx = NULL;
	free(reg.fds);
	free(reg.ips);
	reg.fds = NULL;
	reg.ips = NULL;
}

int
smtpd_main(const struct config *c, int fd_sub, int fd_subs, int wake_fd,
    int (*drop)(void *arg), void *drop_arg)
{
	struct smtp_server srv;
	sigset_t set;

	memset(&srv, 0, sizeof(srv));
	log_set_proc("smtpd");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked here, so every session thread inherits the mask. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return 1;
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	/*
	 * Non-blocking listeners: a client gone between poll and accept must not
	 * stall the loop.  Accepted sockets do not inherit the flag (Linux).
	 */
	if (sfd < 0 || set_nonblock(wake_fd) != 0 || set_nonblock(fd_sub) != 0 ||
	    set_nonblock(fd_subs) != 0 || server_init(c, &srv, wake_fd, drop, drop_arg) != 0) {
		if (sfd >= 0)
			close(sfd);
		server_free(&srv);
		return 1;
	}
	log_info("smtpd-ready", "submission=%s submissions=%s",
	    fd_sub >= 0 ? c->submission : "off", fd_subs >= 0 ? c->submissions : "off");
	int rc = serve_loop(&srv, fd_sub, fd_subs, sfd);
	if (fd_sub >= 0)
		close(fd_sub);
	if (fd_subs >= 0)
		close(fd_subs);
	shutdown_sessions(&srv);
	smtp_ocsp_stop(srv.ocsp);	/* sessions left over may still read its cache */
	close(sfd);
	/* Sessions still running after the wait keep the store: leave it open. */
	if (reg.n_sessions == 0)
		server_free(&srv);
	return rc;
}
