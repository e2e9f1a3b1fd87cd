/*
 * cmd_user.c - `ntamsa user add|del|list|passwd`: submission accounts.
 * Passwords come from stdin (first line), never from argv, and are stored
 * as Argon2id hashes; with --cram (only when server.auth_cram_md5 = yes)
 * also as the password-equivalent CRAM-MD5 secret (R-AUTH-1 opt-in).
 */
#include "msa/accounts.h"
#include "msa/cmd.h"
#include "msa/smtpd_int.h"
#include "store/store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PW_MAX 512

static void
usage(FILE *f)
{
	fprintf(f, "usage: ntamsa user add ADDRESS [--allow-from PATTERN]... [--rate N/h]\n"
	    "                        [--allow-ip CIDR]... [--cram]  (password on stdin)\n"
	    "       ntamsa user passwd ADDRESS [--cram]       (password on stdin)\n"
	    "       ntamsa user del ADDRESS\n"
	    "       ntamsa user list\n\n"
	    "PATTERN is an address or *@domain; the default allows ADDRESS itself.\n"
	    "The default rate is %d messages per hour.  --allow-ip restricts the\n"
	    "client networks the account may authenticate from.\n"
	    "--cram (needs server.auth_cram_md5 = yes) also stores a CRAM-MD5 secret:\n"
	    "it is password-equivalent, whoever reads the database can log in as\n"
	    "this user.  passwd without --cram removes it.\n", ACCT_RATE_DEFAULT);
}

/* First line of stdin, without its line end; -1 when empty or too long. */
static int
read_password(char *pw, size_t pwlen, size_t *n)
{
	if (fgets(pw, (int)pwlen, stdin) == NULL)
		return -1;
	size_t l = strlen(pw);
	if (l + 1 == pwlen && pw[l - 1] != '\n')
		return -1;
	while (l > 0 && (pw[l - 1] == '\n' || pw[l - 1] == '\r'))
		l--;
	pw[l] = '\0';
	*n = l;
	return l > 0 ? 0 : -1;
}

/*
 * From a terminal: prompt on stderr with echo off, twice, so a typo does
 * not lock the user out and the password never shows on screen or in a
 * terminal's scrollback.  A pipe is read as is (scripts, tests).
 */
static int
read_password_tty(char *pw, size_t pwlen, size_t *n)
{
	struct termios old, quiet;
	char *again = sodium_malloc(pwlen);
	size_t n2 = 0;
	int rc = -1;

	if (again == NULL || tcgetattr(STDIN_FILENO, &old) != 0) {
		sodium_free(again);
		return -1;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0) {
		fputs("Password: ", stderr);
		if (read_password(pw, pwlen, n) == 0) {
			fputs("Again: ", stderr);
			if (read_password(again, pwlen, &n2) == 0 && n2 == *n &&
			    sodium_memcmp(pw, again, *n) == 0)
				rc = 0;
			else
				fputs("ntamsa: user: the passwords differ\n", stderr);
		}
		/* Echo back on whatever happened. */
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	}
	sodium_free(again);
	return rc;
}

/* Argon2id hash always; the CRAM-MD5 secret only when cram, else none. */
static int
set_password(struct store_account *a, int cram)
{
	char *pw = sodium_malloc(PW_MAX);
	size_t n = 0;
	int rc = -1;

	if (pw == NULL)
		return -1;
	/* Unbuffered: no copy of the password stays in stdio's stdin buffer. */
	(void)setvbuf(stdin, NULL, _IONBF, 0);
	if ((isatty(STDIN_FILENO) ? read_password_tty(pw, PW_MAX, &n) :
	    read_password(pw, PW_MAX, &n)) != 0)
		fprintf(stderr, "ntamsa: user: give the password as the first line on stdin\n");
	else if (acct_hash_password(pw, n, a->pwhash) != 0)
		fprintf(stderr, "ntamsa: user: password hashing failed (out of memory?)\n");
	else if (cram && smtp_cram_secret(pw, n, a->cram_secret, sizeof(a->cram_secret)) != 0)
		fprintf(stderr, "ntamsa: user: cannot derive the CRAM-MD5 secret\n");
	else
		rc = 0;
	if (!cram)	/* a new password makes an old CRAM secret stale: drop it */
		sodium_memzero(a->cram_secret, sizeof(a->cram_secret));
	sodium_free(pw);
	return rc;
}

static int
parse_rate(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || v < 0 || v > 1000000)
		return -1;
	if (*end != '\0' && strcasecmp(end, "/h") != 0)
		return -1;
	*out = (int)v;
	return 0;
}

static int
parse_add_opts(struct store_account *a, int argc, char **argv, int *cram)
{
	for (int i = 3; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--cram")) {
			*cram = 1;
			continue;
		}
		if (v == NULL) {
			fprintf(stderr, "ntamsa: user add: %s needs a value\n", o);
			return 2;
		}
		i++;
		if (!strcmp(o, "--allow-from")) {
			if (acct_pattern_valid(v) != 0 || a->n_allow_from >= STORE_LIST_MAX) {
				fprintf(stderr, "ntamsa: user add: bad or too many --allow-from: %s\n", v);
				return 2;
			}
			snprintf(a->allow_from[a->n_allow_from++], STORE_ADDR_MAX, "%s", v);
		} else if (!strcmp(o, "--allow-ip")) {
			if (acct_cidr_valid(v) != 0 || a->n_allow_ip >= STORE_LIST_MAX) {
				fprintf(stderr, "ntamsa: user add: bad or too many --allow-ip: %s\n", v);
				return 2;
			}
			snprintf(a->allow_ip[a->n_allow_ip++], sizeof(a->allow_ip[0]), "%s", v);
		} else if (!strcmp(o, "--rate")) {
			if (parse_rate(v, &a->rate_per_hour) != 0) {
				fprintf(stderr, "ntamsa: user add: --rate wants N/h: %s\n", v);
				return 2;
			}
		} else {
			fprintf(stderr, "ntamsa: user add: unknown option %s\n", o);
			return 2;
		}
	}
	return 0;
}

