/*
 * patterns.c - signals with a shape rather than a word list: BSN (11-test),
 * dates of birth, patient numbers, doses and schedules, lab values with
 * units, ICD-10 and ATC codes, Dutch postcodes after a street; the BSN
 * test and the masking used by the explanation.
 */
#include "msa/classify/classify.h"
#include "msa/classify/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cls_bsn_valid(const char *s)
{
	int sum = 0, nonzero = 0;

	for (int i = 0; i < 9; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		nonzero |= s[i] != '0';
		sum += (i < 8 ? 9 - i : -1) * (s[i] - '0');
	}
	if (s[9] != '\0' && s[9] >= '0' && s[9] <= '9')
		return 0;
	return nonzero && sum % 11 == 0;
}

void
cls_mask(const char *in, size_t len, char *out, size_t outlen)
{
	size_t alnum = 0, k = 0, seen = 0, keep;

	if (outlen == 0)
		return;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		alnum += (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z');
	}
	/* Show the last 4 of long identifiers, 2 of medium ones, none of short ones. */
	keep = alnum >= 8 ? 4 : alnum >= 6 ? 2 : 0;
	for (size_t i = 0; i < len && k + 1 < outlen; i++) {
		char c = in[i];
		int an = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z');

		if (!an)
			continue;	/* separators are dropped: *****1234 */
		seen++;
		out[k++] = alnum - seen < keep ? c : '*';
	}
	out[k] = '\0';
}

int
cls_tok_digits(const struct scan *sc, size_t t)
{
	const struct cls_tok *x = &sc->tok[t];

	for (uint32_t i = 0; i < x->len; i++)
		if (sc->nm->s[x->off + i] < '0' || sc->nm->s[x->off + i] > '9')
			return 0;
	return 1;
}

int
cls_tok_eq(const struct scan *sc, size_t t, const char *w)
{
	size_t n = strlen(w);

	return t < sc->ntok && sc->tok[t].len == n &&
	    memcmp(sc->nm->s + sc->tok[t].off, w, n) == 0;
}

/* Tokens t and t+1 joined by exactly one of the separator characters seps. */
static int
joined(const struct scan *sc, size_t t, const char *seps)
{
	uint32_t e;

	if (t + 1 >= sc->ntok)
		return 0;
	e = sc->tok[t].off + sc->tok[t].len;
	if (sc->tok[t + 1].off == e)
		return 1;
	return sc->tok[t + 1].off == e + 1 && strchr(seps, sc->nm->s[e]) != NULL;
}

/*
 * BSN: a maximal group of digit tokens joined by single spaces, dots or
 * dashes holding exactly nine digits that pass the 11-test.  Returns the
 * tokens consumed by the group.
 */
size_t
cls_scan_bsn(struct scan *sc, size_t t)
{
	char d[16];
	size_t nd = 0, u = t, ok = 1;
	char shown[16];

	for (;;) {
		const struct cls_tok *x = &sc->tok[u];

		if (!cls_tok_digits(sc, u))
			break;
		for (uint32_t i = 0; i < x->len; i++) {
			if (nd < 10)
				d[nd] = sc->nm->s[x->off + i];
			nd++;
		}
		if (!joined(sc, u, " .-") || !cls_tok_digits(sc, u + 1))
			break;
		u++;
	}
	if (nd != 9)
		ok = 0;
	d[nd < 10 ? nd : 10] = '\0';
	if (ok && cls_bsn_valid(d)) {
		uint32_t off = sc->tok[t].off;
		int kw = sc->bsn_label_end > 0 && off < sc->bsn_label_end + 60;

		cls_mask(d, 9, shown, sizeof(shown));
		cls_add_sig(sc, kw ? "bsn-kw" : "bsn", kw ? W_BSN_KW : W_BSN,
		    SIDE_PERSON, shown, d, 9);
		if (kw)
			sc->strong = 1;
	}
	explicit_bzero(d, sizeof(d));	/* a citizen service number, maybe */
	return u - t + 1;
}

