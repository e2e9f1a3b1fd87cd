/*
 * tls_client.h - internal to outbound/: the client TLS contexts and the
 * handshake with DANE / PKIX / OU verification used by smtpc.c.
 *
 * Kept apart from the SMTP dialogue so that every verification rule
 * (RFC 7672, spec R-FLOW-4 and §7) sits in one short file.
 */
#ifndef NTAMSA_OUTBOUND_TLS_CLIENT_H
#define NTAMSA_OUTBOUND_TLS_CLIENT_H

#include <openssl/ssl.h>

#include "outbound/smtpc.h"

/*
 * Run the client handshake on the connected socket fd as p demands.
 * Returns SMTPC_OK with *out set, or SMTPC_CHANNEL / SMTPC_INTERNAL with
 * why filled.  facts gets TLS version, cipher, peer digest, DANE and PKIX
 * results, also when the handshake failed.
 */
int tlsc_handshake(struct smtpc_tls *t, const struct smtpc_params *p, int fd,
    SSL **out, struct smtpc_facts *facts, char *why, size_t whylen);

#endif