static int
user_add(struct store *st, int argc, char **argv)
{
	struct store_account *a = calloc(1, sizeof(*a)), *old = calloc(1, sizeof(*old));
	int rc = 1, cram = 0;

	if (a == NULL || old == NULL)
		goto out;
	if (acct_pattern_valid(argv[2]) != 0 || argv[2][0] == '*') {
		fprintf(stderr, "ntamsa: user add: not an address: %s\n", argv[2]);
		rc = 2;
		goto out;
	}
	snprintf(a->address, sizeof(a->address), "%s", argv[2]);
	a->rate_per_hour = ACCT_RATE_DEFAULT;
	a->created = time(NULL);
	if ((rc = parse_add_opts(a, argc, argv, &cram)) != 0)
		goto out;
	rc = 1;
	if (a->n_allow_from == 0)
		snprintf(a->allow_from[a->n_allow_from++], STORE_ADDR_MAX, "%s", a->address);
	if (store_account_get(st, a->address, old) == STORE_OK) {
		fprintf(stderr, "ntamsa: user add: %s exists (use passwd, or del first)\n", a->address);
		goto out;
	}
	if (set_password(a, cram) != 0)
		goto out;
	int src = store_account_put(st, a);
	if (src != STORE_OK)
		fprintf(stderr, "ntamsa: user add: %s\n", store_strerror(src));
	else
		rc = 0;
out:
	if (a != NULL)
		sodium_memzero(a, sizeof(*a));
	free(a);
	free(old);
	return rc;
}

static int
user_passwd(struct store *st, const char *addr, int cram)
{
	struct store_account *a = calloc(1, sizeof(*a));
	int rc = 1;

	if (a == NULL)
		return 1;
	int src = store_account_get(st, addr, a);
	if (src != STORE_OK)
		fprintf(stderr, "ntamsa: user passwd: %s: %s\n", addr, store_strerror(src));
	else if (set_password(a, cram) == 0) {
		src = store_account_put(st, a);
		if (src == STORE_OK)
			rc = 0;
		else
			fprintf(stderr, "ntamsa: user passwd: %s\n", store_strerror(src));
	}
	sodium_memzero(a, sizeof(*a));
	free(a);
	return rc;
}

static int
print_account(const struct store_account *a, void *arg)
{
	(void)arg;
	printf("%s rate=%d/h allow-from=", a->address, a->rate_per_hour);
	for (size_t i = 0; i < a->n_allow_from; i++)
		printf("%s%s", i ? "," : "", a->allow_from[i]);
	printf(" allow-ip=");
	if (a->n_allow_ip == 0)
		printf("any");
	for (size_t i = 0; i < a->n_allow_ip; i++)
		printf("%s%s", i ? "," : "", a->allow_ip[i]);
	printf(" cram=%s\n", a->cram_secret[0] ? "yes" : "no");
	return 0;
}

/* Whether `user add` was given --cram (option values never equal it). */
static int
has_cram(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "add") != 0)
		return 0;
	for (int i = 3; i < argc; i++)
		if (!strcmp(argv[i], "--cram"))
			return 1;
	return 0;
}

int
cmd_user(const struct config *c, int argc, char **argv)
{
	if (cmd_wants_help(argc, argv)) {
		usage(stdout);
		return 0;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *sub = argv[1];
	int need_addr = strcmp(sub, "list") != 0;
	int cram_arg = !strcmp(sub, "passwd") && argc == 4 && !strcmp(argv[3], "--cram");
	if ((need_addr && argc < 3) || (!need_addr && argc != 2) ||
	    (strcmp(sub, "add") && need_addr && argc != 3 && !cram_arg)) {
		usage(stderr);
		return 2;
	}
	if (strcmp(sub, "add") && strcmp(sub, "del") && strcmp(sub, "list") &&
	    strcmp(sub, "passwd")) {
		usage(stderr);
		return 2;
	}
	if (!c->auth_cram_md5 && (cram_arg || has_cram(argc, argv))) {
		/* Refuse rather than store a password-equivalent secret unused. */
		fprintf(stderr, "ntamsa: user: --cram needs server.auth_cram_md5 = yes in the"
		    " config (CRAM-MD5 is off; its secret is password-equivalent)\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	struct store *st = NULL;
	char err[512];
	if (store_open(c->data_dir, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "ntamsa: user: %s\n", err);
		return 1;
	}
	int rc = 1;
	if (!strcmp(sub, "add"))
		rc = user_add(st, argc, argv);
	else if (!strcmp(sub, "passwd"))
		rc = user_passwd(st, argv[2], cram_arg);
	else if (!strcmp(sub, "list"))
		rc = store_account_list(st, print_account, NULL) == STORE_OK ? 0 : 1;
	else {
		int src = store_account_del(st, argv[2]);
		if (src != STORE_OK)
			fprintf(stderr, "ntamsa: user del: %s: %s\n", argv[2], store_strerror(src));
		rc = src == STORE_OK ? 0 : 1;
	}
	store_close(st);
	return rc;
}
