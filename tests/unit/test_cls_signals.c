/* test_cls_signals.c - each signal family, the combined decision, the
 * sender's choice (R-CLS-2), and the compiled-in lexicon being in sync. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msa/classify/classify.h"

static struct cls_result
run(const char *headers, const char *body, const struct cls_options *o)
{
	char msg[8192];
	struct cls_result r;
	int n = snprintf(msg, sizeof(msg), "From: a@example.nl\r\nTo: b@example.nl\r\n"
	    "%s\r\n%s\r\n", headers, body);

	assert_true(n > 0 && (size_t)n < sizeof(msg));
	assert_int_equal(cls_classify(msg, (size_t)n, o, &r), 0);
	return r;
}

static int
has_reason(const struct cls_result *r, const char *code)
{
	size_t n = strlen(code);

	for (const char *p = r->reasons; (p = strstr(p, code)) != NULL; p += n)
		if ((p == r->reasons || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

struct scase {
	const char *body;
	const char *code;		/* reason code expected */
};

/* One line each: the family's code must show up. */
static const struct scase families[] = {
	{"Geboortedatum: 12-03-1965", "dob"},
	{"geb. 3 maart 1971", "dob"},
	{"DOB 1980-07-14", "dob"},
	{"Date of birth: March 4, 1962", "dob"},
	{"Patientnummer: 4471823", "patient-id"},
	{"dossiernr. AB-20931", "patient-id"},
	{"Kerkstraat 12\r\n1234 AB Utrecht", "address"},
	{"Ik sprak vandaag met mevrouw Jansen.", "name"},
	{"Gesprek met dhr. P. van der Berg.", "name"},
	{"pt belde, dhr v leeuwen wil terugbellen", "name"},
	{"Uitslag van A.M. Bakker is binnen.", "name"},
	{"Beste Anna,", "greeting-name"},
	{"Bekend met diabetes en hypertensie.", "med-condition"},
	{"Start metformine.", "med-drug"},
	{"metformine 500 mg", "med-dose"},
	{"paracetamol 2dd1", "med-schedule"},
	{"1x per dag aanbrengen", "med-schedule"},
	{"HbA1c 54 mmol/mol", "med-labvalue"},
	{"Diagnose E11.9 gesteld.", "med-icd10"},
	{"Voorgeschreven: N02BE01.", "med-atc"},
	{"Hij heeft last van een depressie.", "med-mental"},
	{"Melding bij Veilig Thuis gedaan.", "med-youth"},
	{"Zij is 12 weken zwanger.", "med-pregnancy"},
	{"Hij is gevaccineerd tegen hepatitis.", "med-vaccination"},
	{"Afspraak met de bedrijfsarts over de ziekmelding.", "med-sickleave"},
	{"Uitslag van het bloedonderzoek volgt.", "med-lab"},
	{"Hierbij de ontslagbrief.", "med-document"},
	{"Schrijf je in voor onze nieuwsbrief.", "general-info"},
	{"Ik heb weer koorts gehad.", "pronoun-med"},
	{"Hoe gaat het met uw insuline?", "possessive-med"},
};

static void
test_signal_families(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		struct cls_result r = run("Subject: x\r\n", families[i].body, NULL);

		if (!has_reason(&r, families[i].code))
			fail_msg("\"%s\": reasons %s, want %s", families[i].body, r.reasons,
			    families[i].code);
	}
}

/* Things that look like signals but are not. */
static const struct scase non_signals[] = {
	{"Bestelling 1234 AB is verzonden.", "address"},	/* postcode without street */
	{"Geboortedatum onbekend.", "dob"},
	{"Patientnummer volgt.", "patient-id"},
	{"Met vriendelijke groet, mevrouw Jansen", "name"},	/* signature */
	{"Afscheid van dr. Peter Jansen.", "name"},		/* staff */
	{"Mevrouw heeft vanochtend gebeld.", "name"},
	{"Beste meneer, dank voor uw bericht.", "name"},
	{"Referentie A12 in het magazijn.", "med-icd10"},
	{"Die 500 g bloem.", "med-dose"},
};

static void
test_non_signals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(non_signals) / sizeof(non_signals[0]); i++) {
		struct cls_result r = run("Subject: x\r\n", non_signals[i].body, NULL);

		if (has_reason(&r, non_signals[i].code))
			fail_msg("\"%s\": reasons %s, must not have %s", non_signals[i].body,
			    r.reasons, non_signals[i].code);
	}
}

