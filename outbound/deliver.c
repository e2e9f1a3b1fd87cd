/* deliver.c - placeholder until the outbound issue lands: the worker idles. */
#include "outbound/deliver.h"
#include "common/log.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int
out_deliver_main(const struct config *c, int wake_fd)
{
	(void)c;
	signal(SIGTERM, on_term);
	log_warn("deliver-idle", "reason=not-implemented");
	while (!stop) {
		struct pollfd p = {.fd = wake_fd, .events = POLLIN};
		if (poll(&p, 1, 1000) > 0) {
			char buf[64];
			if (read(wake_fd, buf, sizeof(buf)) <= 0)
				break;
		}
	}
	return 0;
}
