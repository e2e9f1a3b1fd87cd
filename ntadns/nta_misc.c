/*
 * nta_misc.c - Dutch local dates, the certified-provider list, and the
 * channel DNS decides for health mail (spec R-NTA-5, R-NTA-9, R-FLOW-2..4).
 */
#include "ntadns/ntadns.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds since the epoch of the last Sunday of a month, 01:00 UTC. */
static time_t
last_sunday_0100(int year, int month, int mdays)
{
	struct tm tm = {0};
	struct tm out;
	time_t t;

	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = mdays;
	tm.tm_hour = 1;
	t = timegm(&tm);
	if (gmtime_r(&t, &out) == NULL)
		return t;
	return t - (time_t)out.tm_wday * 86400;
}

/*
 * Europe/Amsterdam computed from the EU rule (CET, CEST from the last
 * Sunday of March 01:00 UTC to the last Sunday of October 01:00 UTC)
 * rather than TZ/tzdata: setting TZ is process-global and the container
 * may lack zoneinfo.  Only the month matters for NTA validity, so the
 * hour around midnight at a month's end is what this gets right.
 */
struct nta_date
nta_date_of(time_t t)
{
	struct tm tm;
	struct nta_date d = {1970, 1, 1};
	time_t start, end;
	int off = 3600;

	if (gmtime_r(&t, &tm) == NULL)
		return d;
	start = last_sunday_0100(tm.tm_year + 1900, 3, 31);
	end = last_sunday_0100(tm.tm_year + 1900, 10, 31);
	if (t >= start && t < end)
		off = 7200;
	t += off;
	if (gmtime_r(&t, &tm) == NULL)
		return d;
	d.year = tm.tm_year + 1900;
	d.month = tm.tm_mon + 1;
	d.day = tm.tm_mday;
	return d;
}

int
nta_date_parse(const char *s, struct nta_date *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int i;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	out->year = atoi(s);
	out->month = (s[5] - '0') * 10 + (s[6] - '0');
	out->day = (s[8] - '0') * 10 + (s[9] - '0');
	if (out->month < 1 || out->month > 12 || out->day < 1 ||
	    out->day > mdays[out->month - 1])
		return -1;
	return 0;
}

/* ------------------------------------------------ certified providers */

#define PROVIDERS_MAX 4096

struct nta_providers {
	size_t n;
	char *v[PROVIDERS_MAX];
};

static int
add_line(struct nta_providers *p, char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
	    line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '\0' || *line == '#')
		return 0;
	if (p->n >= PROVIDERS_MAX || strlen(line) > NTA_PROVIDER_MAX)
		return -1;
	p->v[p->n] = strdup(line);
	if (p->v[p->n] == NULL)
		return -1;
	p->n++;
	return 0;
}

int
nta_providers_load(const char *path, struct nta_providers **out, char *err,
    size_t errlen)
{
	struct nta_providers *p;
	FILE *f;
	char line[512];
	int rc = 0;

	*out = NULL;
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL)
		rc = add_line(p, line);
	if (ferror(f) || rc != 0) {
		snprintf(err, errlen, "%s: read error, more than %d entries or an entry "
		    "longer than %d bytes", path, PROVIDERS_MAX, NTA_PROVIDER_MAX);
		fclose(f);
		nta_providers_free(p);
		return -1;
	}
	fclose(f);
	*out = p;
	return 0;
}

int
nta_providers_has(const struct nta_providers *p, const char *value, size_t len)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strlen(p->v[i]) == len && memcmp(p->v[i], value, len) == 0)
			return 1;
	return 0;
}

size_t
nta_providers_count(const struct nta_providers *p)
{
	return p != NULL ? p->n : 0;
}

void
nta_providers_free(struct nta_providers *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p);
}

/* ------------------------------------------------ channel */

const char *
nta_channel_name(enum nta_channel c)
{
	switch (c) {
	case NTA_CH_DANE: return "dane";
	case NTA_CH_BIJLAGE_C: return "bijlage-c";
	case NTA_CH_BIJLAGE_B: return "bijlage-b";
	case NTA_CH_PORTAL: return "portal";
	default: return "deferred";
	}
}

static int
unusable(enum dns_state s)
{
	return s == DNS_BOGUS || s == DNS_TEMPFAIL;
}

/*
 * R-FLOW-2..4 as far as DNS decides it.  Bogus or failed answers defer,
 * never downgrade (R-FLOW-7); TLSA with a usable record means dane and
 * never Bijlage C for that host (RFC 7672 2.2).
 */
enum nta_channel
nta_channel_for_host(enum dns_state txt_state, enum nta_verdict verdict,
    enum dns_state hosts_state, const struct dns_addrs *addrs,
    const struct dns_tlsa *tlsa)
{
	if (unusable(txt_state))
		return NTA_CH_DEFERRED;
	if (verdict != NTA_VALID)
		return NTA_CH_PORTAL;
	if (txt_state == DNS_INSECURE)
		return NTA_CH_BIJLAGE_B;
	if (unusable(hosts_state))
		return NTA_CH_DEFERRED;
	if (hosts_state != DNS_SECURE)
		return NTA_CH_BIJLAGE_B;	/* the MX answer itself is unsigned */
	if (addrs == NULL || unusable(addrs->m.state))
		return NTA_CH_DEFERRED;
	if (addrs->m.state == DNS_INSECURE || tlsa == NULL || !tlsa->looked_up)
		return NTA_CH_BIJLAGE_C;
	if (unusable(tlsa->m.state))
		return NTA_CH_DEFERRED;
	if (tlsa->m.state == DNS_SECURE && tlsa->n_usable > 0)
		return NTA_CH_DANE;
	return NTA_CH_BIJLAGE_C;
}
