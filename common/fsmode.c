/* fsmode.c - owner-only or group-shared layout of the data directory. */
#include "common/fsmode.h"

#include <sys/stat.h>
#include <unistd.h>

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

int
fsmode_apply_fd(int fd, gid_t gid, mode_t mode, const char **step)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		*step = "stat";
		return -1;
	}
	if (gid != (gid_t)-1 && st.st_gid != gid && fchown(fd, (uid_t)-1, gid) != 0) {
		*step = "group";
		return -1;
	}
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) != 0) {
		*step = "mode";
		return -1;
	}
	return 0;
}
