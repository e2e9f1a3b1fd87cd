/*
 * deliver_int.h - internal to outbound/: the deliver worker's context and
 * the pieces split over deliver.c (loop, recipients' fate), deliver_msg.c
 * (the message source: decrypt, rewrite, sign, stream; DSNs).
 */
#ifndef NTAMSA_OUTBOUND_DELIVER_INT_H
#define NTAMSA_OUTBOUND_DELIVER_INT_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "common/config.h"
#include "keys/keys.h"
#include "outbound/conncache.h"
#include "outbound/policy.h"
#include "outbound/smtpc.h"
#include "store/store.h"

struct out_dkim;
struct dns_resolver;
struct pool;

/*
 * R-HDR-1 sender compliance, looked up once per sending domain per round
 * (a round is short, so the answer stays fresh in the R-FLOW-8 sense).
 */
#define SENDER_CACHE_MAX 16
struct sender_cache {
	unsigned long round;
	size_t n;
	struct {
		char dom[256];
		int ok;
	} e[SENDER_CACHE_MAX];
};

struct dctx {
	const struct config *c;
	struct store *s;
	struct keys_ring *ring;
	struct keys_pub *pub;
	int own_ring, own_pub;		/* this worker reloaded them (free its own) */
	const char *pass;		/* guarded; owned by out_deliver_run */
	struct out_dkim *dkim;
	struct dns_resolver *res;	/* per worker thread: not thread-safe */
	struct smtpc_tls *tls;
	struct out_policy_cfg pc;
	struct out_conncache *cc;
	const char *helo;
	struct pool *pool;		/* the worker pool (deliver.c) */
	unsigned long round;		/* the scan this worker's group belongs to */
	struct sender_cache sc;		/* per worker thread */
};

/*
 * After STORE_KEY (a key rotation since these were loaded): load the key
 * ring / public key again into this worker's d.  0 OK, -1 failed (logged).
 */
int dctx_reload_ring(struct dctx *d);
int dctx_reload_pub(struct dctx *d);
/* Free what a worker reloaded (not the originals, shared by all workers). */
void dctx_free_reloaded(struct dctx *d);

/* The message as it leaves: DKIM-Signature + rewritten header + body. */
struct msgsrc;

enum msg_err {
	MSG_OK = 0,
	MSG_TEMP = -1,		/* store/decrypt/local failure: retry */
	MSG_NOKEY = -2,		/* no DKIM key for the From: domain */
	MSG_BAD = -3,		/* malformed header: cannot be sent as is */
};

/*
 * Pass 1: decrypt, find and rewrite the header for the channel, DKIM-sign
 * (reads the whole message once; nothing is written anywhere).
 */
int msgsrc_prepare(struct dctx *d, const char *msg_id, int nta_channel,
    time_t now, struct msgsrc **out);
/* Pass 2 reader for smtpc: the signed, rewritten message. */
ssize_t msgsrc_read(void *arg, void *buf, size_t len);
/* Start pass 2 again (another host after a failure). */
int msgsrc_rewind(struct msgsrc *m);
uint64_t msgsrc_size(const struct msgsrc *m);
void msgsrc_free(struct msgsrc *m);

/* The original header block only (for a DSN); wiped and freed by caller. */
int msg_load_header(struct dctx *d, const char *msg_id, char **hdr, size_t *len);
void msg_free_header(char *hdr, size_t len);

/*
 * Queue a DSN for a failed recipient to the envelope sender (never for a
 * null sender).  0 queued or not needed, negative on a store failure.
 */
int dsn_queue(struct dctx *d, const struct store_rcpt *r, const char *status,
    const char *remote, const char *diag, int expired, time_t now);

#endif
