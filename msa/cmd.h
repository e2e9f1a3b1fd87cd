/*
 * cmd.h - the ntamsa sub-commands.
 *
 * Each command lives in msa/cmd_<name>.c and receives the loaded config and
 * its own argv (argv[0] is the command name).  Exit codes: 0 success,
 * 1 a negative answer or failure, 2 a usage error.  Every command answers
 * --help on stdout with exit 0.
 */
#ifndef NTAMSA_MSA_CMD_H
#define NTAMSA_MSA_CMD_H

#include "common/config.h"

typedef int (*cmd_fn)(const struct config *c, int argc, char **argv);

int cmd_serve(const struct config *c, int argc, char **argv);
int cmd_user(const struct config *c, int argc, char **argv);
int cmd_classify(const struct config *c, int argc, char **argv);
int cmd_nta(const struct config *c, int argc, char **argv);
int cmd_queue(const struct config *c, int argc, char **argv);
int cmd_keys(const struct config *c, int argc, char **argv);
int cmd_dkim(const struct config *c, int argc, char **argv);
int cmd_log(const struct config *c, int argc, char **argv);

/* True when argv holds -h or --help (before a "--"). */
int cmd_wants_help(int argc, char **argv);

/* Create ./var with a development default config, keys, TLS and a demo account. */
int devdefault_ensure(const char *conf_path, char *err, size_t errlen);

#endif
