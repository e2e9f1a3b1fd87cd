/* cmd_user.c - placeholder until the owning issue lands. */
#include "msa/cmd.h"

#include <stdio.h>

int
cmd_user(const struct config *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	fprintf(stderr, "ntamsa: %s: not implemented yet\n", argv[0]);
	return 1;
}
