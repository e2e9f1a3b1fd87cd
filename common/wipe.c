/* wipe.c - growing and freeing buffers that hold message text (wipe.h). */
#include "common/wipe.h"

#include <stdlib.h>
#include <string.h>

void *
wipe_grow(void *old, size_t used, size_t newcap)
{
	void *nb;

	if (used > newcap || (nb = malloc(newcap)) == NULL)
		return NULL;
	if (old != NULL) {
		memcpy(nb, old, used);
		explicit_bzero(old, used);
		free(old);
	}
	return nb;
}

void
wipe_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	explicit_bzero(p, n);
	free(p);
}
