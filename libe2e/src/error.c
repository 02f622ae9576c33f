/* Error names, messages and reason tokens, all from E2E_ERRNO_MAP. */
#include "internal.h"

E2E_API const char *e2e_err_name(int err)
{
	switch (err) {
#define E2E__NAME(name, value, reason, msg) \
	case E2E_##name:                    \
		return "E2E_" #name;
		E2E_ERRNO_MAP(E2E__NAME)
#undef E2E__NAME
	}
	return "E2E_ERR_UNKNOWN";
}

E2E_API const char *e2e_strerror(int err)
{
	switch (err) {
#define E2E__MSG(name, value, reason, msg) \
	case E2E_##name:                   \
		return msg;
		E2E_ERRNO_MAP(E2E__MSG)
#undef E2E__MSG
	}
	return "unknown error";
}

E2E_API const char *e2e_reason(int err)
{
	switch (err) {
#define E2E__REASON(name, value, reason, msg) \
	case E2E_##name:                      \
		return reason;
		E2E_ERRNO_MAP(E2E__REASON)
#undef E2E__REASON
	}
	return "unknown";
}
