/* main.c - ntamsa's entry point: global options, config, command dispatch. */
#include "common/config.h"
#include "common/log.h"
#include "msa/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CONF "./var/ntamsa.conf"

static const struct {
	const char *name;
	cmd_fn fn;
	const char *usage;
} commands[] = {
	{"serve", cmd_serve, "run the daemon in the foreground"},
	{"user", cmd_user, "add|del|list|passwd accounts"},
	{"classify", cmd_classify, "classify message files: health or clean"},
	{"nta", cmd_nta, "parse|check NTA 7516 records"},
	{"queue", cmd_queue, "list|show|flush|delete|hold queued mail"},
	{"keys", cmd_keys, "init|status|rotate the store keys"},
	{"dkim", cmd_dkim, "keygen DOMAIN SELECTOR"},
	{"log", cmd_log, "export the delivery log"},
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: ntamsa [-c FILE] COMMAND [ARGS...]\n\n"
	    "NTA 7516 mail submission agent.  Without -c the configuration is\n"
	    DEFAULT_CONF ", created with development defaults on first use.\n\n"
	    "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].usage);
	fprintf(f, "\nEach command takes --help.\n");
}

int
cmd_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	}
	return 0;
}

/* No process of ours may leave key material in a core file. */
static void
harden_process(void)
{
	struct rlimit rl = {0, 0};
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		perror("setrlimit(RLIMIT_CORE)");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		perror("prctl(PR_SET_DUMPABLE)");
}

int
main(int argc, char **argv)
{
	const char *conf = NULL;
	int i = 1;

	harden_process();
	/* Everything ntamsa creates (database, keys, spool) is private. */
	umask(077);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-c") && i + 1 < argc)
			conf = argv[++i];
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[i];
	cmd_fn fn = NULL;
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (!strcmp(commands[k].name, name))
			fn = commands[k].fn;
	if (fn == NULL) {
		fprintf(stderr, "ntamsa: unknown command '%s'\n", name);
		usage(stderr);
		return 2;
	}

	/* --help needs no config, so it works on a machine with none. */
	struct config cfg;
	char err[512];
	if (config_defaults(&cfg) != 0) {
		fprintf(stderr, "ntamsa: out of memory\n");
		return 1;
	}
	if (!cmd_wants_help(argc - i, argv + i)) {
		if (conf == NULL) {
			conf = DEFAULT_CONF;
			if (access(conf, F_OK) != 0 &&
			    devdefault_ensure(conf, err, sizeof(err)) != 0) {
				fprintf(stderr, "ntamsa: %s\n", err);
				return 1;
			}
		}
		if (config_load(&cfg, conf, err, sizeof(err)) != 0) {
			fprintf(stderr, "ntamsa: %s\n", err);
			config_free(&cfg);
			return 1;
		}
	}
	log_init("ntamsa", cfg.log_syslog,
	    cfg.log_level && !strcmp(cfg.log_level, "debug") ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	int rc = fn(&cfg, argc - i, argv + i);
	config_free(&cfg);
	return rc;
}
