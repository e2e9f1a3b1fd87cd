/*
 * lexicon.c - the word lists (msa/classify/lexicon/ data files, compiled in via
 * lexicon_data.c) as one hash table of folded phrases.
 *
 * Compiled in rather than read at run time: the smtpd worker drops
 * privileges (and may be chrooted) before it classifies, one binary always
 * carries the lists it was tested with, and a missing or edited file can
 * neither disable nor silently change the classifier.  lexicon/gen.sh
 * regenerates lexicon_data.c; test_cls_signals fails when it is stale.
 *
 * File format: "# comment", "@category NAME", "@weight N", then one entry a
 * line: words separated by spaces (folded and split like the text is),
 * optionally "|N" for its own weight; a trailing '*' makes the last word a
 * prefix (Dutch compounds: "diabet*" matches "diabetesverpleegkundige").
 */
#include "msa/classify/internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msa/classify/classify.h"

#define LEX_KEY_MAX	96
#define LEX_WORDS_MAX	4

struct lex_entry {
	char key[LEX_KEY_MAX];		/* folded words joined by one space */
	uint8_t keylen;
	uint8_t words;
	uint8_t prefix;			/* last word is a prefix */
	uint8_t cat;
	int weight;
};

static struct {
	struct lex_entry *e;
	size_t n, cap;
	uint32_t *slot;			/* index+1, 0 = empty */
	size_t nslot;			/* power of two */
	uint8_t starts[1u << 13];	/* bit set: first word of a phrase */
	uint8_t pbloom[1u << 13];	/* bit set: hash of a prefix entry */
	uint8_t bigram[1u << 13];	/* bit set: first two words of a phrase */
	uint32_t prefix_lens;		/* bit L: a prefix entry of L bytes */
	int ok;
} lex;

static pthread_once_t lex_once = PTHREAD_ONCE_INIT;

static const char *const cat_names[CAT__N] = {
	[CAT_CONDITION] = "condition", [CAT_DRUG] = "drug", [CAT_CARE] = "care",
	[CAT_DOCS] = "docs", [CAT_MENTAL] = "mental", [CAT_YOUTH] = "youth",
	[CAT_PREGNANCY] = "pregnancy", [CAT_VACCINATION] = "vaccination",
	[CAT_WORK] = "work", [CAT_LAB] = "lab", [CAT_PERSON] = "person",
	[CAT_GENERAL] = "general", [CAT_LBL_BSN] = "label-bsn",
	[CAT_LBL_DOB] = "label-dob", [CAT_LBL_PATID] = "label-patid",
	[CAT_TITLE] = "title", [CAT_GREETING] = "greeting", [CAT_MONTH] = "month",
	[CAT_UNIT] = "unit", [CAT_STREET] = "street",
	[CAT_FIRSTNAME] = "firstname", [CAT_CLOSING] = "closing",
	[CAT_POSSESSIVE] = "possessive", [CAT_STAFF] = "staff",
	[CAT_PRONOUN] = "pronoun",
};

/* Reason codes for the medical and context categories. */
static const char *const cat_codes[CAT__N] = {
	[CAT_CONDITION] = "med-condition", [CAT_DRUG] = "med-drug",
	[CAT_CARE] = "med-care", [CAT_DOCS] = "med-document",
	[CAT_MENTAL] = "med-mental", [CAT_YOUTH] = "med-youth",
	[CAT_PREGNANCY] = "med-pregnancy", [CAT_VACCINATION] = "med-vaccination",
	[CAT_WORK] = "med-sickleave", [CAT_LAB] = "med-lab",
	[CAT_PERSON] = "person-ref", [CAT_GENERAL] = "general-info",
	[CAT_LBL_BSN] = "label-bsn", [CAT_LBL_DOB] = "label-dob",
	[CAT_LBL_PATID] = "label-patid", [CAT_TITLE] = "title",
	[CAT_GREETING] = "greeting", [CAT_MONTH] = "month", [CAT_UNIT] = "unit",
	[CAT_STREET] = "street", [CAT_FIRSTNAME] = "firstname",
	[CAT_CLOSING] = "closing", [CAT_POSSESSIVE] = "possessive",
	[CAT_STAFF] = "staff", [CAT_PRONOUN] = "pronoun-med",
};

const char *
cls_cat_code(enum cls_cat c)
{
	return c < CAT__N ? cat_codes[c] : "?";
}

