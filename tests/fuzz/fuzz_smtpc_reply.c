/*
 * fuzz_smtpc_reply - replies of a (hostile) receiving MTA: the line parser
 * outbound/smtpc.c uses for every reply, EHLO keywords included, fed line
 * by line the way read_reply feeds it.
 */
#include "outbound/smtpc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpc_facts f;
	char line[2048];
	int code = 0, lines = 0;

	memset(&f, 0, sizeof(f));
	while (size > 0 && lines < SMTPC_REPLY_LINES_MAX) {
		const uint8_t *nl = memchr(data, '\n', size);
		size_t n = nl != NULL ? (size_t)(nl - data) : size;
		size_t k = n < sizeof(line) - 1 ? n : sizeof(line) - 1;

		memcpy(line, data, k);
		line[k] = '\0';
		if (k > 0 && line[k - 1] == '\r')
			line[k - 1] = '\0';
		int more = smtpc_reply_line(line, &code, &f);
		if (more < 0)
			break;
		if (code < 200 || code > 599)
			abort();	/* a code outside 2xx-5xx got through */
		lines++;
		if (more == 0)
			code = 0;	/* the next reply */
		data += n < size ? n + 1 : n;
		size -= n < size ? n + 1 : n;
	}
	return 0;
}
