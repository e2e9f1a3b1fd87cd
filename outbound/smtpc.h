/*
 * smtpc.h - the outbound SMTP client with DANE / PKIX / OU verification.
 *
 * One struct smtpc is one SMTP connection to one address of one mail host,
 * opened with the verification its channel demands (spec R-FLOW-4, §7,
 * RFC 7672).  A struct smtpc_tls holds the SSL_CTXs (trust stores, cipher
 * profiles) shared by every connection of the process.
 *
 * Return values: SMTPC_OK (0) or a negative enum smtpc_err.  Temporary and
 * permanent failures are kept apart because mail lives by that distinction:
 * SMTPC_TEMP = retry (4xx, connect/time-out, I/O); SMTPC_PERM = 5xx;
 * SMTPC_CHANNEL = this host cannot carry the channel (STARTTLS missing,
 * verification failed, TLS too old, 8bit to a 7bit-only host on an NTA
 * channel): for the scheduler a temporary failure of this host, never a
 * reason to send with less protection.
 *
 * Nothing of the message passes through this module's logs or error
 * strings: replies of the peer are kept (they are the proof of delivery),
 * message bytes are only written to the socket.
 */
#ifndef NTAMSA_OUTBOUND_SMTPC_H
#define NTAMSA_OUTBOUND_SMTPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum smtpc_err {
	SMTPC_OK = 0,
	SMTPC_TEMP = -1,
	SMTPC_PERM = -2,
	SMTPC_CHANNEL = -3,
	SMTPC_INTERNAL = -4,	/* our own setup failed (memory, CA file) */
};

const char *smtpc_strerror(int err);

/* How the peer must be authenticated. */
enum smtpc_auth {
	SMTPC_AUTH_NONE = 0,	/* opportunistic: STARTTLS when offered, no checks */
	SMTPC_AUTH_DANE,	/* usages 2/3 of the given TLSA set (RFC 7672) */
	SMTPC_AUTH_PKIX,	/* Bijlage C: chain to outbound.ca_file + host name */
	SMTPC_AUTH_PKIX_OU,	/* Bijlage B: chain to the Bijlage B CA + OU marker; no
				 * host name requirement (spec §2, R-FLOW-4) */
};

const char *smtpc_auth_name(enum smtpc_auth a);

struct smtpc_tlsa {
	uint8_t usage, selector, mtype;
	const uint8_t *data;
	size_t len;
};

#define SMTPC_REPLY_MAX 512
#define SMTPC_HOST_MAX 256

/* What the connection found out; recorded with every attempt. */
struct smtpc_facts {
	int starttls_offered;
	int tls;			/* the session is encrypted */
	char tls_version[16];		/* "TLSv1.3" */
	int tls_version_num;		/* TLS1_3_VERSION ... (0 = no TLS) */
	char cipher[64];
	char peer_sha256[65];		/* leaf certificate SHA-256, hex */
	int tlsa_added;			/* usable TLSA records OpenSSL accepted */
	int dane_authority;		/* SSL_get0_dane_authority, -1 = none */
	int dane_usage;			/* usage of the matched record, -1 = none */
	int verified;			/* required authentication passed */
	long verify_code;		/* X509_V_* of the chain check */
	char verify_text[96];
	int auth;			/* enum smtpc_auth this connection demanded */
	int cert_checked;		/* the peer's certificate reached verification */
	int verify_failed;		/* the handshake stopped at the certificate check
					 * (OpenSSL aborts it): TLS was reached, the
					 * peer failed authentication */
	int chain_ok;			/* chain verified: trusted root, signatures,
					 * validity dates (host name aside) */
	int host_ok;			/* -1 not checked (DANE, Bijlage B, regular),
					 * 0 mismatch, 1 matched (Bijlage C) */
	int ou_ok;			/* -1 not checked, 0 no marker, 1 marker found */
	int ext_8bitmime, ext_pipelining, ext_size;
	uint64_t size_max;		/* SIZE value, 0 = no limit announced */
	char result[32];		/* "dane-ee" "dane-ta" "pkix" "pkix+ou" "none" "failed:..." */
};