static int
month_token(const struct scan *sc, size_t t)
{
	char c;

	static const char *const m[] = {"januari", "februari", "maart", "april",
	    "mei", "juni", "juli", "augustus", "september", "oktober", "november",
	    "december", "jan", "feb", "mrt", "apr", "jun", "jul", "aug", "sep",
	    "sept", "okt", "nov", "dec", "january", "february", "march", "may",
	    "june", "july", "august", "october", "mar", "oct", NULL};

	if (t >= sc->ntok || sc->tok[t].len < 3 || sc->tok[t].len > 9)
		return 0;
	c = sc->nm->s[sc->tok[t].off];
	if (strchr("jfmasond", c) == NULL)
		return 0;
	for (size_t i = 0; m[i] != NULL; i++)
		if (cls_tok_eq(sc, t, m[i]))
			return 1;
	return 0;
}

/* A date starting at token t: d-m-yyyy, yyyy-mm-dd, "12 maart 1980", "March 12, 1980". */
static int
date_at(const struct scan *sc, size_t t)
{
	if (t + 2 >= sc->ntok)
		return 0;
	if (cls_tok_digits(sc, t) && cls_tok_digits(sc, t + 1) && cls_tok_digits(sc, t + 2) &&
	    joined(sc, t, "-/.") && joined(sc, t + 1, "-/.")) {
		uint32_t a = sc->tok[t].len, c = sc->tok[t + 2].len;

		return (a <= 2 && (c == 4 || c == 2)) || (a == 4 && c <= 2);
	}
	if (cls_tok_digits(sc, t) && sc->tok[t].len <= 2 && month_token(sc, t + 1) &&
	    cls_tok_digits(sc, t + 2) && sc->tok[t + 2].len == 4)
		return 1;
	if (month_token(sc, t) && cls_tok_digits(sc, t + 1) && sc->tok[t + 1].len <= 2 &&
	    cls_tok_digits(sc, t + 2) && sc->tok[t + 2].len == 4)
		return 1;
	return 0;
}

/* The year of the date at t (date_at true), or 0. */
static int
date_year(const struct scan *sc, size_t t)
{
	size_t u = sc->tok[t].len == 4 && cls_tok_digits(sc, t) ? t : t + 2;
	const char *s = sc->nm->s + sc->tok[u].off;

	if (sc->tok[u].len != 4)
		return 0;
	return (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
}

/*
 * Dates that look like birth dates (years 1900..2020), remembered for
 * tables where the "geboortedatum" label heads a column, not each value.
 */
void
cls_note_birthdate(struct scan *sc, size_t t)
{
	int y;

	if (!date_at(sc, t))
		return;
	y = date_year(sc, t);
	if (y < 1900 || y > 2020)
		return;
	if (sc->birthdates++ == 0) {
		uint32_t off = sc->tok[t].off;
		uint32_t end = sc->tok[t + 2].off + sc->tok[t + 2].len;

		cls_mask(sc->nm->s + off, end - off, sc->birth_shown, sizeof(sc->birth_shown));
	}
}

/* After a date-of-birth label: a date within the next few tokens. */
void
cls_scan_dob(struct scan *sc, size_t t, int words)
{
	for (size_t u = t + (size_t)words; u < sc->ntok && u < t + (size_t)words + 4; u++) {
		if (date_at(sc, u)) {
			uint32_t off = sc->tok[u].off;
			uint32_t end = sc->tok[u + 2].off + sc->tok[u + 2].len;
			char shown[32];

			cls_mask(sc->nm->s + off, end - off, shown, sizeof(shown));
			cls_add_sig(sc, "dob", W_DOB, SIDE_PERSON, shown, sc->nm->s + off, end - off);
			sc->strong = 1;
			sc->dob_found = 1;
			return;
		}
	}
}

/* After a patient/client/dossier number label: a token with 4+ digits. */
void
cls_scan_patid(struct scan *sc, size_t t, int words)
{
	for (size_t u = t + (size_t)words; u < sc->ntok && u < t + (size_t)words + 3; u++) {
		const struct cls_tok *x = &sc->tok[u];
		int digits = 0;

		for (uint32_t i = 0; i < x->len; i++)
			digits += sc->nm->s[x->off + i] >= '0' && sc->nm->s[x->off + i] <= '9';
		if (digits >= 4 || (digits >= 1 && cls_tok_digits(sc, u) && joined(sc, u, " .-") &&
		    cls_tok_digits(sc, u + 1))) {
			char shown[32];

			cls_mask(sc->nm->s + x->off, x->len, shown, sizeof(shown));
			cls_add_sig(sc, "patient-id", W_PATID, SIDE_PERSON, shown,
			    sc->nm->s + x->off, x->len);
			sc->strong = 1;
			return;
		}
	}
}

/* Doses and lab values: a number followed by a unit, or "500mg" in one token. */
static const char *
unit_kind(const char *s, size_t n)
{
	static const struct { const char *u; const char *kind; } units[] = {
		{"mg", "dose"}, {"mcg", "dose"}, {"ug", "dose"}, {"microgram", "dose"},
		{"milligram", "dose"}, {"ie", "dose"}, {"eh", "dose"}, {"iu", "dose"},
		{"mmol", "lab"}, {"umol", "lab"}, {"nmol", "lab"}, {"pmol", "lab"},
		{"mmhg", "lab"}, {"mgl", "lab"}, {"meq", "lab"}, {"gdl", "lab"},
		{"bpm", "lab"}, {"mg/l", "lab"},
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].u) == n && memcmp(units[i].u, s, n) == 0)
			return units[i].kind;
	return NULL;
}

