/*
 * Signals and time for e2e-pub and e2e-sub. Signals are blocked in every
 * thread and taken by the main thread with cli_signal_wait(), outside any
 * handler, so Paho's threads never see them and nothing async-signal-unsafe
 * runs in a handler. SIGURG alone has a handler, which does nothing: it
 * only interrupts a blocked system call (cli_nudge_thread). The state (the main
 * thread, a pending SIGHUP, a stop request) is the process's.
 */
#ifndef E2E_CLI_SIGNALS_H
#define E2E_CLI_SIGNALS_H

#include <stdint.h>

/* Block SIGINT, SIGTERM, SIGHUP and SIGUSR1 in this thread (and in every
 * thread created after, Paho's included), ignore SIGPIPE, give SIGURG a
 * handler that does nothing (cli_nudge_thread). The main thread
 * then takes them with cli_signal_wait(). Call before any thread starts. */
void cli_signals_block(void);
/* Wait up to ms milliseconds (0: just poll) for one of them; returns the
 * signal number or 0. SIGHUP and SIGINT/SIGTERM are also remembered for
 * cli_take_hup() and cli_stop_requested(), so that none is lost while a
 * helper below waits for the broker. */
int cli_signal_wait(long ms);
/* 1 once after each SIGHUP (reload the keys). */
int cli_take_hup(void);
/* 1 after SIGINT or SIGTERM. */
int cli_stop_requested(void);
/* Poll for a signal (cli_signal_wait(0)): 1 when SIGINT or SIGTERM came. */
int cli_interrupted(void);
/* Wake the main thread out of cli_signal_wait (from any thread). */
void cli_wake_main(void);
/* Interrupt the system call the process's thread of this name (Linux's
 * /proc/self/task/N/comm) blocks in, with SIGURG, whose handler does nothing
 * (cli_signals_block installs it): 1, or 0 when there is no such thread. */
int cli_nudge_thread(const char *name);

/* Monotonic milliseconds. */
int64_t cli_now_ms(void);

#endif /* E2E_CLI_SIGNALS_H */
