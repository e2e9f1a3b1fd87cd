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

int out_deliver_main(const struct config *c, int wake_fd);

#endif
