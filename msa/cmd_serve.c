/*
 * cmd_serve.c - `ntamsa serve`: a small master that binds the listeners
 * (as root when it must), then forks the workers, each dropping to its own
 * user: smtpd (msa/smtpd.c) to server.user, deliver (outbound/deliver.h) to
 * server.deliver_user (or server.user when unset), joined
 * by a socketpair on which smtpd writes a byte after every commit.  The
 * master restarts a worker that dies, forwards SIGTERM/SIGINT (clean stop)
 * and SIGHUP (smtpd reloads its TLS certificate).
 */
#include "common/log.h"
#include "keys/keys.h"
#include "msa/cmd.h"
#include "msa/smtpd.h"
#include "outbound/deliver.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { W_SMTPD, W_DELIVER, W_N };
#define QUICK_DEATHS_MAX 5
static const char *const wname[W_N] = {"smtpd", "deliver"};

/*
 * Whom a worker becomes.  deliver's only supplementary group is smtpd's
 * primary group: the group of a group-shared data directory
 * (common/fsmode.h), through which both write the database while only
 * deliver's user reads keys/store-*.sec and the DKIM keys.
 */
struct identity {
	int drop;		/* 0: not root, or no server.user: stay as we are */
	uid_t uid;
	gid_t gid;
	size_t ngroups;		/* 0 or 1 */
	gid_t group;
};

struct master {
	const struct config *cfg;
	int fd_sub, fd_subs;
	int wake[2];
	int sfd;
	sigset_t mask;
	struct identity as[W_N];
	int shared_user;	/* deliver runs as smtpd's user */
	pid_t pid[W_N];
	time_t started[W_N];
	time_t restart_at[W_N];
	int quick_deaths[W_N];		/* in a row, each within 5 s of its start */
	int stopping;
	int failed;
};

/*
 * The store-key passphrase (NTAMSA_KEY_PASSPHRASE or _FD), read once by the
 * master and then gone from the environment: smtpd faces the network and
 * needs no secret at all, and an environment is inherited by everything a
 * process starts and readable in /proc/PID/environ.  The master keeps it in
 * guarded memory so that a restarted deliver worker gets it again.
 */
static char *serve_pass;

static int
serve_passphrase_take(void)
{
	char err[256], q[300];

	if (keys_passphrase_read(&serve_pass, err, sizeof(err)) != KEYS_OK) {
		log_err("serve", "error=%s", log_quote(q, sizeof(q), err));
		return -1;
	}
	/* Wipe the string in place: unsetenv alone leaves it in /proc/PID/environ. */
	char *v = getenv("NTAMSA_KEY_PASSPHRASE");
	if (v != NULL)
		sodium_memzero(v, strlen(v));
	if (unsetenv("NTAMSA_KEY_PASSPHRASE") != 0 || unsetenv("NTAMSA_KEY_PASSPHRASE_FD") != 0)
		return -1;
	return 0;
}

/* In a worker that must hold no secret (smtpd): wipe the inherited copy. */
static void
serve_passphrase_forget(void)
{
	keys_passphrase_free(serve_pass);	/* sodium_free: zeroed, unmapped */
	serve_pass = NULL;
}

/*
 * In the deliver child: hand deliver the passphrase in memory (the fork
 * inherited serve_pass); out_deliver_run takes it over and frees it.
 */
static char *
serve_passphrase_to_deliver(void)
{
	char *p = serve_pass;

	serve_pass = NULL;
	return p;
}

/* After the drop: exactly these ids and groups, and no way back to root. */
static int
identity_check(const struct identity *id)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[2];
	int n;

	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
	    (n = getgroups(2, groups)) < 0) {	/* EINVAL: more than we set */
		log_err("drop-privileges", "error=ids-unreadable errno=%d", errno);
		return -1;
	}
	if (ru != id->uid || eu != id->uid || su != id->uid || rg != id->gid ||
	    eg != id->gid || sg != id->gid || (size_t)n != id->ngroups ||
	    (n == 1 && groups[0] != id->group)) {
		log_err("drop-privileges", "error=ids-not-changed uid=%u gid=%u groups=%d",
		    (unsigned)eu, (unsigned)eg, n);
		return -1;
	}
	if (setuid(0) == 0) {		/* must be irrevocable */
		log_err("drop-privileges", "error=regained-root");
		return -1;
	}
	return 0;
}

