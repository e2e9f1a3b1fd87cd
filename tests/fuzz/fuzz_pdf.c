/*
 * fuzz_pdf.c - libFuzzer target for the classifier's PDF text extractor
 * (msa/classify/pdf.c): object index, object streams, inflate, content
 * tokenizer, fonts and ToUnicode CMaps.  Any input must return without a
 * crash, a leak or a hang, and never write past the text cap.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msa/classify/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cls_buf out;
	int rc;

	/* A small cap now and then, so the text limit is exercised too. */
	cls_buf_init(&out, size > 0 && (data[0] & 1) ? 64 : CLS_PDF_MAX_TEXT);
	rc = cls_pdf_text(&out, data, size);
	if (rc != 0 && rc != CLS_PDF_PARTIAL && rc != CLS_PDF_ENCRYPTED && rc != -1)
		abort();
	if (out.len > out.max || (out.p != NULL && strlen(out.p) > out.len))
		abort();
	(void)cls_pdf_letters(out.p ? out.p : "", out.len);
	cls_buf_free(&out);
	return 0;
}
