/*
 * fuzz_smtp_auth - the SASL decoders that read what a client sends after
 * AUTH (msa/smtpd_auth.c): base64, PLAIN (RFC 4616) and the CRAM-MD5
 * response (RFC 2195).  Beyond memory safety it checks what the session
 * relies on: names and passwords come back NUL-terminated within their
 * buffers, and an accepted CRAM-MD5 answer is exactly "user SP hex".
 */
#include "msa/smtpd_int.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IN_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_plain(const char *in, size_t ulen, size_t pwlen)
{
	char user[512], pw[1024];
	size_t pwused = 0;

	if (smtp_sasl_plain(in, user, ulen, pw, pwlen, &pwused) != 0)
		return;
	if (strlen(user) == 0 || strlen(user) >= ulen || pwused >= pwlen || pw[pwused] != '\0')
		abort();
}

static void
check_cram(const char *in, size_t ulen)
{
	char user[512], raw[IN_MAX], hex[33];
	unsigned char digest[16];
	size_t n = 0;

	if (smtp_cram_response(in, user, ulen, digest) != 0)
		return;
	size_t ul = strlen(user);
	if (ul == 0 || ul >= ulen || smtp_b64_decode(in, raw, sizeof(raw), &n) != 0)
		abort();
	/* The decoded answer is the user, one space, the digest in hex. */
	for (int i = 0; i < 16; i++) {
		static const char x[] = "0123456789abcdef";
		hex[2 * i] = x[digest[i] >> 4];
		hex[2 * i + 1] = x[digest[i] & 15];
	}
	hex[32] = '\0';
	if (n != ul + 33 || memcmp(raw, user, ul) != 0 || raw[ul] != ' ' ||
	    strncasecmp(raw + ul + 1, hex, 32) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[IN_MAX + 1], out[IN_MAX];
	size_t used = 0;

	if (size < 1 || size > IN_MAX)
		return 0;
	/* The first byte picks buffer sizes, so short buffers are tried too. */
	size_t small = 1 + data[0] % 64;
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';
	if (smtp_b64_decode(in, out, small, &used) == 0 && (used >= small || out[used] != '\0'))
		abort();
	check_plain(in, small, 1024);
	check_plain(in, 512, small);
	check_cram(in, small);
	check_cram(in, 512);
	return 0;
}
