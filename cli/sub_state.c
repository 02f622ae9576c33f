/*
 * e2e-sub's shared replay state in Redis (shared_state.h): libe2e-redis
 * when configure found hiredis, else a stub that says what is missing.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "report.h"
#include "shared_state.h"

#ifdef HAVE_REDIS
#include <e2e_redis.h>

struct cli_shared {
	e2e_redis *rs;
	/* The batches in flight, oldest first from head: their items (the
	 * library fills in the verdicts) and what sending them said. */
	e2e_redis_item items[CLI_SHARED_PIPELINE][E2E_REDIS_BATCH_MAX];
	size_t n[CLI_SHARED_PIPELINE];
	int sent[CLI_SHARED_PIPELINE];
	unsigned head, count;
};

_Static_assert(CLI_SHARED_WINDOW_DEFAULT == E2E_REDIS_WINDOW_DEFAULT,
	       "e2e-sub's group window is libe2e-redis's default");

int cli_shared_connect(struct cli_shared **out, const struct cli_config *cfg,
		       const e2e_guard_opts *guard)
{
	struct cli_shared *sh = calloc(1, sizeof *sh);
	e2e_redis_opts o;
	const char *why;
	char fix[256];
	int rc;

	*out = NULL;
	if (!sh) {
		cli_err("out of memory");
		return -1;
	}
	e2e_redis_opts_default(&o);
	if (cfg->state_password_file)
		o.password_file = cfg->state_password_file;
	else
		o.password = cfg->env_state_password;
	o.tls_cacert = cfg->state_cacert;
	o.tls_cacertdir = cfg->state_cacertdir;
	o.tls_cert = cfg->state_cert;
	o.tls_key = cfg->state_key;
	o.tls_sni = cfg->state_sni;
	rc = e2e_redis_connect(&sh->rs, cfg->state_path, &o, guard);
	if (rc != E2E_OK) {
		if (rc == E2E_ERR_IO || rc == E2E_ERR_PERMISSIONS)
			cli_err("cannot use --state-password-file %s: %s",
				cfg->state_password_file,
				rc == E2E_ERR_IO ? strerror(errno)
						 : e2e_strerror(rc));
		else if ((why = cli_state_remedy(rc, cfg->state_path, 0, fix,
						 sizeof fix)))
			cli_err("--state %s: %s: %s", cfg->state_path,
				e2e_strerror(rc), why);
		else
			cli_err("--state %s: %s", cfg->state_path,
				e2e_strerror(rc));
		free(sh);
		return -1;
	}
	*out = sh;
	return 0;
}

int cli_shared_open(struct cli_shared *sh, const e2e_receiver *r,
		    const char *topic, const uint8_t *env, size_t env_len,
		    uint32_t delivery, uint8_t *out, size_t out_cap,
		    size_t *out_len, e2e_info *info)
{
	return e2e_redis_open(sh->rs, r, topic, env, env_len, delivery, out,
			      out_cap, out_len, info);
}

_Static_assert(CLI_SHARED_BATCH_MAX == E2E_REDIS_BATCH_MAX,
	       "e2e-sub's batches are libe2e-redis's");

_Static_assert(CLI_SHARED_PIPELINE == E2E_REDIS_PIPELINE_MAX,
	       "e2e-sub's batches in flight are libe2e-redis's");

void cli_shared_check_send(struct cli_shared *sh, const e2e_info *const *info,
			   const char *const *topic, const uint32_t *delivery,
			   size_t n, uint64_t now)
{
	unsigned b = (sh->head + sh->count++) % CLI_SHARED_PIPELINE;
	e2e_redis_item *items = sh->items[b];

	for (size_t i = 0; i < n; i++) {
		items[i].info = info[i];
		items[i].topic = topic[i];
		items[i].delivery = delivery[i];
	}
	sh->n[b] = n;
	/* E2E_OK: the verdicts come with e2e_redis_batch_recv, even when
	 * sending failed; else nothing was sent (arguments it refused). */
	sh->sent[b] = e2e_redis_batch_send(sh->rs, items, n, now) == E2E_OK;
}

int cli_shared_check_wait(struct cli_shared *sh, int wake_fd)
{
	if (!sh->sent[sh->head])
		return 1;
	return e2e_redis_batch_wait(sh->rs, wake_fd) != 0;
}

void cli_shared_check_recv(struct cli_shared *sh, int *verdict)
{
	unsigned b = sh->head;
	int rc = E2E_ERR_INVAL;

	sh->head = (sh->head + 1) % CLI_SHARED_PIPELINE;
	sh->count--;
	/* Every item has its verdict, whatever the call returns (but
	 * E2E_ERR_INVAL, for arguments it refused). */
	if (sh->sent[b])
		rc = e2e_redis_batch_recv(sh->rs);
	for (size_t i = 0; i < sh->n[b]; i++)
		verdict[i] = rc == E2E_ERR_INVAL ? rc : sh->items[b][i].verdict;
}

void cli_shared_free(struct cli_shared *sh)
{
	if (!sh)
		return;
	e2e_redis_free(sh->rs);
	free(sh);
}

#else /* !HAVE_REDIS */

struct cli_shared {
	size_t n; /* the batch sent: its verdicts, all unsupported */
};

int cli_shared_connect(struct cli_shared **out, const struct cli_config *cfg,
		       const e2e_guard_opts *guard)
{
	(void)guard;
	*out = NULL;
	cli_err("--state %s: a shared state in Redis needs an e2e-sub built "
		"with hiredis (install libhiredis-dev and configure "
		"--with-redis)",
		cfg->state_path);
	return -1;
}

int cli_shared_open(struct cli_shared *sh, const e2e_receiver *r,
		    const char *topic, const uint8_t *env, size_t env_len,
		    uint32_t delivery, uint8_t *out, size_t out_cap,
		    size_t *out_len, e2e_info *info)
{
	(void)sh, (void)r, (void)topic, (void)env, (void)env_len;
	(void)delivery, (void)out, (void)out_cap, (void)info;
	*out_len = 0;
	return E2E_ERR_STORE_UNSUPPORTED;
}

void cli_shared_check_send(struct cli_shared *sh, const e2e_info *const *info,
			   const char *const *topic, const uint32_t *delivery,
			   size_t n, uint64_t now)
{
	(void)info, (void)topic, (void)delivery, (void)now;
	sh->n = n;
}

int cli_shared_check_wait(struct cli_shared *sh, int wake_fd)
{
	(void)sh, (void)wake_fd;
	return 1;
}

void cli_shared_check_recv(struct cli_shared *sh, int *verdict)
{
	for (size_t i = 0; i < sh->n; i++)
		verdict[i] = E2E_ERR_STORE_UNSUPPORTED;
}

void cli_shared_free(struct cli_shared *sh)
{
	free(sh);
}
#endif
