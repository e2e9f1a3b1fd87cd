/*
 * conncache.h - verified SMTP connections kept for reuse.
 *
 * A connection is reused only for the same destination and the same
 * channel requirements: the key names channel, verification, host, address
 * and port, so a connection verified for regular mail never carries NTA
 * mail and a DANE-verified one never serves a Bijlage B hop.  Idle
 * connections are closed after a short time (the peer's TLSA or
 * certificate may change; RFC 5321 §4.5.3.2 idle time-outs).  Safe to
 * share between threads; a connection taken out is its taker's alone.
 */
#ifndef NTAMSA_OUTBOUND_CONNCACHE_H
#define NTAMSA_OUTBOUND_CONNCACHE_H

#include <stddef.h>
#include <time.h>

#include "outbound/smtpc.h"

#define OUT_CC_MAX 32
#define OUT_CC_KEY_MAX 640

struct out_conncache;

struct out_conncache *out_cc_new(int idle_secs);
void out_cc_free(struct out_conncache *cc);	/* QUITs every connection */

/* Build the key of a destination + channel. */
void out_cc_key(char *key, size_t len, const char *channel, const char *verify,
    const char *host, const char *addr, int port);

/* Take a cached connection for key (removed from the cache), or NULL. */
struct smtpc *out_cc_get(struct out_conncache *cc, const char *key, time_t now);

/* Return a connection for reuse; closes it when unusable or the cache is full. */
void out_cc_put(struct out_conncache *cc, const char *key, struct smtpc *c, time_t now);

/* Close connections idle longer than the limit. */
void out_cc_expire(struct out_conncache *cc, time_t now);

size_t out_cc_count(struct out_conncache *cc);

#endif