/*
 * One line of a peer's reply (CRLF removed), the parser read_reply uses,
 * exposed for tests and fuzzing.  *code: 0 before the first line, then the
 * reply's code.  Returns 1 when more lines follow, 0 on the last line, -1
 * when the line is malformed or its code differs from the first line's.
 * ehlo != NULL (EHLO replies) collects extension keywords from the lines
 * after the first.
 */
int smtpc_reply_line(const char *line, int *code, struct smtpc_facts *ehlo);

/* A reply of more lines than this is refused (a peer may not talk forever). */
#define SMTPC_REPLY_LINES_MAX 100

/* Process-wide TLS contexts. */
struct smtpc_tls;

struct smtpc_tls_conf {
	const char *ca_file;		/* Bijlage C trust; NULL/"" = system store */
	const char *bijlage_b_ca_file;	/* Bijlage B trust; NULL/"" = ca_file */
	const char *const *ou_markers;	/* exact OU values of certified providers */
	size_t n_ou_markers;
};

int smtpc_tls_new(const struct smtpc_tls_conf *tc, struct smtpc_tls **out,
    char *err, size_t errlen);
void smtpc_tls_free(struct smtpc_tls *t);

struct smtpc_params {
	const char *host;		/* MX / ntamx host name: SNI, reference id */
	const char *tlsa_base;		/* TLSA base domain (DANE-TA), NULL = host */
	const char *addr;		/* numeric IPv4 or IPv6 address */
	int port;
	const char *helo;		/* our name in EHLO */
	const char *bind;		/* source address, NULL/"" = any */
	int connect_timeout;		/* seconds */
	int cmd_timeout;		/* seconds per reply */
	int nta;			/* NTA channel: TLS mandatory, §7 "goed" only */
	int require_tls;		/* STARTTLS mandatory (implied by nta / auth) */
	int no_starttls;		/* regular mail only: plaintext retry after a
					 * failed opportunistic handshake (RFC 7435) */
	enum smtpc_auth auth;
	const struct smtpc_tlsa *tlsa;	/* for SMTPC_AUTH_DANE */
	size_t n_tlsa;
};

struct smtpc;

/*
 * Connect, read the greeting, EHLO, STARTTLS and verify as p demands, EHLO
 * again.  facts is filled as far as the connection got, also on failure;
 * reply gets the peer's last reply or our reason.  On success *out is a
 * connection ready for a transaction.
 */
int smtpc_open(struct smtpc_tls *t, const struct smtpc_params *p,
    struct smtpc **out, struct smtpc_facts *facts, char *reply, size_t replylen);

/* Source of the message bytes (already rewritten and signed). */
typedef ssize_t (*smtpc_read_fn)(void *arg, void *buf, size_t len);

struct smtpc_rcpt {
	const char *addr;
	int result;			/* out: SMTPC_OK / SMTPC_TEMP / SMTPC_PERM */
	char reply[SMTPC_REPLY_MAX];	/* out: the peer's RCPT or final reply */
};

struct smtpc_txn {
	const char *mail_from;		/* "" = null sender */
	int body_8bit;
	uint64_t size;			/* 0 = unknown */
	struct smtpc_rcpt *rcpt;
	size_t n_rcpt;
	smtpc_read_fn read;
	void *read_arg;
};

/*
 * One transaction: MAIL, RCPT..., DATA (pipelined when offered), the
 * message dot-stuffed, the final reply.  Returns SMTPC_OK when at least one
 * recipient was accepted and the data was accepted; each rcpt carries its
 * own result.  On a failure the connection must not be reused
 * (smtpc_usable() says so).  reply gets the transaction-level reply.
 */
int smtpc_send(struct smtpc *c, struct smtpc_txn *tx, char *reply, size_t replylen);

/* RSET before the next transaction on a cached connection. */
int smtpc_rset(struct smtpc *c);
int smtpc_usable(const struct smtpc *c);
const struct smtpc_facts *smtpc_get_facts(const struct smtpc *c);
/* QUIT (best effort) and free. */
void smtpc_close(struct smtpc *c);

/* Hex SHA-256 of a DER blob into out[65] (tests compute TLSA data too). */
int smtpc_sha256_hex(const uint8_t *der, size_t len, char out[65]);

#endif
