/*
 * text.c - HTML to text and the normalised form the signal scanners read.
 */
#include "msa/classify/internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int
cls_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

size_t
cls_utf8_put(unsigned long cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp >= 0xd800 && cp < 0xe000)
		cp = 0xfffd;
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	if (cp > 0x10ffff)
		cp = 0xfffd;
	if (cp == 0xfffd)
		return cls_utf8_put(cp, out);
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The named entities that matter for Dutch and English text. */
static const struct { const char *name; unsigned short cp; } entities[] = {
	{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''},
	{"nbsp", ' '}, {"eacute", 0xe9}, {"Eacute", 0xc9}, {"euml", 0xeb},
	{"Euml", 0xcb}, {"egrave", 0xe8}, {"ecirc", 0xea}, {"iuml", 0xef},
	{"Iuml", 0xcf}, {"ouml", 0xf6}, {"Ouml", 0xd6}, {"uuml", 0xfc},
	{"Uuml", 0xdc}, {"auml", 0xe4}, {"Auml", 0xc4}, {"agrave", 0xe0},
	{"aacute", 0xe1}, {"acirc", 0xe2}, {"ccedil", 0xe7}, {"oacute", 0xf3},
	{"ocirc", 0xf4}, {"iacute", 0xed}, {"icirc", 0xee}, {"uacute", 0xfa},
	{"ucirc", 0xfb}, {"ntilde", 0xf1}, {"szlig", 0xdf}, {"micro", 0xb5},
	{"deg", 0xb0}, {"middot", 0xb7}, {"ndash", 0x2013}, {"mdash", 0x2014},
	{"euro", 0x20ac}, {"hellip", 0x2026}, {"rsquo", 0x2019}, {"lsquo", 0x2018},
	{"ldquo", 0x201c}, {"rdquo", 0x201d}, {"shy", 0xad}, {"copy", 0xa9},
};

/* Decode the entity at s[0]=='&'; returns bytes consumed, 0 if none. */
static size_t
entity(const char *s, size_t n, unsigned long *cp)
{
	size_t i = 1;

	if (n > 2 && s[1] == '#') {
		unsigned long v = 0;
		int hex = s[2] == 'x' || s[2] == 'X';

		i = hex ? 3 : 2;
		for (; i < n && i < 12; i++) {
			char c = s[i];
			int dv = hex ? cls_hexval(c) : c >= '0' && c <= '9' ? c - '0' : -1;

			if (dv < 0)
				break;
			v = v * (hex ? 16 : 10) + (unsigned long)dv;
			if (v > 0x10ffff)
				v = 0xfffd;
		}
		if (i == (size_t)(hex ? 3 : 2))
			return 0;
		if (i < n && s[i] == ';')
			i++;
		*cp = v == 0 ? 0xfffd : v;
		return i;
	}
	for (size_t e = 0; e < sizeof(entities) / sizeof(entities[0]); e++) {
		size_t l = strlen(entities[e].name);

		if (l + 1 < n && memcmp(s + 1, entities[e].name, l) == 0 &&
		    s[l + 1] == ';') {
			*cp = entities[e].cp;
			return l + 2;
		}
	}
	return 0;
}

/* Does the tag at s ('<' at s[0]) start with name (case-insensitive)? */
static int
tag_is(const char *s, size_t n, const char *name)
{
	size_t l = strlen(name);

	return n > l + 1 && strncasecmp(s + 1, name, l) == 0 &&
	    (s[l + 1] == '>' || s[l + 1] == ' ' || s[l + 1] == '\t' ||
	    s[l + 1] == '\n' || s[l + 1] == '\r' || s[l + 1] == '/');
}

/* Find the end of an element's content: "</name" case-insensitively. */
static size_t
skip_to_close(const char *s, size_t n, size_t i, const char *name)
{
	size_t l = strlen(name);

	for (; i + l + 2 <= n; i++)
		if (s[i] == '<' && s[i + 1] == '/' && strncasecmp(s + i + 2, name, l) == 0)
			return i;
	return n;
}

int
cls_html_to_text(struct cls_buf *out, const char *s, size_t n)
{
	char tmp[1024];
	size_t k = 0, i = 0;
	int err = 0;

#define FLUSH() do { if (k > 0 && cls_buf_add(out, tmp, k) != 0) err = 1; k = 0; } while (0)
	while (i < n) {
		if (k + 8 > sizeof(tmp))
			FLUSH();
		if (s[i] == '<') {
			if (i + 4 <= n && memcmp(s + i, "<!--", 4) == 0) {
				const char *e = memmem(s + i + 4, n - i - 4, "-->", 3);

				i = e ? (size_t)(e - s) + 3 : n;
				continue;
			}
			if (tag_is(s + i, n - i, "script") || tag_is(s + i, n - i, "style")) {
				const char *name = tag_is(s + i, n - i, "script") ? "script" : "style";

				i = skip_to_close(s, n, i + 1, name);
			}
			/* Drop the tag; a space keeps words in separate cells apart. */
			while (i < n && s[i] != '>')
				i++;
			if (i < n)
				i++;
			tmp[k++] = ' ';
			continue;
		}
		if (s[i] == '&') {
			unsigned long cp;
			size_t used = entity(s + i, n - i, &cp);

			if (used > 0) {
				k += cls_utf8_put(cp, tmp + k);
				i += used;
				continue;
			}
		}
		tmp[k++] = s[i++];
	}
	FLUSH();
#undef FLUSH
	explicit_bzero(tmp, sizeof(tmp));	/* message text */
	return err ? -1 : 0;
}

