/*
 * fuzz_dns_answer.c - libFuzzer target for the raw DNS answer reader
 * (dns_wire_rrsig_orig_ttl): arbitrary packets, first two bytes also
 * choose the covered type.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ntadns/ntadns.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t ttl = 0;
	uint16_t covered = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 16;

	(void)dns_wire_rrsig_orig_ttl(data, size, covered, &ttl);
	(void)dns_wire_rrsig_orig_ttl(data, size, 16, &ttl);
	return 0;
}
