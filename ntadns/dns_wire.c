/*
 * dns_wire.c - the little raw-packet reading ntadns needs: the RRSIG
 * Original TTL (RFC 4034 3.1.4) that libunbound does not expose.
 * Every read is bounds-checked; compression pointers are skipped, never
 * followed, so no loop is possible.
 */
#include "ntadns/ntadns.h"

/* Skip a (possibly compressed) name at *pos; -1 when malformed. */
static int
skip_name(const unsigned char *p, size_t len, size_t *pos)
{
	size_t i = *pos;
	unsigned hops = 0;

	while (i < len && hops++ < 128) {
		unsigned l = p[i];
		if (l == 0) {
			*pos = i + 1;
			return 0;
		}
		if ((l & 0xc0) == 0xc0) {
			if (i + 2 > len)
				return -1;
			*pos = i + 2;
			return 0;
		}
		if ((l & 0xc0) != 0)
			return -1;		/* extended label types: refuse */
		i += 1 + l;
	}
	return -1;
}

static unsigned
get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int
dns_wire_rrsig_orig_ttl(const unsigned char *pkt, size_t len, uint16_t covered,
    uint32_t *out)
{
	size_t pos = 12;
	unsigned qd, an, i;
	int found = 0;
	uint32_t best = 0;

	if (pkt == NULL || len < 12)
		return -1;
	qd = get16(pkt + 4);
	an = get16(pkt + 6);
	for (i = 0; i < qd; i++) {
		if (skip_name(pkt, len, &pos) != 0 || pos + 4 > len)
			return -1;
		pos += 4;
	}
	for (i = 0; i < an; i++) {
		unsigned type, rdlen;

		if (skip_name(pkt, len, &pos) != 0 || pos + 10 > len)
			return -1;
		type = get16(pkt + pos);
		rdlen = get16(pkt + pos + 8);
		pos += 10;
		if (pos + rdlen > len)
			return -1;
		/* RRSIG: type covered(2) alg(1) labels(1) original TTL(4) ... */
		if (type == 46 && rdlen >= 18 && get16(pkt + pos) == covered) {
			uint32_t t = get32(pkt + pos + 4);
			if (!found || t > best)
				best = t;
			found = 1;
		}
		pos += rdlen;
	}
	if (!found)
		return -1;
	*out = best;
	return 0;
}