/*
 * Folding of U+00C0..U+017F to a base letter ('\0' = not a letter).
 * Latin-1 supplement first, then Latin Extended-A.
 */
static const char fold_c0[64] =
	"aaaaaaaceeeeiiii" "dnooooo ouuuuyts"	/* C0..DF (D7 x, DE thorn, DF sz) */
	"aaaaaaaceeeeiiii" "dnooooo ouuuuyty";	/* E0..FF */
static const char fold_100[128] =
	"aaaaaaccccccccdd" "ddeeeeeeeeeegggg"
	"gggghhhhiiiiiiii" "iiiijjkkklllllll"
	"lllnnnnnnnnnoooo" "oooorrrrrrssssss"
	"ssttttttuuuuuuuu" "uuuuwwyyyzzzzzzs";

/* Decode one UTF-8 sequence; returns length (1 for invalid bytes). */
static size_t
utf8_get(const unsigned char *s, size_t n, unsigned long *cp)
{
	unsigned char c = s[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c < 0xe0 && n >= 2 && (s[1] & 0xc0) == 0x80) {
		*cp = ((unsigned long)(c & 0x1f) << 6) | (s[1] & 0x3f);
		return 2;
	}
	if (c >= 0xe0 && c < 0xf0 && n >= 3 && (s[1] & 0xc0) == 0x80 &&
	    (s[2] & 0xc0) == 0x80) {
		*cp = ((unsigned long)(c & 0x0f) << 12) |
		    ((unsigned long)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
		return 3;
	}
	if (c >= 0xf0 && c < 0xf5 && n >= 4 && (s[1] & 0xc0) == 0x80 &&
	    (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80) {
		*cp = 0x10000;		/* outside what we fold: not a letter */
		return 4;
	}
	*cp = 0xfffd;
	return 1;
}

/* Fold one code point: sets *low to the ASCII letter/char and *up. */
static void
fold_cp(unsigned long cp, char *low, int *up)
{
	*up = 0;
	if (cp < 0x80) {
		char c = (char)cp;

		if (c >= 'A' && c <= 'Z') {
			*up = 1;
			c = (char)(c - 'A' + 'a');
		} else if (c == '\t' || c == '\r' || c == '\0') {
			c = ' ';
		}
		*low = c;
		return;
	}
	if (cp == 0xb5) {
		*low = 'u';		/* micro sign: "ug" for micrograms */
		return;
	}
	if (cp >= 0xc0 && cp < 0x100 && cp != 0xd7 && cp != 0xf7) {
		*low = fold_c0[cp - 0xc0];
		*up = cp < 0xe0 && cp != 0xdf;
		return;
	}
	if (cp >= 0x100 && cp < 0x180) {
		*low = fold_100[cp - 0x100];
		*up = (cp & 1) == 0;	/* Extended-A pairs upper/lower mostly */
		return;
	}
	if (cp == 0x3bc) {
		*low = 'u';		/* Greek mu used as micro */
		return;
	}
	/* Dashes and quotes become their ASCII forms so date/number scanning sees them. */
	if (cp >= 0x2010 && cp <= 0x2015) {
		*low = '-';
		return;
	}
	*low = ' ';
}

int
cls_normalize(struct cls_norm *out, const char *utf8, size_t n)
{
	const unsigned char *s = (const unsigned char *)utf8;
	size_t i = 0, k = 0;

	out->s = malloc(n + 1);
	out->up = malloc(n + 1);
	out->n = 0;
	if (out->s == NULL || out->up == NULL) {
		cls_norm_free(out);
		return -1;
	}
	while (i < n) {
		unsigned long cp;
		int up;
		char low;

		if (s[i] < 0x80) {
			/* Fast path: ASCII. */
			unsigned char c = s[i++];

			up = c >= 'A' && c <= 'Z';
			low = up ? (char)(c + 32) : (c == '\t' || c == '\r' || c == 0 ? ' ' : (char)c);
		} else {
			i += utf8_get(s + i, n - i, &cp);
			fold_cp(cp, &low, &up);
		}
		out->s[k] = low;
		out->up[k] = (unsigned char)up;
		k++;
	}
	out->s[k] = '\0';
	out->up[k] = 0;
	out->n = k;
	return 0;
}

void
cls_norm_free(struct cls_norm *nm)
{
	/* Folded message text: wiped like every other copy of it. */
	if (nm->s != NULL)
		explicit_bzero(nm->s, nm->n + 1);
	if (nm->up != NULL)
		explicit_bzero(nm->up, nm->n + 1);
	free(nm->s);
	free(nm->up);
	nm->s = NULL;
	nm->up = NULL;
	nm->n = 0;
}

size_t
cls_fold(const char *in, char *out, size_t outlen)
{
	struct cls_norm nm;
	size_t n;

	if (outlen == 0)
		return 0;
	if (cls_normalize(&nm, in, strlen(in)) != 0) {
		out[0] = '\0';
		return 0;
	}
	n = nm.n < outlen - 1 ? nm.n : outlen - 1;
	memcpy(out, nm.s, n);
	out[n] = '\0';
	cls_norm_free(&nm);
	return n;
}
