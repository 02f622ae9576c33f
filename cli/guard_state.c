/* The replay guard of a receiving tool and its state file (guard_state.h). */
#include <errno.h>
#include <string.h>

#include "guard_state.h"
#include "report.h"

int cli_guard_open(e2e_guard **out, const e2e_guard_opts *o, const char *path)
{
	size_t bad_line = 0;
	int rc;

	if ((rc = e2e_guard_new(out, o)) != E2E_OK) {
		cli_err("cannot create the replay guard: %s", e2e_strerror(rc));
		return -1;
	}
	if (path == NULL)
		return 0;
	rc = e2e_guard_load(*out, path, &bad_line);
	if (rc == E2E_ERR_IO && errno == ENOENT)
		return 0; /* first run: created at the first save */
	if (rc != E2E_OK) {
		/* Unreadable or unsafe: the remedy report.c knows; corrupt:
		 * starting afresh is the way out. */
		cli_file_err("state file", path, bad_line, rc,
			     rc == E2E_ERR_IO || rc == E2E_ERR_WRITABLE
				     ? NULL
				     : "move it away to start afresh");
		e2e_guard_free(*out);
		*out = NULL;
		return -1;
	}
	cli_warn_unsafe_dir("state file", path);
	cli_debug("loaded replay state of %zu senders from %s",
		  e2e_guard_sender_count(*out), path);
	return 0;
}

int cli_guard_save(const e2e_guard *g, const char *path)
{
	int rc = e2e_guard_save(g, path);

	if (rc != E2E_OK) {
		cli_err("cannot save state file %s: %s", path,
			rc == E2E_ERR_IO ? strerror(errno) : e2e_strerror(rc));
		return -1;
	}
	return 0;
}
