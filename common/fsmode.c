/* fsmode.c - owner-only or group-shared layout of the data directory. */
#include "common/fsmode.h"

#include <sys/stat.h>

int
fsmode_is_group_shared(mode_t mode)
{
	return (mode & S_IRWXG) == S_IRWXG && (mode & S_IRWXO) == 0;
}

void
fsmode_layout(const char *data_dir, struct fsmode *out)
{
	struct stat st;

	out->shared = 0;
	out->gid = (gid_t)-1;
	if (stat(data_dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	    fsmode_is_group_shared(st.st_mode)) {
		out->shared = 1;
		out->gid = st.st_gid;
	}
	out->db = out->shared ? 0660 : 0600;
	out->keydir = out->shared ? 0750 : 0700;
	out->pub = out->shared ? 0640 : 0644;
}
