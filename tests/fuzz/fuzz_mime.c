/*
 * fuzz_mime.c - libFuzzer target for the classifier's reader: headers,
 * MIME tree (libetpan on a bounded copy), transfer encodings, charsets,
 * HTML, encoded words, and the signal scanners behind them.  Any input
 * must give a verdict without a crash, a leak or a hang.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msa/classify/classify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cls_options o;
	struct cls_result r;
	struct cls_explain *ex = NULL;
	char *text = NULL;
	size_t tl = 0;

	cls_options_default(&o);
	o.allow_downgrade = size > 0 && (data[0] & 1);
	if (cls_classify_explain((const char *)data, size, &o, &r, &ex) == 0) {
		/* The answer is always well formed. */
		if (r.score < 0 || r.score > 100 || memchr(r.reasons, '\0', sizeof(r.reasons)) == NULL)
			abort();
		for (size_t i = 0; i < cls_explain_count(ex); i++)
			if (cls_explain_line(ex, i) == NULL)
				abort();
	}
	cls_explain_free(ex);
	if (cls_extract_text((const char *)data, size, &text, &tl) == 0 && strlen(text) > tl)
		abort();
	free(text);
	return 0;
}
