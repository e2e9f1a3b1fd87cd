/* devdefault.c - placeholder until the foundation issue lands. */
#include "msa/cmd.h"

#include <stdio.h>

int
devdefault_ensure(const char *conf_path, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: no development default yet", conf_path);
	return -1;
}
