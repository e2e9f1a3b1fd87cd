/*
 * fuzz_dns_answer.c - libFuzzer target for the raw DNS data ntadns reads
 * itself: the answer packet (dns_wire_rrsig_orig_ttl; the first two bytes
 * also choose the covered type) and TXT RDATA concatenation
 * (nta_txt_concat, R-NTA-7), whose output never exceeds its input and
 * whose result must fit the buffer it was given, however small.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ntadns/ntadns.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t ttl = 0;
	uint16_t covered = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 16;
	unsigned char *out;
	size_t cap;
	long n;

	(void)dns_wire_rrsig_orig_ttl(data, size, covered, &ttl);
	(void)dns_wire_rrsig_orig_ttl(data, size, 16, &ttl);
	/* A buffer exactly as large as asked (ASan sees any overrun). */
	cap = size > 0 ? data[0] % (size + 1) : 0;
	if ((out = malloc(cap > 0 ? cap : 1)) == NULL)
		return 0;
	n = nta_txt_concat(data, size, out, cap);
	if (n > (long)cap || (n >= 0 && (size_t)n > size))
		abort();
	free(out);
	/* With room for everything, well-formed RDATA always concatenates. */
	if ((out = malloc(size + 1)) == NULL)
		return 0;
	n = nta_txt_concat(data, size, out, size);
	if (n > (long)size)
		abort();
	free(out);
	return 0;
}
