/*
 * deliver.h - the deliver worker: scheduler and outbound SMTP.
 *
 * `ntamsa serve` forks this worker.  It holds the store secret key ring and
 * the DKIM keys, picks due recipients, runs the NTA policy per recipient and
 * delivers.  wake_fd becomes readable when smtpd committed a new message
 * (read and discard the bytes); the worker also rescans on its own timer.
 * Returns when SIGTERM was received (exit status for the worker).
 */
#ifndef NTAMSA_OUTBOUND_DELIVER_H
#define NTAMSA_OUTBOUND_DELIVER_H

#include "common/config.h"

/* The passphrase of a sealed secret key from the environment (keys_passphrase_get). */
int out_deliver_main(const struct config *c, int wake_fd);

/*
 * The same with the passphrase handed over in memory, never through the
 * environment: passphrase is a keys_passphrase_read() string (guarded
 * memory) or NULL when the secret is not sealed, and the worker takes it
 * over (keeps it for the ring reload after a key rotation, STORE_KEY, and
 * frees it with keys_passphrase_free).  From `serve`:
 *     char *p = serve_pass; serve_pass = NULL;
 *     return out_deliver_run(m->cfg, m->wake[1], p);
 */
int out_deliver_run(const struct config *c, int wake_fd, char *passphrase);

#endif
