/*
 * dkim_sign.c - test helper: sign a message file with outbound/dkim and
 * write "DKIM-Signature + message" to stdout.
 *
 *   dkim_sign CONFIG MSGFILE [CHUNK] [T]
 *
 * The body is fed in CHUNK-byte pieces (default 4096) to exercise the
 * streaming canonicalization; T fixes t= (default: now).  Exit 0 signed,
 * 3 no key for the From: domain, 1 other errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/config.h"
#include "outbound/dkim.h"
#include "outbound/rewrite.h"

#define MSG_MAX (16 * 1024 * 1024)

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	buf = malloc(MSG_MAX);
	if (buf == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, MSG_MAX, f);
	if (ferror(f) || !feof(f)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

int
main(int argc, char **argv)
{
	struct config c;
	struct out_dkim *k = NULL;
	struct out_dkim_sig *s = NULL;
	char err[512], sig[OUT_DKIM_SIG_MAX];
	size_t len, hl, off, chunk = 4096, sl;
	char *msg;
	time_t t = time(NULL);
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: dkim_sign CONFIG MSGFILE [CHUNK] [T]\n");
		return 1;
	}
	if (argc > 3)
		chunk = (size_t)strtoul(argv[3], NULL, 10);
	if (argc > 4)
		t = (time_t)strtoll(argv[4], NULL, 10);
	if (chunk == 0 || config_defaults(&c) != 0 ||
	    config_load(&c, argv[1], err, sizeof(err)) != 0) {
		fprintf(stderr, "dkim_sign: config: %s\n", err);
		return 1;
	}
	if (out_dkim_load(&c, &k, err, sizeof(err)) < 0) {
		fprintf(stderr, "dkim_sign: %s\n", err);
		config_free(&c);
		return 1;
	}
	if ((msg = slurp(argv[2], &len)) == NULL ||
	    out_rw_header_len(msg, len, &hl) < 0) {
		fprintf(stderr, "dkim_sign: %s: unreadable or no header\n", argv[2]);
		rc = 1;
		goto out;
	}
	rc = out_dkim_begin(k, msg, hl, &s);
	if (rc < 0) {
		fprintf(stderr, "dkim_sign: begin: %d\n", rc);
		rc = rc == OUT_DKIM_NOKEY ? 3 : 1;
		goto out;
	}
	for (off = hl; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		if (out_dkim_body(s, msg + off, n) < 0) {
			out_dkim_abort(s);
			rc = 1;
			goto out;
		}
	}
	if (out_dkim_end(s, t, sig, sizeof(sig), &sl) < 0) {
		fprintf(stderr, "dkim_sign: end failed\n");
		rc = 1;
		goto out;
	}
	rc = fwrite(sig, 1, sl, stdout) == sl && fwrite(msg, 1, len, stdout) == len &&
	    fflush(stdout) == 0 ? 0 : 1;
out:
	free(msg);
	out_dkim_free(k);
	config_free(&c);
	return rc;
}