static int
drop_privileges(void *arg)
{
	const struct identity *id = arg;

	if (!id->drop)
		return 0;
	if (setgroups(id->ngroups, id->ngroups ? &id->group : NULL) != 0 ||
	    setresgid(id->gid, id->gid, id->gid) != 0 ||
	    setresuid(id->uid, id->uid, id->uid) != 0) {
		log_err("drop-privileges", "error=%s", strerror(errno));
		return -1;
	}
	if (identity_check(id) != 0)
		return -1;
	/* setuid() resets the dumpable flag; key material must not dump. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return -1;
	return 0;
}

static int
worker_body(struct master *m, int w)
{
	close(m->sfd);
	if (w == W_SMTPD) {
		serve_passphrase_forget();
		/* Signals stay blocked: smtpd reads them from its own signalfd. */
		close(m->wake[1]);
		/* smtpd drops after loading its TLS key (which may be root-only). */
		return smtpd_main(m->cfg, m->fd_sub, m->fd_subs, m->wake[0],
		    drop_privileges, &m->as[W_SMTPD]);
	}
	if (sigprocmask(SIG_UNBLOCK, &m->mask, NULL) != 0 ||
	    drop_privileges(&m->as[W_DELIVER]) != 0)
		return 1;
	/* deliver needs no listener: it must not be able to accept clients. */
	if (m->fd_sub >= 0)
		close(m->fd_sub);
	if (m->fd_subs >= 0)
		close(m->fd_subs);
	close(m->wake[0]);
	log_set_proc("deliver");
	return out_deliver_run(m->cfg, m->wake[1], serve_passphrase_to_deliver());
}

static int
spawn(struct master *m, int w)
{
	pid_t pid = fork();
	if (pid < 0) {
		log_err("fork", "worker=%s error=%s", wname[w], strerror(errno));
		m->restart_at[w] = time(NULL) + 1;
		return -1;
	}
	if (pid == 0) {
		int rc = worker_body(m, w);
		fflush(NULL);
		_exit(rc);
	}
	m->pid[w] = pid;
	m->started[w] = time(NULL);
	m->restart_at[w] = 0;
	log_info("worker-start", "worker=%s pid=%d", wname[w], (int)pid);
	return 0;
}

static void signal_workers(struct master *m, int sig);

static void
reap(struct master *m)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int w = 0; w < W_N; w++) {
			if (m->pid[w] != pid)
				continue;
			m->pid[w] = 0;
			log_info("worker-exit", "worker=%s pid=%d status=%d signal=%d",
			    wname[w], (int)pid, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
			    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
			if (m->stopping)
				continue;
			/* A worker that dies at once is restarted after a pause... */
			time_t now = time(NULL);
			int quick = now - m->started[w] < 5;
			m->quick_deaths[w] = quick ? m->quick_deaths[w] + 1 : 0;
			m->restart_at[w] = quick ? now + 2 : now;
			/* ...and one that never gets going (bad certificate, no keys) ends serve. */
			if (m->quick_deaths[w] >= QUICK_DEATHS_MAX) {
				log_err("worker-failing", "worker=%s restarts=%d action=stop",
				    wname[w], m->quick_deaths[w]);
				m->stopping = 1;
				m->failed = 1;
				signal_workers(m, SIGTERM);
			}
		}
	}
}

static void
signal_workers(struct master *m, int sig)
{
	for (int w = 0; w < W_N; w++)
		if (m->pid[w] > 0)
			(void)kill(m->pid[w], sig);
}

