/* e2e-bridge and systemd (bridge_notify.h). */
#include "config.h"

#include "bridge_notify.h"

#ifdef HAVE_LIBSYSTEMD
#include <stdint.h>
#include <systemd/sd-daemon.h>

#include "signals.h"

static uint64_t watchdog_usec; /* 0: no watchdog */
static int64_t last_ping;

void bridge_notify_ready(int in_rules, int out_rules)
{
	uint64_t usec = 0;

	sd_notifyf(0,
		   "READY=1\nSTATUS=bridging: %d in, %d out rules, both "
		   "connections up",
		   in_rules, out_rules);
	if (sd_watchdog_enabled(0, &usec) > 0)
		watchdog_usec = usec;
	last_ping = cli_now_ms();
}

void bridge_notify_reloading(void)
{
	sd_notify(0, "RELOADING=1");
}

void bridge_notify_reloaded(void)
{
	sd_notify(0, "READY=1");
}

void bridge_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

void bridge_notify_watchdog(void)
{
	int64_t now;

	if (!watchdog_usec)
		return;
	now = cli_now_ms();
	if ((uint64_t)(now - last_ping) * 1000 * 2 >= watchdog_usec) {
		sd_notify(0, "WATCHDOG=1");
		last_ping = now;
	}
}
#else
void bridge_notify_ready(int in_rules, int out_rules)
{
	(void)in_rules;
	(void)out_rules;
}

void bridge_notify_reloading(void)
{
}

void bridge_notify_reloaded(void)
{
}

void bridge_notify_stopping(void)
{
}

void bridge_notify_watchdog(void)
{
}
#endif
