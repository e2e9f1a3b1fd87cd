/*
 * smtpd.h - the submission server worker (RFC 5321 / 6409 / 8314).
 *
 * The master (cmd_serve) binds the listening sockets, possibly as root, and
 * forks the worker, which runs smtpd_main: one thread per session (small
 * stacks, TLS buffers released while idle), commits through the store's
 * group commit, and writes one byte to wake_fd after each commit.
 * SIGTERM/SIGINT: stop accepting, answer 421 4.3.2 to idle sessions, let
 * running commits finish.  SIGHUP: reload the TLS certificate and key for
 * new sessions; running sessions keep theirs.
 */
#ifndef NTAMSA_MSA_SMTPD_H
#define NTAMSA_MSA_SMTPD_H

#include <stddef.h>

#include "common/config.h"

/* Bind host:port (TCP, listen backlog set); -1 with err on failure. */
int smtpd_listen(const char *hostport, char *err, size_t errlen);

/*
 * Load the certificate and key as smtpd will and check them (our key:
 * ECDSA P-256/P-384 or RSA >= 3072); 0, or -1 with why in err.  The master
 * calls it before starting workers, so a bad certificate stops `serve` at
 * once with its reason instead of after a round of worker restarts.
 */
int smtpd_tls_check(const struct config *c, char *err, size_t errlen);

/*
 * fd_sub (STARTTLS) or fd_subs (implicit TLS) may be -1 when not configured.
 * drop (may be NULL) is called after the TLS key was loaded and before
 * anything else is opened: the key may be readable by root only, and the
 * database is created by the unprivileged user.  A SIGHUP reload reads the
 * files again as that user; when it cannot, the old certificate stays.
 */
int smtpd_main(const struct config *c, int fd_sub, int fd_subs, int wake_fd,
    int (*drop)(void *arg), void *drop_arg);

#endif