static const char health_body[] =
    "Geachte collega,\r\n\r\nHierbij verwijs ik mevrouw A. de Vries, geboortedatum "
    "14-02-1958, naar uw polikliniek. Zij is bekend met diabetes mellitus type 2 "
    "(metformine 500 mg 2dd1) en heeft sinds twee weken pijn op de borst.\r\n\r\n"
    "Met vriendelijke groet,\r\nJ. Bakker, huisarts\r\n";

static const char newsletter_body[] =
    "Nieuwsbrief november\r\n\r\nDiabetes komt steeds vaker voor: ruim een miljoen "
    "Nederlanders hebben diabetes type 2. De nieuwe NHG-standaard adviseert metformine "
    "als eerste keus. Schrijf je in voor het webinar over hypertensie en COPD.\r\n"
    "Afmelden voor deze nieuwsbrief? Klik hier.\r\n";

static const char identifiers_only[] =
    "Beste Anna,\r\n\r\nWelkom bij de sportschool! Je lidmaatschap is geregistreerd: "
    "geboortedatum 04-05-1990, Dorpsstraat 4, 3512 AB Utrecht.\r\n";

/* R-CLS-1: medical AND about a person; one side alone is not enough. */
static void
test_combination(void **state)
{
	struct cls_result r;

	(void)state;
	r = run("Subject: verwijzing\r\n", health_body, NULL);
	assert_int_equal(r.verdict, CLS_HEALTH);
	assert_true(r.score >= 50);
	r = run("Subject: nieuwsbrief\r\n", newsletter_body, NULL);
	if (r.verdict != CLS_CLEAN)
		fail_msg("newsletter: got health %d %s, want clean", r.score, r.reasons);
	r = run("Subject: welkom\r\n", identifiers_only, NULL);
	if (r.verdict != CLS_CLEAN)
		fail_msg("identifiers only: got health %d %s, want clean", r.score, r.reasons);
	r = run("Subject: bellen\r\n", "Zullen we morgen bellen?", NULL);
	assert_int_equal(r.verdict, CLS_CLEAN);
	assert_string_equal(r.reasons, "none");
}

/* Reason codes are from a fixed set: nothing of the message gets in. */
static void
test_reasons_are_codes(void **state)
{
	static const char *const known[] = {"bsn-kw", "bsn", "dob", "patient-id",
	    "name", "greeting-name", "firstname", "capname", "address",
	    "person-ref", "pronoun-med", "possessive-med", "file-name", "file-date",
	    "med-condition", "med-drug", "med-care", "med-document", "med-mental",
	    "med-youth", "med-pregnancy", "med-vaccination", "med-sickleave",
	    "med-lab", "med-dose", "med-schedule", "med-labvalue", "med-icd10",
	    "med-atc", "attachment-unread", "general-info", "forced-secure",
	    "forced-normal", "unread-limit", "none", NULL};
	struct cls_result r = run("Subject: =?utf-8?Q?Uitslag_Jansen?=\r\n", health_body, NULL);
	char buf[CLS_REASONS_LEN];
	char *save = NULL;

	(void)state;
	snprintf(buf, sizeof(buf), "%s", r.reasons);
	for (char *c = strtok_r(buf, ",", &save); c != NULL; c = strtok_r(NULL, ",", &save)) {
		int ok = 0;

		for (size_t i = 0; known[i] != NULL; i++)
			ok |= strcmp(c, known[i]) == 0;
		if (!ok)
			fail_msg("unknown reason code \"%s\" in %s", c, r.reasons);
	}
}

/* The threshold comes from the options (classify.threshold). */
static void
test_threshold(void **state)
{
	struct cls_options o;
	struct cls_result r;

	(void)state;
	cls_options_default(&o);
	assert_int_equal(o.threshold, 50);
	assert_int_equal(o.allow_downgrade, 0);
	o.threshold = 101;
	r = run("Subject: verwijzing\r\n", health_body, &o);
	assert_int_equal(r.verdict, CLS_CLEAN);
	o.threshold = 1;
	r = run("Subject: x\r\n", "Bekend met diabetes.", &o);
	assert_int_equal(r.verdict, r.score >= 1 ? CLS_HEALTH : CLS_CLEAN);
}

