/*
 * bench_classify.c - classification throughput (MB/s, one core) for
 * messages of 2 KB, 100 KB and 10 MB: plain text, HTML, and a message that
 * is mostly a base64 PDF attachment.  Prints figures; never fails on them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msa/classify/classify.h"

static const char para[] =
    "Geachte collega, hierbij verwijs ik mevrouw A. de Vries, geboortedatum "
    "14-02-1958, BSN 111222333, naar uw polikliniek. Zij is bekend met diabetes "
    "mellitus type 2 (metformine 500 mg 2dd1) en hypertensie. HbA1c 54 mmol/mol. "
    "De vergadering van dinsdag gaat over het rooster, de lunch en de nieuwe "
    "printer op de tweede verdieping; graag jullie agenda's bijwerken. ";

/* A message of about size bytes: kind 0 plain, 1 HTML, 2 base64 attachment. */
static char *
make_msg(size_t size, int kind, size_t *len)
{
	static const char b64[] = "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIvRmlsdGVyIC9GbGF0ZURlY29kZT4+CnN0cmVhbQp4nCvkcn";
	char *m = malloc(size + 4096);
	size_t k = 0;

	if (m == NULL)
		return NULL;
	if (kind == 2) {
		k += (size_t)snprintf(m + k, 4096, "Subject: bijlage\r\nMIME-Version: 1.0\r\n"
		    "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n--B\r\n"
		    "Content-Type: application/pdf; name=\"brief.pdf\"\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n", para);
		while (k + 80 < size) {
			memcpy(m + k, b64, 76);
			memcpy(m + k + 76, "\r\n", 2);
			k += 78;
		}
		k += (size_t)snprintf(m + k, 64, "--B--\r\n");
	} else {
		k += (size_t)snprintf(m + k, 4096, "Subject: verwijzing\r\nMIME-Version: 1.0\r\n"
		    "Content-Type: text/%s; charset=utf-8\r\n\r\n%s", kind ? "html" : "plain",
		    kind ? "<html><body><p>" : "");
		while (k + sizeof(para) + 16 < size) {
			memcpy(m + k, para, sizeof(para) - 1);
			k += sizeof(para) - 1;
			if (kind) {
				memcpy(m + k, "<br>\r\n", 6);
				k += 6;
			} else {
				memcpy(m + k, "\r\n", 2);
				k += 2;
			}
		}
		k += (size_t)snprintf(m + k, 64, "%s\r\n", kind ? "</p></body></html>" : "");
	}
	*len = k;
	return m;
}

/*
 * CPU time of this thread: the figure for "one core" that other work on a
 * shared machine does not inflate; wall time is printed beside it.
 */
static double
clk(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench(const char *label, size_t size, int kind)
{
	struct cls_result r;
	size_t len = 0;
	char *m = make_msg(size, kind, &len);
	double t0, w0, dt = 0, wall;
	int iters = 0;

	if (m == NULL) {
		printf("%-28s out of memory\n", label);
		return;
	}
	if (cls_classify(m, len, NULL, &r) != 0)	/* warm up: lexicon, caches */
		printf("%-28s classify failed\n", label);
	t0 = clk(CLOCK_THREAD_CPUTIME_ID);
	w0 = clk(CLOCK_MONOTONIC);
	do {
		if (cls_classify(m, len, NULL, &r) != 0)
			break;
		iters++;
		dt = clk(CLOCK_THREAD_CPUTIME_ID) - t0;
	} while (dt < 1.0 || iters < 3);
	wall = clk(CLOCK_MONOTONIC) - w0;
	printf("%-24s %9zu bytes %6d runs %9.1f us/msg cpu %7.1f MB/s cpu %7.1f MB/s wall (%s %d)\n",
	    label, len, iters, dt / iters * 1e6, (double)len * iters / dt / 1e6,
	    (double)len * iters / wall / 1e6, r.verdict == CLS_HEALTH ? "health" : "clean", r.score);
	free(m);
}

int
main(void)
{
	bench("plain 2 KB", 2u << 10, 0);
	bench("plain 100 KB", 100u << 10, 0);
	bench("plain 10 MB", 10u << 20, 0);
	bench("html 100 KB", 100u << 10, 1);
	bench("html 10 MB", 10u << 20, 1);
	bench("pdf attachment 10 MB", 10u << 20, 2);
	return 0;
}