static uint32_t
fnv(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static int
is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Fold and re-join an entry's words; returns words, 0 if unusable. */
static int
entry_key(const char *raw, struct lex_entry *e)
{
	char folded[256];
	size_t n = cls_fold(raw, folded, sizeof(folded)), k = 0;
	int words = 0;

	e->prefix = 0;
	if (n > 0 && folded[n - 1] == '*') {
		e->prefix = 1;
		folded[--n] = '\0';
	}
	for (size_t i = 0; i < n;) {
		while (i < n && !is_word(folded[i]))
			i++;
		if (i >= n)
			break;
		if (words > 0) {
			if (k + 1 >= LEX_KEY_MAX)
				return 0;
			e->key[k++] = ' ';
		}
		while (i < n && is_word(folded[i])) {
			if (k + 1 >= LEX_KEY_MAX)
				return 0;
			e->key[k++] = folded[i++];
		}
		words++;
	}
	if (words == 0 || words > LEX_WORDS_MAX || (e->prefix && k >= 32))
		return 0;
	e->key[k] = '\0';
	e->keylen = (uint8_t)k;
	e->words = (uint8_t)words;
	return words;
}

static int
cat_by_name(const char *s, size_t n)
{
	for (int c = 0; c < CAT__N; c++)
		if (strlen(cat_names[c]) == n && memcmp(cat_names[c], s, n) == 0)
			return c;
	return -1;
}

static int
add_entry(const struct lex_entry *e)
{
	if (lex.n == lex.cap) {
		size_t nc = lex.cap ? lex.cap * 2 : 1024;
		struct lex_entry *ne = realloc(lex.e, nc * sizeof(*ne));

		if (ne == NULL)
			return -1;
		lex.e = ne;
		lex.cap = nc;
	}
	lex.e[lex.n++] = *e;
	return 0;
}

/* Parse one data file into entries. */
static int
parse_file(const char *text)
{
	int cat = -1, weight = 1;

	for (const char *p = text; *p != '\0';) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		char line[256];
		struct lex_entry e;
		char *bar;

		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		p = eol ? eol + 1 : p + strlen(p);
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strncmp(line, "@category ", 10) == 0) {
			cat = cat_by_name(line + 10, strlen(line + 10));
			continue;
		}
		if (strncmp(line, "@weight ", 8) == 0) {
			weight = atoi(line + 8);
			continue;
		}
		if (cat < 0)
			return -1;
		memset(&e, 0, sizeof(e));
		e.cat = (uint8_t)cat;
		e.weight = weight;
		bar = strchr(line, '|');
		if (bar != NULL) {
			*bar = '\0';
			e.weight = atoi(bar + 1);
		}
		if (entry_key(line, &e) == 0)
			continue;
		if (add_entry(&e) != 0)
			return -1;
	}
	return 0;
}

static void
index_entries(void)
{
	lex.nslot = 1;
	while (lex.nslot < lex.n * 2 + 16)
		lex.nslot *= 2;
	lex.slot = calloc(lex.nslot, sizeof(*lex.slot));
	if (lex.slot == NULL)
		return;
	for (size_t i = 0; i < lex.n; i++) {
		struct lex_entry *e = &lex.e[i];
		uint32_t h = fnv(e->key, e->keylen) + e->prefix;
		size_t j = h & (lex.nslot - 1);

		while (lex.slot[j] != 0)
			j = (j + 1) & (lex.nslot - 1);
		lex.slot[j] = (uint32_t)i + 1;
		if (e->words > 1) {
			const char *sp = memchr(e->key, ' ', e->keylen);
			const char *sp2 = memchr(sp + 1, ' ', e->keylen - (size_t)(sp + 1 - e->key));
			size_t two = sp2 != NULL ? (size_t)(sp2 - e->key) : e->keylen;
			uint32_t fh = fnv(e->key, (size_t)(sp - e->key)) & 0xffffu;
			uint32_t bh = fnv(e->key, two) & 0xffffu;

			lex.starts[fh >> 3] |= (uint8_t)(1u << (fh & 7));
			lex.bigram[bh >> 3] |= (uint8_t)(1u << (bh & 7));
		}
		if (e->prefix) {
			uint32_t ph = fnv(e->key, e->keylen) & 0xffffu;

			lex.prefix_lens |= 1u << e->keylen;
			lex.pbloom[ph >> 3] |= (uint8_t)(1u << (ph & 7));
		}
	}
	lex.ok = 1;
}

static void
lex_load(void)
{
	for (size_t i = 0; i < cls_lexdata_n; i++)
		if (parse_file(cls_lexdata[i].text) != 0)
			return;
	index_entries();
}

int
cls_lex_init(void)
{
	if (pthread_once(&lex_once, lex_load) != 0)
		return -1;
	return lex.ok ? 0 : -1;
}

size_t
cls_lex_entries(void)
{
	return lex.n;
}