/* R-CLS-2: the sender's choice. */
static void
test_sender_choice(void **state)
{
	static const struct {
		const char *headers;
		const char *body;
		int allow;
		enum cls_verdict want;
		enum cls_forced forced;
		const char *code;
	} cases[] = {
		{"Subject: lunch\r\nX-NTA7516-Classify: secure\r\n", "Lunch om 12 uur?", 0,
		 CLS_HEALTH, CLS_FORCED_SECURE, "forced-secure"},
		{"Subject: lunch\r\nx-nta7516-classify:   SECURE  \r\n", "Lunch?", 0,
		 CLS_HEALTH, CLS_FORCED_SECURE, "forced-secure"},
		{"Subject: [veilig] lunch\r\n", "Lunch?", 0, CLS_HEALTH, CLS_FORCED_SECURE, "forced-secure"},
		{"Subject: Re: [SECURE] lunch\r\n", "Lunch?", 0, CLS_HEALTH, CLS_FORCED_SECURE, "forced-secure"},
		{"Subject: =?utf-8?Q?=5Bveilig=5D_lunch?=\r\n", "Lunch?", 0, CLS_HEALTH,
		 CLS_FORCED_SECURE, "forced-secure"},
		{"Subject: veilig lunch\r\n", "Lunch?", 0, CLS_CLEAN, CLS_FORCED_NONE, NULL},
		/* Downgrade refused by default: a health message stays health. */
		{"Subject: verwijzing\r\nX-NTA7516-Classify: normal\r\n", health_body, 0,
		 CLS_HEALTH, CLS_FORCED_NONE, NULL},
		/* Allowed by config: the sender's declaration wins. */
		{"Subject: verwijzing\r\nX-NTA7516-Classify: normal\r\n", health_body, 1,
		 CLS_CLEAN, CLS_FORCED_NORMAL, "forced-normal"},
		/* Secure wins over normal. */
		{"Subject: [veilig] x\r\nX-NTA7516-Classify: normal\r\n", "Lunch?", 1,
		 CLS_HEALTH, CLS_FORCED_SECURE, "forced-secure"},
		/* Unknown values are ignored. */
		{"Subject: x\r\nX-NTA7516-Classify: maybe\r\n", "Lunch?", 1, CLS_CLEAN,
		 CLS_FORCED_NONE, NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cls_options o;
		struct cls_result r;

		cls_options_default(&o);
		o.allow_downgrade = cases[i].allow;
		r = run(cases[i].headers, cases[i].body, &o);
		if (r.verdict != cases[i].want || r.forced != cases[i].forced)
			fail_msg("case %zu: got verdict %d forced %d (%s), want %d/%d", i,
			    r.verdict, r.forced, r.reasons, cases[i].want, cases[i].forced);
		if (cases[i].code != NULL && !has_reason(&r, cases[i].code))
			fail_msg("case %zu: reasons %s, want %s", i, r.reasons, cases[i].code);
	}
}

/* lexicon_data.c must be regenerated (lexicon/gen.sh) after editing the data. */
static void
test_lexicon_in_sync(void **state)
{
	size_t n = cls_lexicon_files();
	FILE *ls;
	char line[256];
	size_t on_disk = 0;

	(void)state;
	assert_true(n >= 5);
	for (size_t i = 0; i < n; i++) {
		const char *name, *text;
		char path[256], *buf;
		FILE *f;
		size_t len;
		int same;

		assert_int_equal(cls_lexicon_file(i, &name, &text), 0);
		snprintf(path, sizeof(path), "msa/classify/lexicon/%s", name);
		f = fopen(path, "rb");
		if (f == NULL)
			fail_msg("%s is compiled in but missing on disk: run msa/classify/lexicon/gen.sh", path);
		buf = calloc(1, 1u << 20);
		assert_non_null(buf);
		len = fread(buf, 1, (1u << 20) - 1, f);
		fclose(f);
		same = len == strlen(text) && memcmp(buf, text, len) == 0;
		free(buf);
		if (!same)
			fail_msg("%s differs from lexicon_data.c: run msa/classify/lexicon/gen.sh", path);
	}
	ls = popen("ls msa/classify/lexicon/*.txt", "r");
	assert_non_null(ls);
	while (fgets(line, sizeof(line), ls) != NULL)
		on_disk++;
	assert_int_equal(pclose(ls), 0);
	if (on_disk != n)
		fail_msg("%zu data files on disk, %zu compiled in: run msa/classify/lexicon/gen.sh",
		    on_disk, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signal_families),
		cmocka_unit_test(test_non_signals),
		cmocka_unit_test(test_combination),
		cmocka_unit_test(test_reasons_are_codes),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_sender_choice),
		cmocka_unit_test(test_lexicon_in_sync),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
