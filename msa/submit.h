/*
 * submit.h - the submission pipeline between DATA and the store:
 * RFC 6409 section 8 fix-ups (Date, Message-ID, Bcc, one Received), the
 * header sender addresses for the allow-list check, and the classifier hook.
 *
 * The message is held in memory (bounded by server.max_message_size) from
 * DATA to commit: the header checks and the classifier need all of it, and a
 * refused message then never reaches the disk, not even encrypted.  That
 * memory is transient and never written anywhere in plaintext.
 */
#ifndef NTAMSA_MSA_SUBMIT_H
#define NTAMSA_MSA_SUBMIT_H

#include <stddef.h>

#include "common/config.h"

#define SUBMIT_MAX_FIELDS 1000		/* header fields per message */
#define SUBMIT_MSGID_MAX 256

/* Classifier verdict (msa/classify replaces the hook's body). */
struct submit_verdict {
	int health;		/* 1 health, 0 clean */
	int score;
	int forced;		/* sender forced secure (R-CLS-2) */
	char reasons[256];	/* reason codes, never matched text */
};

/*
 * The classifier hook: gets the whole message (header and body, as
 * submitted).  Until the classifier lands it answers health=1 score 0
 * "unclassified": fail-safe (spec R-CLS-3).  0 OK, negative error (the
 * caller then also treats the message as health).
 */
int submit_classify(const struct config *c, const char *msg, size_t len,
    struct submit_verdict *v);

struct submit_span {
	size_t off, len;	/* one header field, with its folded lines and CRLF */
};

struct submit_msg {
	const char *buf;
	size_t len;
	size_t body_off;	/* first octet of the body (after the empty line) */
	size_t n_fields;
	struct submit_span fields[SUBMIT_MAX_FIELDS];
	int has_date, has_msgid, n_from;
	char message_id[SUBMIT_MSGID_MAX];	/* without <>? no: as in the header */
};

/* Index the header of msg.  -1 when it has more than SUBMIT_MAX_FIELDS. */
int submit_parse(const char *msg, size_t len, struct submit_msg *m);

/*
 * Call cb for every address in every From: and Sender: field.  Stops and
 * returns cb's value when it is non-zero; -1 for an unparsable field.
 */
int submit_header_senders(const struct submit_msg *m,
    int (*cb)(const char *addr, void *arg), void *arg);

/* What the Received line may say (RFC 6409 s8: nothing of the client by default). */
struct submit_env {
	const char *hostname;
	const char *queue_id;
	const char *client_ip;		/* used only when show_client */
	const char *client_helo;
	int show_client;
	int tls;			/* ESMTPSA vs ESMTPA */
};

/*
 * Write the submitted message as it is queued: a Received field, the
 * original fields without Bcc, Date and Message-ID when missing, the body.
 * m->message_id gets the (possibly new) Message-ID.
 */
int submit_write(struct submit_msg *m, const struct submit_env *env,
    int (*wr)(const void *p, size_t n, void *arg), void *arg);

#endif
