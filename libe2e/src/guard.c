/* guard.c: replay guard — being written; these placeholders only keep the
 * tree linking and refuse everything. */
#include "internal.h"

E2E_API void e2e_guard_opts_default(e2e_guard_opts *o)
{
	(void)o;
}
E2E_API int e2e_guard_new(e2e_guard **out, const e2e_guard_opts *opts)
{
	(void)opts;
	*out = NULL;
	return E2E_ERR_INVAL;
}
E2E_API void e2e_guard_free(e2e_guard *g)
{
	(void)g;
}
E2E_API int e2e_guard_check(const e2e_guard *g, const e2e_info *info,
			    const char *topic, uint32_t delivery, uint64_t now)
{
	(void)g, (void)info, (void)topic, (void)delivery, (void)now;
	return E2E_ERR_INVAL;
}
E2E_API void e2e_guard_commit(e2e_guard *g, const e2e_info *info,
			      const char *topic, uint32_t delivery, uint64_t now)
{
	(void)g, (void)info, (void)topic, (void)delivery, (void)now;
}
