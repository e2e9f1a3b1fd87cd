/*
 * cmd_classify.c - ntamsa classify [--explain] FILE...
 *
 * One line per file: "health|clean SCORE REASONS FILE".  With --explain,
 * each signal follows on its own indented line with its weight; matched
 * identifiers are masked (BSN as *****1234), never printed whole.
 * Exit 0 when every file was read (the verdict is not an error), 1 when a
 * file could not be read, 2 on a usage error.
 */
#include "msa/cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msa/classify/classify.h"

/* Largest file read: beyond the classifier's own input bound anyway. */
#define CLASSIFY_FILE_MAX (256u << 20)

static int
read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1u << 16, n = 0;
	char *p;

	*buf = NULL;
	if (f == NULL)
		return -1;
	p = malloc(cap);
	if (p == NULL) {
		fclose(f);
		return -1;
	}
	for (;;) {
		size_t got = fread(p + n, 1, cap - n, f);

		n += got;
		if (got == 0)
			break;
		if (n == cap) {
			char *np;

			if (cap >= CLASSIFY_FILE_MAX)
				break;
			np = realloc(p, cap * 2);
			if (np == NULL) {
				free(p);
				fclose(f);
				return -1;
			}
			p = np;
			cap *= 2;
		}
	}
	if (ferror(f)) {
		free(p);
		fclose(f);
		return -1;
	}
	fclose(f);
	*buf = p;
	*len = n;
	return 0;
}

static void
usage(FILE *out)
{
	fprintf(out, "usage: ntamsa classify [--explain] FILE...\n"
	    "  prints: health|clean SCORE REASONS FILE (one line per file)\n");
}

static int
classify_one(const struct cls_options *o, const char *path, int explain)
{
	struct cls_result r;
	struct cls_explain *ex = NULL;
	char *buf;
	size_t len;
	int rc;

	if (read_file(path, &buf, &len) != 0) {
		fprintf(stderr, "ntamsa classify: %s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = cls_classify_explain(buf, len, o, &r, explain ? &ex : NULL);
	free(buf);
	printf("%s %d %s %s\n", r.verdict == CLS_HEALTH ? "health" : "clean",
	    r.score, r.reasons, path);
	for (size_t i = 0; i < cls_explain_count(ex); i++)
		printf("    %s\n", cls_explain_line(ex, i));
	cls_explain_free(ex);
	if (rc != 0)
		fprintf(stderr, "ntamsa classify: %s: out of memory, counted as health\n", path);
	return 0;
}

int
cmd_classify(const struct config *c, int argc, char **argv)
{
	struct cls_options o;
	int explain = 0, i = 1, bad = 0;

	if (cmd_wants_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--explain") == 0) {
			explain = 1;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	cls_options_from_config(&o, c);
	for (; i < argc; i++)
		if (classify_one(&o, argv[i], explain) != 0)
			bad = 1;
	if (fflush(stdout) != 0)
		return 1;
	return bad;
}
