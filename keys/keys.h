/*
 * keys.h - the store key hierarchy (DESIGN.md "Processes and keys").
 *
 *   store key pair (X25519; keys/store-<id>.pub, keys/store-<id>.sec)
 *     - the secret optionally sealed under a passphrase (Argon2id)
 *     - `current` names the pair that seals new messages
 *   per message: data key DK (256 bit random), sealed to the current
 *     public key with crypto_box_seal; the sealed form records the key id.
 *
 * The network-facing smtpd loads a keys_pub only: it can seal, never open.
 * deliver loads a keys_ring (all secret keys still kept) to open DKs.
 * Secret material lives in sodium_malloc'd memory and is wiped on free.
 *
 * Files live in <data_dir>/keys/.  Return values: 0 OK, negative error
 * (KEYS_E*); err buffers get a sentence an operator can act on.
 */
#ifndef NTAMSA_KEYS_KEYS_H
#define NTAMSA_KEYS_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define KEYS_DK_LEN 32			/* AES-256 data key */
#define KEYS_SEALED_DK_LEN 80		/* crypto_box_SEALBYTES + 32 */

enum keys_err {
	KEYS_OK = 0,
	KEYS_ERR = -1,		/* I/O or library failure */
	KEYS_EXIST = -2,	/* keys init: keys already there */
	KEYS_NOKEY = -3,	/* no such key id / no keys initialised */
	KEYS_PASSPHRASE = -4,	/* wrong or missing passphrase */
	KEYS_BADSEAL = -5,	/* sealed DK does not open */
};

struct keys_pub;		/* current sealing key: id + public key */
struct keys_ring;		/* every secret key still kept, by id */

/* Create <data_dir>/keys with a first pair.  passphrase NULL = unsealed. */
int keys_init(const char *data_dir, const char *passphrase, char *err, size_t errlen);

/* Make a new pair current; old secrets stay usable. */
int keys_rotate(const char *data_dir, const char *passphrase, uint32_t *new_id,
    char *err, size_t errlen);

/* Destroy a retired secret key (after every DK sealed to it was resealed). */
int keys_retire(const char *data_dir, uint32_t key_id, char *err, size_t errlen);

int keys_load_pub(const char *data_dir, struct keys_pub **out, char *err, size_t errlen);
void keys_pub_free(struct keys_pub *p);
uint32_t keys_pub_id(const struct keys_pub *p);

int keys_load_ring(const char *data_dir, const char *passphrase,
    struct keys_ring **out, char *err, size_t errlen);
void keys_ring_free(struct keys_ring *r);

/*
 * The passphrase for a sealed secret key: from $NTAMSA_KEY_PASSPHRASE, or
 * from the file descriptor in $NTAMSA_KEY_PASSPHRASE_FD; NULL when neither
 * is set.  Never from argv.  Free with keys_passphrase_free().
 */
char *keys_passphrase_get(void);
void keys_passphrase_free(char *p);
/*
 * The same, telling "not set" (KEYS_OK, *out NULL) from "set but unusable"
 * (KEYS_PASSPHRASE: empty, bad descriptor, read error), so that a command
 * asked for a passphrase never goes on without one.
 */
int keys_passphrase_read(char **out, char *err, size_t errlen);

/* A fresh random data key in guarded memory (sodium_malloc). */
uint8_t *keys_dk_new(void);
void keys_dk_free(uint8_t *dk);

/* Seal dk to the current public key: out gets KEYS_SEALED_DK_LEN bytes. */
int keys_dk_seal(const struct keys_pub *p, const uint8_t *dk,
    uint8_t out[KEYS_SEALED_DK_LEN], uint32_t *key_id);

/*
 * A fresh DK and its sealed form in one call: taken from the seal-ahead
 * ring when p has one and it is not empty, else made and sealed here.
 * NULL on failure; free the DK with keys_dk_free().
 */
uint8_t *keys_dk_new_sealed(const struct keys_pub *p, uint8_t sealed[KEYS_SEALED_DK_LEN],
    uint32_t *key_id);
/*
 * Seal ahead of need: a thread keeps up to depth fresh DKs sealed to p so
 * that keys_dk_new_sealed() does not spend two X25519 operations on the
 * writer's path.  The ring's keys are in guarded memory, wiped when taken;
 * keys_pub_free() stops the thread and wipes the rest.  Keys sealed ahead
 * would only ever encrypt messages the same process is about to receive,
 * so the ring exposes nothing that process does not hold anyway.
 */
#define KEYS_AHEAD_MAX 4096
#define KEYS_AHEAD_DEPTH 256		/* what smtpd keeps: a burst of 256 messages */
int keys_pub_seal_ahead(struct keys_pub *p, size_t depth, char *err, size_t errlen);
/* How many DKs came from the ring, how many were sealed inline, how many wait. */
struct keys_ahead_stats {
	uint64_t taken;		/* from the ring */
	uint64_t missed;	/* the ring was empty: sealed inline */
	size_t ready;		/* in the ring now */
};
void keys_pub_seal_stats(const struct keys_pub *p, struct keys_ahead_stats *st);
/* Open a sealed DK with the secret key key_id; dk must be guarded memory. */
int keys_dk_open(const struct keys_ring *r, uint32_t key_id,
    const uint8_t sealed[KEYS_SEALED_DK_LEN], uint8_t *dk);

/* Key listing for `keys status`. */
struct keys_info {
	uint32_t id;
	time_t created;
	int current;		/* seals new messages */
	int has_secret;		/* secret still on disk */
	int passphrase;		/* secret sealed under a passphrase */
};
int keys_list(const char *data_dir, struct keys_info *out, size_t max, size_t *n,
    char *err, size_t errlen);

#endif
