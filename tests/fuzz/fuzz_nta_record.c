/*
 * fuzz_nta_record.c - libFuzzer target for the NTA record parser.
 *
 * Input: records separated by 0xff bytes (a byte the grammar never
 * allows, so the split does not hide cases), each parsed as one TXT
 * record of a set; the whole input is also read as TXT wire RDATA.
 * Checks the parser's own invariants, not just absence of crashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ntadns/ntadns.h"

static void
invariants(const struct nta_set *s)
{
	struct nta_mx h[NTA_MAX_NTAMX];
	size_t i, n;

	if (s->verdict == NTA_VALID && s->rec[s->current].status != NTA_REC_VALID)
		abort();
	if (s->n_kept > NTA_SET_KEEP || s->n_reasons > NTA_REASONS_MAX)
		abort();
	if (s->verdict == NTA_NONE && s->n_records != 0)
		abort();
	n = nta_set_hosts(s, h, NTA_MAX_NTAMX);
	for (i = 0; i < n; i++) {
		if (h[i].prio > 999 || strlen(h[i].host) == 0 || strlen(h[i].host) > DNS_NAME_MAX)
			abort();
		if (i > 0 && h[i - 1].prio > h[i].prio)
			abort();
	}
	for (i = 0; i < s->n_kept; i++)
		if (s->rec[i].status == NTA_REC_INVALID && s->rec[i].n_reasons == 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nta_set s;
	static unsigned char flat[70000];
	struct nta_txt txt[8];
	struct nta_eval_opts o = {{2026, 11, 23}, 1, 300, NULL};
	size_t n = 0, start = 0, i;
	long l;

	for (i = 0; i <= size && n < 8; i++) {
		if (i == size || data[i] == 0xff) {
			txt[n].data = data + start;
			txt[n].len = i - start;
			n++;
			start = i + 1;
		}
	}
	nta_set_eval(&s, txt, n, &o);
	invariants(&s);
	l = nta_txt_concat(data, size, flat, sizeof(flat));
	if (l >= 0) {
		if ((size_t)l > size)
			abort();
		txt[0].data = flat;
		txt[0].len = (size_t)l;
		nta_set_eval(&s, txt, 1, &o);
		invariants(&s);
	}
	return 0;
}
