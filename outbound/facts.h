/*
 * facts.h - gather the DNS facts of one recipient domain for the policy.
 *
 * Through ntadns (validating resolver): TXT at the domain (NTA record set,
 * evaluated at the attempt date, R-FLOW-8), MX (null MX, implicit MX),
 * and for every host on the path its A/AAAA and - only when those are
 * secure, RFC 7672 2.2 - its TLSA at _<port>._tcp.  Lookups are skipped
 * where the policy cannot use them (e.g. no TLSA for Bijlage B hosts), but
 * every state is recorded so the plan can explain itself.
 *
 * The R-NTA-9 certified-provider check is left to the policy (one place);
 * facts report the provider= value of the record in force.
 */
#ifndef NTAMSA_OUTBOUND_FACTS_H
#define NTAMSA_OUTBOUND_FACTS_H

#include <time.h>

#include "ntadns/ntadns.h"
#include "outbound/policy.h"
#include "outbound/smtpc.h"

/*
 * Fill df for domain at time now.  health: gather the ntamx hosts (NTA
 * path) as well as the MX hosts.  port: outbound.port (TLSA owner name).
 * Returns 0 (df filled; DNS failures are states inside df), -1 on a local
 * failure (treat as temporary).
 */
int out_facts_gather(struct dns_resolver *r, const char *domain, int health,
    uint16_t port, time_t now, struct out_dns_facts *df);

/*
 * Only the NTA TXT set of domain (no MX, no hosts): for the sending
 * domain's own compliance (out_policy_sender_compliant, R-HDR-1).
 */
int out_facts_gather_nta(struct dns_resolver *r, const char *domain, time_t now,
    struct out_dns_facts *df);

/*
 * TLS facts of one connection for out_policy_judge(): the smtpc facts of
 * smtpc_open() (rc its return value).  The one mapping used by the deliver
 * worker and `nta check --connect`.  A handshake that OpenSSL aborted at
 * the certificate check counts as TLS reached with the check failed, so the
 * judgement names the real reason (dane-mismatch, pkix-failed,
 * hostname-mismatch) instead of tls-failed.  pkix_ok only when the chain
 * verified (trusted root, signatures, dates), whatever the host name.
 */
void out_tls_facts_from_smtpc(const struct smtpc_facts *f, int rc,
    struct out_tls_facts *t);

/* Map an ntadns state to the policy's. */
enum out_dns out_facts_state(enum dns_state s);

#endif
