/*
 * test_outbound_rewrite.c - R-HDR-1..4 and R-CLS-2 on raw header bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "outbound/rewrite.h"

/* The spec's list (R-HDR-2), typed again here on purpose: an independent copy. */
static const char *const spec_list[] = {
	"Accept-Language", "Apparently-To", "ARC-Authentication-Results",
	"ARC-Message-Signature", "ARC-Seal", "Base", "Content-Base",
	"Content-Language", "DL-Expansion-History", "Downgraded-Bcc",
	"Downgraded-Cc", "Downgraded-Disposition-Notification-To",
	"Downgraded-From", "Downgraded-Mail-From", "Downgraded-Rcpt-To",
	"Downgraded-Reply-To", "Downgraded-Resent-Bcc", "Downgraded-Resent-Cc",
	"Downgraded-Resent-From", "Downgraded-Resent-Reply-To",
	"Downgraded-Resent-Sender", "Downgraded-Resent-To",
	"Downgraded-Return-Path", "Downgraded-Sender", "Downgraded-To",
	"EDIINT-Features", "Eesst-Version", "Errors-To", "Form-Sub", "Jabber-ID",
	"Language", "List-Archive", "List-Help", "List-ID", "List-Owner",
	"List-Post", "List-Subscribe", "List-Unsubscribe",
	"List-Unsubscribe-Post", "MMHS-Acp127-Message-Identifier",
	"MMHS-Authorizing-Users", "MMHS-Codress-Message-Indicator",
	"MMHS-Copy-Precedence", "MMHS-Exempted-Address",
	"MMHS-Extended-Authorisation-Info", "MMHS-Handling-Instructions",
	"MMHS-Message-Instructions", "MMHS-Message-Type", "MMHS-Originator-PLAD",
	"MMHS-Originator-Reference", "MMHS-Other-Recipients-Indicator-CC",
	"MMHS-Other-Recipients-Indicator-To", "MMHS-Primary-Precedence",
	"MMHS-Subject-Indicator-Codes", "Organization", "Privicon",
	"Resent-Reply-To", "SIO-Label", "SIO-Label-History", "X-Archived-At",
	"X-Mittente", "X-Ricevuta", "X-Riferimento-Message-ID", "X-TipoRicevuta",
	"X-Trasporto", "X-VerificaSicurezza", "X400-Content-Identifier",
	"X400-Content-Return", "X400-Content-Type", "X400-MTS-Identifier",
	"X400-Originator", "X400-Received", "X400-Recipients", "X400-Trace",
};
#define NSPEC (sizeof(spec_list) / sizeof(spec_list[0]))

static const struct out_rw_opts nta_ok = {
	.nta_channel = 1, .sender_compliant = 1, .provider_id = "ntamsa-test-provider",
};
static const struct out_rw_opts nta_noncompliant = {
	.nta_channel = 1, .sender_compliant = 0, .provider_id = "ntamsa-test-provider",
};
static const struct out_rw_opts regular = {
	.nta_channel = 0, .sender_compliant = 1, .provider_id = "ntamsa-test-provider",
};

/* Rewrite msg (header + body); return malloc'd result, check body bytes. */
static char *
rewrite_msg(const char *msg, size_t len, const struct out_rw_opts *o, size_t *olen)
{
	size_t hl, cap, n;
	char *out;

	assert_int_equal(out_rw_header_len(msg, len, &hl), OUT_RW_OK);
	cap = hl + out_rw_extra(o);
	out = malloc(cap + (len - hl) + 1);
	assert_non_null(out);
	assert_int_equal(out_rw_header(msg, hl, o, out, cap, &n), OUT_RW_OK);
	/* The body passes through: appended untouched by the caller. */
	memcpy(out + n, msg + hl, len - hl);
	*olen = n + (len - hl);
	out[*olen] = '\0';
	return out;
}

