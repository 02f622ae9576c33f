/*
 * e2e-bridge and its service manager (docs/BRIDGE.md section 9): with
 * libsystemd at build time, sd_notify(3) READY=1 once both connections are
 * up, STOPPING=1 when a stop begins, RELOADING=1 around a SIGHUP reload,
 * and WATCHDOG=1 at half of WATCHDOG_USEC when the unit sets WatchdogSec=.
 * Without NOTIFY_SOCKET (not under systemd) every call does nothing;
 * without libsystemd they are empty and the unit is to use Type=simple.
 */
#ifndef E2E_CLI_BRIDGE_NOTIFY_H
#define E2E_CLI_BRIDGE_NOTIFY_H

void bridge_notify_ready(int in_rules, int out_rules);
void bridge_notify_reloading(void);
void bridge_notify_reloaded(void);
void bridge_notify_stopping(void);
/* Now and then from the main loop: WATCHDOG=1 when it is due. */
void bridge_notify_watchdog(void);

#endif /* E2E_CLI_BRIDGE_NOTIFY_H */
