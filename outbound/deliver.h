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
 * The same with the passphrase handed over in memory (NULL = the secret is
 * not sealed); the worker keeps its own guarded copy, the caller may wipe
 * its one as soon as this is called.  The copy is needed again when a key
 * rotation makes the ring reload (STORE_KEY).
 */
int out_deliver_run(const struct config *c, int wake_fd, const char *passphrase);

#endif
