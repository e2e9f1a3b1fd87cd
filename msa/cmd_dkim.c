/*
 * cmd_dkim.c - `ntamsa dkim keygen DOMAIN SELECTOR [--type rsa|ed25519]
 *              [--bits N] [--out FILE]`.
 *
 * Writes a new RSA private key (mode 0600, never over an existing file) and
 * prints the DNS TXT record to publish on stdout; the config line that
 * enables it goes to stderr.  Rotation without a gap (R-DKIM-1): generate
 * under a new selector, publish, wait for the TTL, then switch the
 * dkim.domain line; keep the old record until mail signed with it is read.
 */
#include "msa/cmd.h"
#include "outbound/dkim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void
usage(FILE *f)
{
	fprintf(f, "usage: ntamsa dkim keygen DOMAIN SELECTOR [--type rsa|ed25519] "
	    "[--bits N] [--out FILE]\n"
	    "  Generate a DKIM key (RSA: default %d bits, at least %d) and print\n"
	    "  the DNS TXT record.  Default FILE: <data_dir>/dkim/DOMAIN.SELECTOR.key\n"
	    "  An Ed25519 key (RFC 8463) only adds a second signature: the domain\n"
	    "  still needs its RSA key.\n",
	    OUT_DKIM_DEFAULT_BITS, OUT_DKIM_MIN_BITS);
}

static int
parse_bits(const char *s, int *bits)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < 0 || v > 65536)
		return -1;
	*bits = (int)v;
	return 0;
}

/* <data_dir>/dkim/DOMAIN.SELECTOR.key, creating the directory 0700. */
static int
default_path(const struct config *c, const char *domain, const char *sel,
    char *out, size_t cap)
{
	char dir[4096];

	if (snprintf(dir, sizeof(dir), "%s/dkim", c->data_dir) >= (int)sizeof(dir))
		return -1;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "ntamsa: dkim: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (snprintf(out, cap, "%s/%s.%s.key", dir, domain, sel) >= (int)cap)
		return -1;
	return 0;
}

static int
keygen(const struct config *c, int argc, char **argv)
{
	const char *domain = NULL, *sel = NULL, *out = NULL, *type = "rsa";
	char path[4096], txt[8192], err[512];
	int bits = OUT_DKIM_DEFAULT_BITS, i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--bits") == 0 && i + 1 < argc) {
			if (parse_bits(argv[++i], &bits) < 0) {
				fprintf(stderr, "ntamsa: dkim: --bits: not a number\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--type") == 0 && i + 1 < argc) {
			type = argv[++i];
			if (strcmp(type, "rsa") != 0 && strcmp(type, "ed25519") != 0) {
				fprintf(stderr, "ntamsa: dkim: --type: rsa or ed25519\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
			out = argv[++i];
		} else if (argv[i][0] == '-') {
			usage(stderr);
			return 2;
		} else if (domain == NULL) {
			domain = argv[i];
		} else if (sel == NULL) {
			sel = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (domain == NULL || sel == NULL) {
		usage(stderr);
		return 2;
	}
	if (out == NULL) {
		if (default_path(c, domain, sel, path, sizeof(path)) < 0)
			return 1;
		out = path;
	}
	rc = out_dkim_keygen_type(domain, sel, type, bits, out, txt, sizeof(txt), err,
	    sizeof(err));
	if (rc == OUT_DKIM_WEAK) {
		fprintf(stderr, "ntamsa: dkim: %s\n", err);
		return 2;
	}
	if (rc < 0) {
		fprintf(stderr, "ntamsa: dkim: %s\n", err);
		return 1;
	}
	printf("%s\n", txt);
	if (strcmp(type, "rsa") == 0)
		fprintf(stderr, "ntamsa: dkim: RSA key written to %s (%d bits)", out, bits);
	else
		fprintf(stderr, "ntamsa: dkim: Ed25519 key written to %s", out);
	fprintf(stderr, "; enable with:\n  [dkim]\n  domain = %s %s %s\n", domain, sel, out);
	return 0;
}

int
cmd_dkim(const struct config *c, int argc, char **argv)
{
	if (cmd_wants_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return keygen(c, argc - 1, argv + 1);
	usage(stderr);
	return 2;
}
