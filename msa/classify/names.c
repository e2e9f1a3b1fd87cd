/*
 * names.c - people: names after titles and greetings, known first names,
 * "J. de Vries", two capitalised words in a row, with the signature and
 * staff ("dr. Jansen") left out, since those are not who mail is about.
 */
#include "msa/classify/internal.h"

#include <stdio.h>
#include <string.h>

static int
is_infix(const struct scan *sc, size_t t)
{
	static const char *const inf[] = {"de", "van", "der", "den", "ten", "ter",
	    "het", "in", "t", "v", "vd", "d", NULL};

	for (size_t i = 0; inf[i] != NULL; i++)
		if (cls_tok_eq(sc, t, inf[i]))
			return 1;
	return 0;
}

static int spaced(const struct scan *sc, size_t a, size_t b);

/*
 * A lower-case word after a title that is none of our words and not one of
 * the little words that follow "mevrouw" in a sentence ("mevrouw heeft").
 */
static int
lower_name(const struct scan *sc, size_t u)
{
	static const char *const stop[] = {"heeft", "had", "is", "was", "wordt",
	    "werd", "kan", "kon", "zal", "zou", "wil", "wilde", "moet", "moest",
	    "gaat", "ging", "komt", "kwam", "belde", "zegt", "zei", "vraagt",
	    "vroeg", "en", "of", "met", "van", "die", "dat", "een", "het", "in",
	    "op", "aan", "voor", "uit", "bij", "naar", "nog", "niet", "ook", "al",
	    "zelf", "graag", "even", "wel", "dan", "om", "te", "tot", "over",
	    "has", "have", "will", "would", "can", "could", "called", "and", "or",
	    "the", "to", "of", "for", "with", "at", "on", "who", "which", "that",
	    "says", "said", "asked", "wants", "needs", "not", "also", "mevrouw",
	    "meneer", "heer", NULL};
	const struct cls_tok *x;
	struct cls_lex_hit h[4];

	if (u >= sc->ntok)
		return 0;
	x = &sc->tok[u];
	if (x->len < 3 || x->len > 20)
		return 0;
	for (uint32_t i = 0; i < x->len; i++) {
		char c = sc->nm->s[x->off + i];

		if (c < 'a' || c > 'z')
			return 0;
	}
	for (size_t i = 0; stop[i] != NULL; i++)
		if (cls_tok_eq(sc, u, stop[i]))
			return 0;
	return cls_lex_lookup(sc->nm->s, sc->tok, sc->ntok, u, h, 4) == 0;
}

static int
in_signature(const struct scan *sc, size_t t)
{
	return sc->close_at >= 0 && (long)t - sc->close_at <= SIG_ZONE;
}

/*
 * A capitalised word that can be a surname: not a number and not one of
 * our words ("Geachte Heer", "Uitslag") except first names.  In file
 * names ("wondfoto_dhr_verhagen.jpg") case says nothing: '_' before counts.
 */
int
cls_surname_at(const struct scan *sc, size_t u)
{
	const struct cls_tok *x;
	struct cls_lex_hit h[4];
	int nh;

	if (u >= sc->ntok)
		return 0;
	x = &sc->tok[u];
	if (x->len < 2 || cls_tok_digits(sc, u))
		return 0;
	if (!sc->nm->up[x->off] && !(x->off > 0 && sc->nm->s[x->off - 1] == '_'))
		return 0;
	nh = cls_lex_lookup(sc->nm->s, sc->tok, sc->ntok, u, h, 4);
	for (int i = 0; i < nh; i++)
		if (h[i].cat != CAT_FIRSTNAME)
			return 0;
	return 1;
}

/* Skip initials ("P.") and infixes ("van der") from u; returns the next token. */
static size_t
skip_initials(const struct scan *sc, size_t u, int *initials)
{
	*initials = 0;
	for (int k = 0; k < 4 && u < sc->ntok; k++, u++) {
		const struct cls_tok *x = &sc->tok[u];

		if (x->len == 1 && sc->nm->up[x->off] && !cls_tok_digits(sc, u))
			(*initials)++;
		else if (!is_infix(sc, u))
			break;
	}
	return u;
}

void
cls_add_name(struct scan *sc, size_t u, const char *code, int w)
{
	const struct cls_tok *x = &sc->tok[u];
	char shown[8];

	if (sc->names + w > CAP_NAMES)
		w = CAP_NAMES - sc->names;
	if (w <= 0)
		return;
	shown[0] = (char)(sc->nm->s[x->off] - 32);
	memcpy(shown + 1, "***", 4);
	sc->names += w;
	cls_add_sig(sc, code, w, SIDE_PERSON, shown, sc->nm->s + x->off, x->len);
}

/* Tokens close together on one line: a name follows its title directly. */
static int
near(const struct scan *sc, size_t a, size_t b)
{
	return b < sc->ntok && sc->tok[b].off <= sc->tok[a].off + sc->tok[a].len + 3 + 4 * (b - a - 1);
}

/* "mevrouw Jansen", "dhr. P. de Vries", "Ms Lindqvist". */
void
cls_on_title(struct scan *sc, size_t t, int words)
{
	int ini;
	size_t u = skip_initials(sc, t + (size_t)words, &ini);

	if (in_signature(sc, t) || (long)u <= sc->skip_until ||
	    !near(sc, t + (size_t)words - 1, u))
		return;
	if (cls_surname_at(sc, u)) {
		cls_add_name(sc, u, "name", W_NAME);
		sc->skip_until = (long)u;
	} else if (spaced(sc, u - 1, u) && lower_name(sc, u)) {
		/* Hasty notes write "dhr v leeuwen": weaker, but a person still. */
		cls_add_name(sc, u, "name", W_NAME_LC);
		sc->skip_until = (long)u;
	}
}

