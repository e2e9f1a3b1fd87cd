/* accounts.c - password hashing, allowed senders and client networks. */
#include "msa/accounts.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int
acct_hash_password(const char *pw, size_t pwlen, char out[256])
{
	unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
	size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;

	_Static_assert(crypto_pwhash_STRBYTES <= 256, "hash fits the store column");
#ifdef NTAMSA_TEST_BUILD
	const char *fast = getenv("NTAMSA_TEST_PWHASH_FAST");
	if (fast != NULL && fast[0] == '1') {
		ops = crypto_pwhash_OPSLIMIT_MIN;
		mem = crypto_pwhash_MEMLIMIT_MIN;
	}
#endif
	if (sodium_init() < 0)
		return -1;
	memset(out, 0, 256);
	if (crypto_pwhash_str(out, pw, pwlen, ops, mem) != 0)
		return -1;
	return 0;
}

int
acct_verify_password(const char *hash, const char *pw, size_t pwlen)
{
	if (hash == NULL || hash[0] == '\0')
		return -1;
	return crypto_pwhash_str_verify(hash, pw, pwlen) == 0 ? 0 : -1;
}

/* Split "local@domain" at the last '@'. */
static const char *
at_sign(const char *a)
{
	return strrchr(a, '@');
}

static int
pattern_match(const char *pat, const char *addr)
{
	const char *pa = at_sign(pat), *aa = at_sign(addr);

	if (pa == NULL || aa == NULL)
		return 0;
	if (strcasecmp(pa + 1, aa + 1) != 0)
		return 0;
	if (pa - pat == 1 && pat[0] == '*')
		return 1;
	return pa - pat == aa - addr && memcmp(pat, addr, (size_t)(pa - pat)) == 0;
}

int
acct_sender_allowed(const struct store_account *a, const char *addr)
{
	if (addr == NULL || addr[0] == '\0')
		return 0;
	for (size_t i = 0; i < a->n_allow_from && i < STORE_LIST_MAX; i++)
		if (pattern_match(a->allow_from[i], addr))
			return 1;
	return 0;
}

struct cidr {
	int family;
	uint8_t addr[16];
	int bits;
};

static int
cidr_parse(const char *s, struct cidr *c)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		c->bits = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		c->bits = 128;
	} else {
		return -1;
	}
	if (slash != NULL) {
		char *end;
		long b = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || b < 0 || b > c->bits)
			return -1;
		c->bits = (int)b;
	}
	return 0;
}

static int
prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

int
acct_cidr_valid(const char *s)
{
	struct cidr c;
	return cidr_parse(s, &c);
}

int
acct_pattern_valid(const char *s)
{
	const char *at = at_sign(s);
	if (at == NULL || at == s || at[1] == '\0' || strlen(s) >= STORE_ADDR_MAX)
		return -1;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == ',')
			return -1;
	return 0;
}

int
acct_ip_allowed(const struct store_account *a, const struct sockaddr *sa)
{
	uint8_t ip[16];
	int fam;

	if (a->n_allow_ip == 0)
		return 1;
	if (sa->sa_family == AF_INET) {
		memcpy(ip, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		fam = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(ip, a6->s6_addr + 12, 4);
			fam = AF_INET;
		} else {
			memcpy(ip, a6->s6_addr, 16);
			fam = AF_INET6;
		}
	} else {
		return 0;
	}
	for (size_t i = 0; i < a->n_allow_ip && i < STORE_LIST_MAX; i++) {
		struct cidr c;
		if (cidr_parse(a->allow_ip[i], &c) != 0 || c.family != fam)
			continue;
		if (prefix_equal(c.addr, ip, c.bits))
			return 1;
	}
	return 0;
}