static int
master_loop(struct master *m)
{
	for (;;) {
		time_t now = time(NULL);
		int alive = 0, timeout = -1;
		for (int w = 0; w < W_N; w++) {
			if (m->pid[w] > 0)
				alive = 1;
			else if (!m->stopping && m->restart_at[w] != 0) {
				if (m->restart_at[w] <= now)
					(void)spawn(m, w);
				else
					timeout = 1000;
			}
		}
		if (m->stopping && !alive)
			return 0;
		struct pollfd p = {.fd = m->sfd, .events = POLLIN};
		if (poll(&p, 1, timeout) <= 0)
			continue;
		struct signalfd_siginfo si;
		if (read(m->sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
			continue;
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(m);
			break;
		case SIGHUP:
			if (m->pid[W_SMTPD] > 0)
				(void)kill(m->pid[W_SMTPD], SIGHUP);
			break;
		default:	/* SIGTERM, SIGINT */
			if (!m->stopping)
				log_info("master-stop", "signal=%d", (int)si.ssi_signo);
			m->stopping = 1;
			signal_workers(m, SIGTERM);
			break;
		}
	}
}

/* uid and primary gid of a configured user name; -1 logged when unknown. */
static int
lookup_user(const char *key, const char *name, uid_t *uid, gid_t *gid)
{
	char q[300];
	struct passwd *pw;

	if ((pw = getpwnam(name)) == NULL) {
		log_err("serve", "error=no-such-user key=%s user=%s", key,
		    log_quote(q, sizeof(q), name));
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/*
 * As root: smtpd becomes server.user with its primary group only; deliver
 * becomes server.deliver_user with its own primary group plus server.user's
 * (the shared group), or server.user as well when that key is unset.
 */
static int
master_identities(struct master *m, const struct config *c)
{
	struct identity *s = &m->as[W_SMTPD], *d = &m->as[W_DELIVER];
	int has_user = c->user != NULL && c->user[0] != '\0';
	int has_deliver = c->deliver_user != NULL && c->deliver_user[0] != '\0';

	if (has_deliver && !has_user) {
		log_err("serve", "error=deliver-user-without-server-user"
		    " detail=set-server.user-for-smtpd-too");
		return -1;
	}
	if (!has_user)
		return 0;
	if (lookup_user("server.user", c->user, &s->uid, &s->gid) != 0)
		return -1;
	s->drop = 1;
	*d = *s;
	if (has_deliver) {
		if (lookup_user("server.deliver_user", c->deliver_user, &d->uid, &d->gid) != 0)
			return -1;
		if (d->gid != s->gid) {
			d->ngroups = 1;
			d->group = s->gid;
		}
	}
	m->shared_user = d->uid == s->uid;
	return 0;
}

static int
master_init(struct master *m, const struct config *c)
{
	char err[512], q[600];

	memset(m, 0, sizeof(*m));
	m->cfg = c;
	m->fd_sub = m->fd_subs = m->sfd = -1;
	m->wake[0] = m->wake[1] = -1;
	if (geteuid() == 0 && master_identities(m, c) != 0)
		return -1;
	if (smtpd_tls_check(c, err, sizeof(err)) != 0) {
		log_err("tls-config", "error=%s", log_quote(q, sizeof(q), err));
		return -1;
	}
	if (c->submission != NULL && c->submission[0] != '\0' &&
	    (m->fd_sub = smtpd_listen(c->submission, err, sizeof(err))) < 0) {
		log_err("listen", "error=%s", log_quote(q, sizeof(q), err));
		return -1;
	}
	if (c->submissions != NULL && c->submissions[0] != '\0' &&
	    (m->fd_subs = smtpd_listen(c->submissions, err, sizeof(err))) < 0) {
		log_err("listen", "error=%s", log_quote(q, sizeof(q), err));
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, m->wake) != 0)
		return -1;
	sigemptyset(&m->mask);
	sigaddset(&m->mask, SIGTERM);
	sigaddset(&m->mask, SIGINT);
	sigaddset(&m->mask, SIGHUP);
	sigaddset(&m->mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &m->mask, NULL) != 0)
		return -1;
	m->sfd = signalfd(-1, &m->mask, SFD_CLOEXEC);
	return m->sfd < 0 ? -1 : 0;
}

static void
master_close(struct master *m)
{
	int fds[] = {m->fd_sub, m->fd_subs, m->wake[0], m->wake[1], m->sfd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int
cmd_serve(const struct config *c, int argc, char **argv)
{
	struct master m;

	if (cmd_wants_help(argc, argv)) {
		printf("usage: ntamsa serve\n\n"
		    "Run the daemon in the foreground: submission on server.submission\n"
		    "(STARTTLS) and server.submissions (implicit TLS), and delivery.\n"
		    "SIGTERM/SIGINT stop it cleanly; SIGHUP reloads the TLS certificate.\n");
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: ntamsa serve\n");
		return 2;
	}
	log_set_proc("master");
	/*
	 * CRAM-MD5 is opt-in (R-AUTH-1): its per-account secret is
	 * password-equivalent.  Say so at start, so the choice is visible.
	 */
	if (c->auth_cram_md5)
		log_info("serve", "auth_cram_md5=yes secret=password-equivalent"
		    " accounts=only-those-set-with-cram");
	if (serve_passphrase_take() != 0) {
		fprintf(stderr, "ntamsa: serve: the store key passphrase is set but unusable (see log)\n");
		return 1;
	}
	if (master_init(&m, c) != 0) {
		fprintf(stderr, "ntamsa: serve: cannot start (see log)\n");
		master_close(&m);
		serve_passphrase_forget();
		return 1;
	}
	if (m.as[W_SMTPD].drop == 0 && geteuid() == 0)
		log_warn("serve", "note=running-as-root reason=server.user-not-set");
	else if (m.shared_user)
		log_warn("serve", "note=deliver-shares-server-user risk=smtpd-can-read-"
		    "store-secret-and-dkim-keys-from-disk fix=server.deliver_user");
	int rc = 0;
	if (spawn(&m, W_SMTPD) != 0 || spawn(&m, W_DELIVER) != 0) {
		m.stopping = 1;
		signal_workers(&m, SIGTERM);
		rc = 1;
	}
	if (master_loop(&m) != 0 || m.failed)
		rc = 1;
	master_close(&m);
	serve_passphrase_forget();
	log_info("master-exit", "rc=%d", rc);
	return rc;
}
