/*
 * crypt.c - AES-256-GCM for message chunks (OpenSSL EVP).
 *
 * Each chunk has its own random 96-bit nonce: with at most 2^32 chunks per
 * data key, and one data key per message, random nonces stay far below the
 * collision bound NIST SP 800-38D sets for a single key.
 */
#include "store/store_int.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <string.h>

#define AAD_LEN (1 + 32 + 4 + 1)

static void
make_aad(uint8_t aad[AAD_LEN], const char *msg_id, uint32_t idx, int final)
{
	aad[0] = STORE_CHUNK_VERSION;
	memcpy(aad + 1, msg_id, 32);
	aad[33] = idx >> 24;
	aad[34] = idx >> 16;
	aad[35] = idx >> 8;
	aad[36] = idx;
	aad[37] = final ? 1 : 0;
}

EVP_CIPHER_CTX *
store_gcm_new(const uint8_t *dk, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (ctx == NULL)
		return NULL;
	/* Key once per message; each chunk only sets its nonce. */
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, dk, NULL, enc) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
store_chunk_seal(EVP_CIPHER_CTX *ctx, const char *msg_id, uint32_t idx,
    int final, const uint8_t *pt, size_t len, uint8_t *out, size_t *outlen)
{
	uint8_t aad[AAD_LEN];
	uint8_t *nonce = out + 1, *ct = out + 1 + STORE_NONCE_LEN;
	int n = 0, m = 0;

	if (len > STORE_CHUNK)
		return STORE_ERR;
	out[0] = STORE_CHUNK_VERSION;
	randombytes_buf(nonce, STORE_NONCE_LEN);
	make_aad(aad, msg_id, idx, final);
	if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, aad, sizeof(aad)) != 1 ||
	    (len > 0 && EVP_EncryptUpdate(ctx, ct, &n, pt, (int)len) != 1) ||
	    EVP_EncryptFinal_ex(ctx, ct + (len > 0 ? n : 0), &m) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, STORE_TAG_LEN, ct + len) != 1)
		return STORE_ERR;
	*outlen = len + STORE_CHUNK_OVERHEAD;
	return STORE_OK;
}

int
store_chunk_open(EVP_CIPHER_CTX *ctx, const char *msg_id, uint32_t idx,
    int final, const uint8_t *in, size_t inlen, uint8_t *pt, size_t *ptlen)
{
	uint8_t aad[AAD_LEN], tag[STORE_TAG_LEN];
	size_t len;
	int n = 0, m = 0;

	if (inlen < STORE_CHUNK_OVERHEAD || inlen - STORE_CHUNK_OVERHEAD > STORE_CHUNK ||
	    in[0] != STORE_CHUNK_VERSION)
		return STORE_TAMPER;
	len = inlen - STORE_CHUNK_OVERHEAD;
	const uint8_t *nonce = in + 1, *ct = in + 1 + STORE_NONCE_LEN;
	memcpy(tag, ct + len, STORE_TAG_LEN);
	make_aad(aad, msg_id, idx, final);
	if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, aad, sizeof(aad)) != 1 ||
	    (len > 0 && EVP_DecryptUpdate(ctx, pt, &n, ct, (int)len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, STORE_TAG_LEN, tag) != 1)
		return STORE_ERR;
	if (EVP_DecryptFinal_ex(ctx, pt + (len > 0 ? n : 0), &m) != 1) {
		/* Never hand out plaintext of a chunk that failed authentication. */
		sodium_memzero(pt, len);
		return STORE_TAMPER;
	}
	*ptlen = len;
	return STORE_OK;
}