/* "Beste R. Peeters" is formal (a patient, a client); "Hoi Lars" is anyone. */
void
cls_on_greeting(struct scan *sc, size_t t, int words)
{
	int ini;
	size_t first = t + (size_t)words;
	size_t u = skip_initials(sc, first, &ini);

	if (!near(sc, t + (size_t)words - 1, u) || !cls_surname_at(sc, u))
		return;
	if (ini > 0) {
		cls_add_name(sc, u, "name", W_NAME);
	} else {
		cls_add_name(sc, u, "greeting-name", W_GREET_NAME);
		if (u + 1 < sc->ntok && near(sc, u, u + 1) && cls_surname_at(sc, u + 1))
			sc->skip_until = (long)u;
	}
	sc->skip_until = (long)u;
}

/* "dr. Peter Jansen", "collega Anna": staff, not the person mail is about. */
void
cls_on_staff(struct scan *sc, size_t t, int words)
{
	int ini;
	size_t u = skip_initials(sc, t + (size_t)words, &ini);

	if (!near(sc, t + (size_t)words - 1, u) || !cls_surname_at(sc, u))
		return;
	u++;
	while (u < sc->ntok && near(sc, u - 1, u) && (is_infix(sc, u) || cls_surname_at(sc, u)))
		u++;
	sc->skip_until = (long)u - 1;
}

/* Tokens a and a+1 separated by one or two spaces (or '_' in file names) only. */
static int
spaced(const struct scan *sc, size_t a, size_t b)
{
	uint32_t e = sc->tok[a].off + sc->tok[a].len;

	if (b >= sc->ntok || sc->tok[b].off - e > 2 || sc->tok[b].off == e)
		return 0;
	for (uint32_t i = e; i < sc->tok[b].off; i++)
		if (sc->nm->s[i] != ' ' && sc->nm->s[i] != '_')
			return 0;
	return 1;
}

/* Capitalised then lower case letters only: "Bennett", not "MRI" or "iPad". */
int
cls_proper_word(const struct scan *sc, size_t u)
{
	const struct cls_tok *x = &sc->tok[u];

	if (x->len < 3 || !sc->nm->up[x->off])
		return 0;
	for (uint32_t i = 1; i < x->len; i++) {
		char c = sc->nm->s[x->off + i];

		if (sc->nm->up[x->off + i] || c < 'a' || c > 'z')
			return 0;
	}
	return 1;
}

/*
 * Two proper words in a row ("Ollie Bennett", "Jolien van den Heuvel"),
 * neither of them one of our words: likely a person's name.  Returns the
 * tokens consumed.
 */
size_t
cls_scan_capname(struct scan *sc, size_t t)
{
	size_t u = t + 1;

	if ((long)t <= sc->skip_until || in_signature(sc, t) || !cls_proper_word(sc, t))
		return 1;
	while (u < sc->ntok && u < t + 3 && near(sc, u - 1, u) && is_infix(sc, u))
		u++;
	if (u >= sc->ntok || !spaced(sc, u - 1, u) || !cls_proper_word(sc, u) || is_infix(sc, u))
		return 1;
	if (!cls_surname_at(sc, u))
		return 1;
	/* Title Case runs are headings and organisations, not people. */
	if ((t > 0 && spaced(sc, t - 1, t) && cls_proper_word(sc, t - 1)) ||
	    (u + 1 < sc->ntok && spaced(sc, u, u + 1) && cls_proper_word(sc, u + 1)))
		return u - t + 1;
	/* Street names and organisations end in words like "straat", "praktijk". */
	if (cls_street_token(sc, u))
		return 1;
	cls_add_name(sc, t, "capname", W_CAPNAME);
	sc->skip_until = (long)u;
	return u - t + 1;
}

/* "J. de Vries", "A.M. Bakker": initials then a surname, outside a signature. */
size_t
cls_scan_initials(struct scan *sc, size_t t)
{
	int ini;
	size_t u;
	uint32_t e = sc->tok[t].off + 1;

	if ((long)t <= sc->skip_until || in_signature(sc, t) || !sc->nm->up[sc->tok[t].off] ||
	    e >= sc->nm->n || sc->nm->s[e] != '.')
		return 1;
	u = skip_initials(sc, t, &ini);
	if (!near(sc, u - 1, u) || !cls_proper_word(sc, u) || !cls_surname_at(sc, u))
		return 1;
	cls_add_name(sc, u, "name", W_NAME);
	sc->skip_until = (long)u;
	return u - t + 1;
}

/* A known first name, capitalised, outside greeting and signature. */
void
cls_on_firstname(struct scan *sc, size_t t)
{
	int ini;
	size_t u;

	if (!sc->nm->up[sc->tok[t].off] || (long)t <= sc->skip_until || in_signature(sc, t))
		return;
	u = skip_initials(sc, t + 1, &ini);
	if (near(sc, t, u) && cls_surname_at(sc, u)) {
		cls_add_name(sc, t, "name", W_NAME);
		sc->skip_until = (long)u;
		return;
	}
	cls_add_name(sc, t, "firstname", W_FIRSTNAME);
}