static void
add_measure(struct scan *sc, const char *kind, const char *s, size_t n)
{
	sc->med_extra++;
	if (strcmp(kind, "dose") == 0)
		cls_add_sig(sc, "med-dose", W_DOSE, SIDE_MED, "<number> <unit>", s, n);
	else
		cls_add_sig(sc, "med-labvalue", W_LABVAL, SIDE_MED, "<number> <unit>", s, n);
}

void
cls_scan_number(struct scan *sc, size_t t)
{
	const struct cls_tok *x = &sc->tok[t];
	const char *s = sc->nm->s + x->off;
	uint32_t i = 0;
	const char *kind;

	while (i < x->len && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == 0)
		return;
	if (i < x->len) {
		/* "2dd1", "3dd", "500mg" */
		if (x->len - i >= 2 && s[i] == 'd' && s[i + 1] == 'd') {
			sc->med_extra++;
			cls_add_sig(sc, "med-schedule", W_SCHEDULE, SIDE_MED, "<n>dd<n>", s, x->len);
			return;
		}
		if (x->len - i == 1 && s[i] == 'x' && (cls_tok_eq(sc, t + 1, "daags") ||
		    (cls_tok_eq(sc, t + 1, "per") && (cls_tok_eq(sc, t + 2, "dag") ||
		    cls_tok_eq(sc, t + 2, "day") || cls_tok_eq(sc, t + 2, "week"))))) {
			cls_add_sig(sc, "med-schedule", W_SCHEDULE, SIDE_MED, "<n>x per dag", s, x->len);
			return;
		}
		kind = unit_kind(s + i, x->len - i);
		if (kind != NULL)
			add_measure(sc, kind, s, x->len);
		return;
	}
	/* "2 dd 1" */
	if (cls_tok_eq(sc, t + 1, "dd")) {
		cls_add_sig(sc, "med-schedule", W_SCHEDULE, SIDE_MED, "<n>dd<n>", "dd", 2);
		return;
	}
	/* decimal "2,5 mg": skip the fraction token */
	if (t + 2 < sc->ntok && joined(sc, t, ",.") && cls_tok_digits(sc, t + 1))
		t++;
	if (t + 1 < sc->ntok && sc->tok[t + 1].off <= sc->tok[t].off + sc->tok[t].len + 1) {
		const struct cls_tok *y = &sc->tok[t + 1];
		char unit[16];
		size_t ul = y->len < 8 ? y->len : 8;

		memcpy(unit, sc->nm->s + y->off, ul);
		/* "mmol/l", "mg/dl": take the unit with its denominator */
		if (t + 2 < sc->ntok && sc->nm->s[y->off + y->len] == '/' &&
		    sc->tok[t + 2].len <= 3 && ul + sc->tok[t + 2].len < sizeof(unit)) {
			memcpy(unit + ul, sc->nm->s + sc->tok[t + 2].off, sc->tok[t + 2].len);
			ul += sc->tok[t + 2].len;
			if (unit_kind(unit, ul) == NULL)
				ul = y->len < 8 ? y->len : 8;
		}
		kind = unit_kind(unit, ul);
		if (kind != NULL)
			add_measure(sc, kind, unit, ul);
	}
}