/* Collect entries equal to key (prefix flag pf); at most one per category. */
static int
probe_h(uint32_t h, const char *key, size_t n, int pf, int words,
    struct cls_lex_hit *hits, int nh, int max)
{
	size_t j = (h + (uint32_t)pf) & (lex.nslot - 1);

	while (lex.slot[j] != 0 && nh < max) {
		const struct lex_entry *e = &lex.e[lex.slot[j] - 1];

		if (e->keylen == n && e->prefix == pf && memcmp(e->key, key, n) == 0) {
			int dup = 0;

			for (int k = 0; k < nh; k++)
				dup |= hits[k].cat == e->cat;
			if (!dup) {
				hits[nh].id = (int)(lex.slot[j] - 1);
				hits[nh].cat = (enum cls_cat)e->cat;
				hits[nh].weight = e->weight;
				hits[nh].words = words;
				nh++;
			}
		}
		j = (j + 1) & (lex.nslot - 1);
	}
	return nh;
}

static int
probe(const char *key, size_t n, int pf, int words, struct cls_lex_hit *hits,
    int nh, int max)
{
	return probe_h(fnv(key, n), key, n, pf, words, hits, nh, max);
}

/* Continue the hash of one word over " " and the next word: a phrase's first pair? */
static int
bigram_known(uint32_t h, const char *s, const struct cls_tok *next)
{
	h ^= (unsigned char)' ';
	h *= 16777619u;
	for (uint32_t i = 0; i < next->len; i++) {
		h ^= (unsigned char)s[next->off + i];
		h *= 16777619u;
	}
	h &= 0xffffu;
	return (lex.bigram[h >> 3] & (1u << (h & 7))) != 0;
}

int
cls_lex_lookup(const char *s, const struct cls_tok *toks, size_t ntok,
    size_t t, struct cls_lex_hit *hits, int max)
{
	const struct cls_tok *tk = &toks[t];
	uint32_t hs[32], h = 2166136261u, fh;
	int nh = 0;

	if (!lex.ok || tk->len == 0)
		return 0;
	/* One pass over the token gives the hash of every prefix length. */
	for (uint32_t i = 0; i < tk->len; i++) {
		h ^= (unsigned char)s[tk->off + i];
		h *= 16777619u;
		if (i + 1 < 32)
			hs[i + 1] = h;
	}
	fh = h & 0xffffu;
	/* Phrases first, longest first; the first two words must be a known pair. */
	if ((lex.starts[fh >> 3] & (1u << (fh & 7))) && t + 1 < ntok &&
	    bigram_known(h, s, &toks[t + 1])) {
		for (size_t w = LEX_WORDS_MAX; w >= 2; w--) {
			char key[LEX_KEY_MAX];
			size_t k = 0;
			int fits = t + w <= ntok;

			for (size_t i = 0; fits && i < w; i++) {
				const struct cls_tok *x = &toks[t + i];

				if (k + x->len + 1 >= sizeof(key)) {
					fits = 0;
					break;
				}
				if (i > 0)
					key[k++] = ' ';
				memcpy(key + k, s + x->off, x->len);
				k += x->len;
			}
			if (fits)
				nh = probe(key, k, 0, (int)w, hits, nh, max);
			explicit_bzero(key, k);		/* words of the message */
			if (nh > 0)
				return nh;
		}
	}
	nh = probe_h(h, s + tk->off, tk->len, 0, 1, hits, nh, max);
	if (nh > 0)
		return nh;
	/* Prefix entries, longest first; the bloom bits skip most probes. */
	for (int L = tk->len < 31 ? (int)tk->len : 31; L >= 3; L--) {
		uint32_t ph = hs[L] & 0xffffu;

		if (!(lex.prefix_lens & (1u << L)) || !(lex.pbloom[ph >> 3] & (1u << (ph & 7))))
			continue;
		nh = probe_h(hs[L], s + tk->off, (size_t)L, 1, 1, hits, nh, max);
		if (nh > 0)
			return nh;
	}
	return 0;
}

void
cls_lex_key(int id, char *out, size_t outlen)
{
	if (id < 0 || (size_t)id >= lex.n)
		snprintf(out, outlen, "?");
	else
		snprintf(out, outlen, "%s%s", lex.e[id].key, lex.e[id].prefix ? "*" : "");
}

size_t
cls_lexicon_files(void)
{
	return cls_lexdata_n;
}

int
cls_lexicon_file(size_t i, const char **name, const char **text)
{
	if (i >= cls_lexdata_n)
		return -1;
	*name = cls_lexdata[i].name;
	*text = cls_lexdata[i].text;
	return 0;
}
