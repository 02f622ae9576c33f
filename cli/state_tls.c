/* e2e-sub's --state rediss:// options, checked before connecting
 * (shared_state.h): each goes with rediss://, the files can be read and
 * the key is its owner's alone, so that a refusal names its option. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "report.h"
#include "shared_state.h"

/* A file given to option that cannot be opened: -1 (reported). */
static int unreadable(const char *option, const char *path, int dir)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
				    (dir ? O_DIRECTORY : 0));

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	cli_err("cannot read --%s %s: %s", option, path, strerror(errno));
	return -1;
}

int cli_state_tls_check(const struct cli_config *cfg)
{
	const struct {
		const char *option, *value;
		int dir;
	} opt[] = {
		{"state-cacert", cfg->state_cacert, 0},
		{"state-cacertdir", cfg->state_cacertdir, 1},
		{"state-cert", cfg->state_cert, 0},
		{"state-key", cfg->state_key, 0},
		{"state-sni", cfg->state_sni, -1},
	};
	int tls = cfg->state_path && !strncmp(cfg->state_path, "rediss://", 9);
	struct stat st;

	for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++) {
		if (!opt[i].value)
			continue;
		if (!tls) {
			cli_err("--%s goes with --state rediss://...",
				opt[i].option);
			return -1;
		}
		if (opt[i].dir >= 0 &&
		    unreadable(opt[i].option, opt[i].value, opt[i].dir))
			return -1;
	}
	if (!cfg->state_cert != !cfg->state_key) {
		cli_err("--state-cert and --state-key go together");
		return -1;
	}
	if (cfg->state_key && stat(cfg->state_key, &st) == 0 &&
	    (st.st_mode & 077)) {
		cli_err("--state-key %s: %s", cfg->state_key,
			e2e_strerror(E2E_ERR_PERMISSIONS));
		return -1;
	}
	return 0;
}