/* ICD-10 "E11.9" and ATC "N02BE01": upper case in the original. */
void
cls_scan_code(struct scan *sc, size_t t)
{
	const struct cls_tok *x = &sc->tok[t];
	const char *s = sc->nm->s + x->off;
	const unsigned char *up = sc->nm->up + x->off;
	char shown[16];

#define AL(i) (s[i] >= 'a' && s[i] <= 'z' && up[i])
#define DG(i) (s[i] >= '0' && s[i] <= '9')
	if (x->len == 7 && AL(0) && DG(1) && DG(2) && AL(3) && AL(4) && DG(5) && DG(6)) {
		snprintf(shown, sizeof(shown), "%.7s", s);
		sc->med_extra++;
		cls_add_sig(sc, "med-atc", W_ATC, SIDE_MED, "<ATC code>", s, 7);
		return;
	}
	if (x->len == 3 && AL(0) && s[0] != 'u' && DG(1) && DG(2) &&
	    joined(sc, t, ".") && cls_tok_digits(sc, t + 1) && sc->tok[t + 1].len <= 2) {
		sc->med_extra++;
		cls_add_sig(sc, "med-icd10", W_ICD, SIDE_MED, "<ICD-10 code>", s, 3);
	}
#undef AL
#undef DG
}

int
cls_street_token(const struct scan *sc, size_t t)
{
	static const char *const suf[] = {"straat", "laan", "weg", "plein",
	    "gracht", "kade", "singel", "dijk", "dreef", "hof", "pad", "steeg",
	    "markt", "park", "baan", "wal", "erf", "hoek", "ring", "veld", NULL};
	const struct cls_tok *x = &sc->tok[t];

	for (size_t i = 0; suf[i] != NULL; i++) {
		size_t n = strlen(suf[i]);

		if (x->len >= n + 2 && memcmp(sc->nm->s + x->off + x->len - n, suf[i], n) == 0)
			return 1;
	}
	return 0;
}

/* Dutch postcode "1234 AB" after a street and house number within a few tokens. */
void
cls_scan_postcode(struct scan *sc, size_t t)
{
	const struct cls_tok *x = &sc->tok[t];
	const char *s = sc->nm->s + x->off;
	const unsigned char *up = sc->nm->up + x->off;
	int pc = 0;

	if (x->len == 4 && s[0] >= '1' && cls_tok_digits(sc, t) && t + 1 < sc->ntok &&
	    sc->tok[t + 1].len == 2 && joined(sc, t, " ")) {
		const unsigned char *u2 = sc->nm->up + sc->tok[t + 1].off;
		const char *l = sc->nm->s + sc->tok[t + 1].off;

		pc = u2[0] && u2[1] && l[0] >= 'a' && l[1] >= 'a';
	} else if (x->len == 6 && s[0] >= '1' && s[3] <= '9' && s[4] >= 'a' &&
	    s[5] >= 'a' && up[4] && up[5]) {
		pc = s[1] <= '9' && s[2] <= '9' && s[3] >= '0';
	}
	if (!pc)
		return;
	for (size_t b = 1; b <= 6 && b <= t; b++) {
		char c = sc->nm->s[sc->tok[t - b + 1].off];

		if (cls_street_token(sc, t - b) && t - b + 1 < t && c >= '0' && c <= '9') {
			cls_add_sig(sc, "address", W_ADDRESS, SIDE_PERSON, "<street> <nr> ****",
			    s, x->len);
			return;
		}
	}
}