/* Count fields named name (case-insensitive, at line start) in the header. */
static int
count_field(const char *m, const char *name)
{
	const char *p = m, *end = strstr(m, "\r\n\r\n");
	size_t k = strlen(name);
	int n = 0;

	if (end == NULL)
		end = m + strlen(m);
	while (p < end) {
		if (strncasecmp(p, name, k) == 0 && (p[k] == ':' || p[k] == ' '))
			n++;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	return n;
}

static const char body[] =
    "MIME-Version: 1.0\r\n"		/* looks like a header, is body */
    "Organization: part header stays\r\n"
    "X-NTA7516: body text\r\n"
    "\r\n"
    "Uitslag \xc3\xa9\xc3\xa9n  \t\r\n"
    "trailing spaces   \r\n"
    "\r\n\r\n";

static void
test_every_bijlage_a_removed(void **state)
{
	size_t i, v, olen;
	char msg[8192];

	(void)state;
	assert_int_equal(NSPEC, 74);
	for (i = 0; i < NSPEC; i++) {
		for (v = 0; v < 4; v++) {
			char name[128], *out;
			int len;

			snprintf(name, sizeof(name), "%s", spec_list[i]);
			if (v == 1)		/* lower case */
				for (char *c = name; *c; c++)
					*c = (char)(*c | 0x20);
			if (v == 2)		/* upper case */
				for (char *c = name; *c; c++)
					if (*c >= 'a' && *c <= 'z')
						*c = (char)(*c - 32);
			len = snprintf(msg, sizeof(msg),
			    "From: a@zorg.example\r\n"
			    "%s%s: value one\r\n"
			    "\tcontinued secret line\r\n"
			    "  and another\r\n"
			    "To: b@ontvanger.example\r\n"
			    "\r\n%s", name, v == 3 ? " " : "", body);
			assert_true(len > 0 && (size_t)len < sizeof(msg));
			out = rewrite_msg(msg, (size_t)len, &nta_ok, &olen);
			if (count_field(out, spec_list[i]) != 0 ||
			    strstr(out, "continued secret") != NULL ||
			    strstr(out, "and another") != NULL) {
				fprintf(stderr, "%s variant %zu: got field kept, want removed\n",
				    spec_list[i], v);
				fail();
			}
			assert_non_null(strstr(out, "From: a@zorg.example\r\n"
			    "To: b@ontvanger.example\r\n\r\n"));
			assert_true(out_rw_is_bijlage_a(name, strlen(name)));
			free(out);
		}
	}
	assert_false(out_rw_is_bijlage_a("Subject", 7));
	assert_false(out_rw_is_bijlage_a("List", 4));
	assert_false(out_rw_is_bijlage_a("List-IDs", 8));
}

static const char sample[] =
    "Received: from client by msa; Mon, 23 Nov 2026 10:00:00 +0100\r\n"
    "From: \"Dr. Jansen\" <jansen@zorg.example>\r\n"
    "To: patient@ontvanger.example\r\n"
    "Subject: [Veilig]  Uitslag\r\n"
    " onderzoek\r\n"
    "X-NTA7516: forged-by-client\r\n"
    "x-nta7516-classify: clean\r\n"
    "X-NTA7516-Phone: +31600000000\r\n"
    "X-NTA7516-Access-Code: 1234\r\n"
    "X-NTA7516Other: kept\r\n"
    "Organization: Huisartsenpraktijk\r\n"
    "List-Id: <x.example>\r\n"
    "X-Custom-Strip: operator wants it gone\r\n"
    "Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
    "Message-ID: <1@zorg.example>\r\n"
    "\r\n";

static char *
sample_with_body(size_t *len)
{
	char *m = malloc(sizeof(sample) + sizeof(body));

	assert_non_null(m);
	memcpy(m, sample, sizeof(sample) - 1);
	memcpy(m + sizeof(sample) - 1, body, sizeof(body));
	*len = sizeof(sample) - 1 + sizeof(body) - 1;
	return m;
}

static void
test_nta_channel(void **state)
{
	size_t len, olen;
	char *m = sample_with_body(&len), *out;
	static const char want[] =
	    "X-NTA7516: ntamsa-test-provider\r\n"
	    "Received: from client by msa; Mon, 23 Nov 2026 10:00:00 +0100\r\n"
	    "From: \"Dr. Jansen\" <jansen@zorg.example>\r\n"
	    "To: patient@ontvanger.example\r\n"
	    "Subject: Uitslag\r\n"
	    " onderzoek\r\n"
	    "X-NTA7516Other: kept\r\n"
	    "X-Custom-Strip: operator wants it gone\r\n"
	    "Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
	    "Message-ID: <1@zorg.example>\r\n"
	    "\r\n";

	(void)state;
	out = rewrite_msg(m, len, &nta_ok, &olen);
	assert_int_equal(olen, sizeof(want) - 1 + sizeof(body) - 1);
	assert_memory_equal(out, want, sizeof(want) - 1);
	/* R-HDR-3: body byte-identical, MIME-looking lines in it untouched. */
	assert_memory_equal(out + sizeof(want) - 1, body, sizeof(body) - 1);
	assert_int_equal(count_field(out, "X-NTA7516"), 1);
	free(out);
	free(m);
}

static void
test_operator_extra(void **state)
{
	struct config_list extra = {.n = 1, .v = {"x-custom-strip"}};
	struct out_rw_opts o = nta_ok;
	size_t len, olen;
	char *m = sample_with_body(&len), *out;

	(void)state;
	o.extra_strip = &extra;
	out = rewrite_msg(m, len, &o, &olen);
	assert_null(strstr(out, "X-Custom-Strip"));
	free(out);
	/* The operator's list applies on NTA channels only, like Bijlage A. */
	o.nta_channel = 0;
	out = rewrite_msg(m, len, &o, &olen);
	assert_non_null(strstr(out, "X-Custom-Strip: operator wants it gone\r\n"));
	free(out);
	free(m);
}

static void
test_noncompliant_sender(void **state)
{
	size_t len, olen;
	char *m = sample_with_body(&len), *out;

	(void)state;
	out = rewrite_msg(m, len, &nta_noncompliant, &olen);
	/* Bijlage D casus A: no X-NTA7516 for a non-compliant sender, and
	 * the client's forged one is still gone. */
	assert_int_equal(count_field(out, "X-NTA7516"), 0);
	assert_null(strstr(out, "forged-by-client"));
	assert_int_equal(count_field(out, "Organization"), 0);
	free(out);
	free(m);
}

static void
test_regular_channel(void **state)
{
	size_t len, olen;
	char *m = sample_with_body(&len), *out;
	static const char want[] =
	    "Received: from client by msa; Mon, 23 Nov 2026 10:00:00 +0100\r\n"
	    "From: \"Dr. Jansen\" <jansen@zorg.example>\r\n"
	    "To: patient@ontvanger.example\r\n"
	    "Subject: Uitslag\r\n"
	    " onderzoek\r\n"
	    "X-NTA7516Other: kept\r\n"
	    "Organization: Huisartsenpraktijk\r\n"
	    "List-Id: <x.example>\r\n"
	    "X-Custom-Strip: operator wants it gone\r\n"
	    "Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
	    "Message-ID: <1@zorg.example>\r\n"
	    "\r\n";

	(void)state;
	out = rewrite_msg(m, len, &regular, &olen);
	assert_int_equal(olen, sizeof(want) - 1 + sizeof(body) - 1);
	assert_memory_equal(out, want, sizeof(want) - 1);
	assert_memory_equal(out + sizeof(want) - 1, body, sizeof(body) - 1);
	free(out);
	free(m);
}

struct subj_case {
	const char *in, *want;
};

static void
test_subject_tag(void **state)
{
	static const struct subj_case cases[] = {
		{"Subject: [veilig] Uitslag\r\n", "Subject: Uitslag\r\n"},
		{"Subject: [SECURE]Uitslag\r\n", "Subject: Uitslag\r\n"},
		{"subject:\t[Secure] \t x\r\n", "subject:\tx\r\n"},
		{"Subject: Re: [veilig] Uitslag\r\n", "Subject: Re: [veilig] Uitslag\r\n"},
		{"Subject: Uitslag [veilig]\r\n", "Subject: Uitslag [veilig]\r\n"},
		{"Subject: [veilig] [secure] x\r\n", "Subject: [secure] x\r\n"},
		{"Subject: [veilig]\r\n", "Subject: \r\n"},
		{"Subject: [veili] x\r\n", "Subject: [veili] x\r\n"},
		{"Subject: x\n", "Subject: x\n"},	/* bare LF kept as is */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char in[256], out[256];
		size_t n, olen;

		n = (size_t)snprintf(in, sizeof(in), "%s\r\n", cases[i].in);
		assert_int_equal(out_rw_header(in, n, &regular, out, sizeof(out), &olen), 0);
		out[olen] = '\0';
		if (olen != strlen(cases[i].want) + 2 ||
		    memcmp(out, cases[i].want, olen - 2) != 0) {
			fprintf(stderr, "case %zu: got \"%s\", want \"%s\"\n", i, out,
			    cases[i].want);
			fail();
		}
	}
}

static void
test_errors(void **state)
{
	char out[64];
	size_t olen, hl;
	struct out_rw_opts bad = nta_ok;
	static const char h[] = "From: a@b.example\r\nSubject: x\r\n\r\n";
	char *big;

	(void)state;
	assert_int_equal(out_rw_header(h, sizeof(h) - 1, &nta_ok, out, 20, &olen),
	    OUT_RW_ESPACE);
	bad.provider_id = "evil\r\nBcc: x@y";
	assert_int_equal(out_rw_header(h, sizeof(h) - 1, &bad, out, sizeof(out), &olen),
	    OUT_RW_EINVAL);
	/* A leading continuation line belongs to no field: dropped. */
	{
		static const char lead[] = " X-NTA7516: forged\r\n\tmore\r\nFrom: a@b.example\r\n\r\n";

		assert_int_equal(out_rw_header(lead, sizeof(lead) - 1, &regular, out,
		    sizeof(out), &olen), 0);
		assert_int_equal(olen, sizeof("From: a@b.example\r\n\r\n") - 1);
		assert_memory_equal(out, "From: a@b.example\r\n\r\n", olen);
	}
	/* Header length forms. */
	assert_int_equal(out_rw_header_len(h, sizeof(h) - 1, &hl), 0);
	assert_int_equal(hl, sizeof(h) - 1);
	assert_int_equal(out_rw_header_len("A: b\n\nbody", 10, &hl), 0);
	assert_int_equal(hl, 6);
	assert_int_equal(out_rw_header_len("A: b\r\nC: d\r\n", 12, &hl), 0);
	assert_int_equal(hl, 12);
	assert_int_equal(out_rw_header_len("A: b\r\nC: d", 10, &hl), OUT_RW_ETOOBIG);
	big = malloc(OUT_HDR_MAX + 100);
	assert_non_null(big);
	memset(big, 'a', OUT_HDR_MAX + 100);
	big[0] = 'X';
	big[1] = ':';
	assert_int_equal(out_rw_header_len(big, OUT_HDR_MAX + 100, &hl), OUT_RW_ETOOBIG);
	free(big);
}

struct from_case {
	const char *hdr, *want;		/* want NULL = error */
};

static void
test_from_domain(void **state)
{
	static const struct from_case cases[] = {
		{"From: a@Zorg.Example\r\n\r\n", "zorg.example"},
		{"To: x@y.example\r\nFROM: \"Jan, <arts>\" <jan@zorg.example>\r\n\r\n", "zorg.example"},
		{"From: jan@zorg.example (Dr. Jan @ home)\r\n\r\n", "zorg.example"},
		{"From: \"a@b\"@zorg.example\r\n\r\n", "zorg.example"},
		{"From: Jan\r\n <jan@gevouwen.example>\r\n\r\n", "gevouwen.example"},
		{"From: a@first.example, b@second.example\r\n\r\n", "first.example"},
		{"From: nobody\r\n\r\n", NULL},
		{"To: a@b.example\r\n\r\n", NULL},
		{"From: a@\r\n\r\n", NULL},
		{"From: a@.example\r\n\r\n", NULL},
		{"Subject: x\r\n\r\nFrom: a@body.example\r\n", NULL},
		{"From: a@z\xc3\xb6rg.example\r\n\r\n", NULL},
		{"From: <a@z\xc3\xb6rg.example>\r\n\r\n", NULL},
		{"From: a@[127.0.0.1]\r\n\r\n", NULL},
		{"From: a@zorg.example;x\r\n\r\n", NULL},
		{"From: <a@zorg.example> (comment)\r\n\r\n", "zorg.example"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char d[256];
		int rc = out_rw_from_domain(cases[i].hdr, strlen(cases[i].hdr), d, sizeof(d));

		if (cases[i].want == NULL) {
			if (rc != OUT_RW_EINVAL) {
				fprintf(stderr, "case %zu: got %s, want error\n", i, d);
				fail();
			}
		} else if (rc != 0 || strcmp(d, cases[i].want) != 0) {
			fprintf(stderr, "case %zu: got %d \"%s\", want \"%s\"\n", i, rc,
			    rc == 0 ? d : "", cases[i].want);
			fail();
		}
	}
}


/* ---- properties over random header blocks -------------------------- */

static const char *const vocab[] = {
	"From", "To", "Cc", "Date", "Message-ID", "Received", "Subject",
	"X-NTA7516", "X-NTA7516-Classify", "X-NTA7516-Phone", "X-NTA7516-Access-Code",
	"X-NTA7516Other", "Organization", "List-Unsubscribe-Post", "ARC-Seal",
	"X400-Trace", "Language", "Content-Language", "Content-Type", "X-Mailer",
	"Keywords", "Base", "Basement",
};

/* Field names of a header block, in order, with their byte ranges. */
struct fld {
	const char *p;
	size_t len, nlen;
};

static size_t
split_fields(const char *h, size_t len, struct fld *f, size_t max)
{
	size_t off = 0, n = 0;

	while (off < len && n < max) {
		const char *nl = memchr(h + off, '\n', len - off);
		size_t start = off, l = (size_t)(nl - (h + off)) + 1;
		const char *colon;

		if (l == 2 && h[off] == '\r')
			break;
		off += l;
		while (off < len && (h[off] == ' ' || h[off] == '\t')) {
			nl = memchr(h + off, '\n', len - off);
			off = (size_t)(nl - h) + 1;
		}
		colon = memchr(h + start, ':', off - start);
		f[n].p = h + start;
		f[n].len = off - start;
		f[n].nlen = (size_t)(colon - (h + start));
		while (f[n].nlen > 0 && f[n].p[f[n].nlen - 1] == ' ')
			f[n].nlen--;	/* "Name :" is the field Name */
		n++;
	}
	return n;
}

static int
dropped_name(const char *p, size_t n, int nta)
{
	if (n >= 9 && strncasecmp(p, "X-NTA7516", 9) == 0 && (n == 9 || p[9] == '-'))
		return 1;
	return nta && out_rw_is_bijlage_a(p, n);
}

static void
test_random_properties(void **state)
{
	unsigned int seed = 42;
	int round;

	(void)state;
	for (round = 0; round < 2000; round++) {
		char in[4096], out[4096], again[4096], name[64];
		size_t len = 0, ol, al, ni, no, i, j, nf = 1 + (size_t)(rand_r(&seed) % 12);
		struct fld fi[16], fo[16];
		struct out_rw_opts o = {.nta_channel = rand_r(&seed) % 2,
		    .sender_compliant = rand_r(&seed) % 2, .provider_id = "prov-1"};
		int want_nta = o.nta_channel && o.sender_compliant, seen_nta = 0;

		for (i = 0; i < nf; i++) {
			const char *v = vocab[rand_r(&seed) % (sizeof(vocab) / sizeof(vocab[0]))];
			size_t k;

			for (k = 0; v[k] != '\0' && k + 1 < sizeof(name); k++)
				name[k] = rand_r(&seed) % 3 == 0 ? (char)(v[k] ^ 0x20 * (v[k] >= 'A' &&
				    ((v[k] | 0x20) >= 'a' && (v[k] | 0x20) <= 'z'))) : v[k];
			name[k] = '\0';
			len += (size_t)snprintf(in + len, sizeof(in) - len, "%s%s: value %u%s\r\n",
			    name, rand_r(&seed) % 5 == 0 ? " " : "", rand_r(&seed) % 1000,
			    rand_r(&seed) % 4 == 0 ? "\r\n\tfolded part" : "");
		}
		len += (size_t)snprintf(in + len, sizeof(in) - len, "\r\n");
		assert_int_equal(out_rw_header(in, len, &o, out, sizeof(out), &ol), 0);
		assert_true(ol <= len + out_rw_extra(&o));
		assert_memory_equal(out + ol - 2, "\r\n", 2);
		ni = split_fields(in, len, fi, 16);
		no = split_fields(out, ol, fo, 16);
		/* Kept fields: byte-identical (Subject may lose its tag), in order. */
		for (i = 0, j = 0; i < no; i++) {
			if (fo[i].nlen == 9 && strncmp(fo[i].p, "X-NTA7516", 9) == 0) {
				assert_true(want_nta && i == 0);
				assert_int_equal(fo[i].len, sizeof("X-NTA7516: prov-1\r\n") - 1);
				seen_nta++;
				continue;
			}
			assert_false(dropped_name(fo[i].p, fo[i].nlen, o.nta_channel));
			while (j < ni && dropped_name(fi[j].p, fi[j].nlen, o.nta_channel))
				j++;
			assert_true(j < ni);
			assert_int_equal(fo[i].len, fi[j].len);
			assert_memory_equal(fo[i].p, fi[j].p, fi[j].len);
			j++;
		}
		while (j < ni && dropped_name(fi[j].p, fi[j].nlen, o.nta_channel))
			j++;
		assert_int_equal(j, ni);		/* nothing else was lost */
		assert_int_equal(seen_nta, want_nta);
		/* Idempotent: a second pass changes nothing. */
		assert_int_equal(out_rw_header(out, ol, &o, again, sizeof(again), &al), 0);
		assert_int_equal(al, ol);
		assert_memory_equal(again, out, ol);
	}
}

/* Arbitrary bytes (NUL, lone CR, no colon, no end): no crash, no overrun
 * (ASan watches), output bounded, and a header block always found or refused. */
static void
test_garbage(void **state)
{
	static const char alphabet[] = "a:X-NTA7516 \t\r\n\r\n\0<>@\"(),.[veilig]Subject";
	unsigned int seed = 1;
	int round;

	(void)state;
	for (round = 0; round < 5000; round++) {
		size_t n = (size_t)(rand_r(&seed) % 300), i, hl, ol, cap;
		char *in = malloc(n + 1), *out, dom[64];
		struct out_rw_opts o = nta_ok;
		int rc;

		assert_non_null(in);
		for (i = 0; i < n; i++)
			in[i] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		o.nta_channel = round % 2;
		rc = out_rw_header_len(in, n, &hl);
		assert_true(rc == OUT_RW_OK || rc == OUT_RW_ETOOBIG);
		if (rc != OUT_RW_OK)
			hl = n;
		assert_true(hl <= n);
		cap = hl + out_rw_extra(&o);
		out = malloc(cap + 1);
		assert_non_null(out);
		rc = out_rw_header(in, hl, &o, out, cap, &ol);
		assert_int_equal(rc, OUT_RW_OK);
		assert_true(ol <= cap);
		(void)out_rw_from_domain(in, hl, dom, sizeof(dom));
		free(out);
		free(in);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_bijlage_a_removed),
		cmocka_unit_test(test_nta_channel),
		cmocka_unit_test(test_operator_extra),
		cmocka_unit_test(test_noncompliant_sender),
		cmocka_unit_test(test_regular_channel),
		cmocka_unit_test(test_subject_tag),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_from_domain),
		cmocka_unit_test(test_random_properties),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
