/* SPDX-License-Identifier: MIT */
/*
 * fpm_status_parse() on arbitrary bytes as the body of a status page (the
 * pool's answer is untrusted: a request URI shown in it is client input).
 * The input is copied to a buffer of exactly its size and no terminator,
 * as the parser promises not to need one.
 */
#include "fuzz.h"

#include <errno.h>

#include "fpm_status.h"

static void fz_fpm_check_proc(const struct fpm_proc *p)
{
	FUZZ_CHECK(p->pid >= 1);
	FUZZ_CHECK(fuzz_terminated(p->state, sizeof(p->state)) && p->state[0] != '\0');
	FUZZ_CHECK(fuzz_terminated(p->request_method, sizeof(p->request_method)));
	FUZZ_CHECK(fuzz_terminated(p->request_uri, sizeof(p->request_uri)));
	FUZZ_CHECK(fuzz_terminated(p->script, sizeof(p->script)));
	/* One line, one field: a value never spans lines. */
	FUZZ_CHECK(!strchr(p->state, '\n') && !strchr(p->request_uri, '\n') &&
		   !strchr(p->script, '\n') && !strchr(p->request_method, '\n'));
	(void)fpm_status_proc_is_busy(p);
}

int fuzz_fpm_status(const uint8_t *data, size_t size)
{
	struct fpm_status st;
	char *text;
	int r;

	text = malloc(size ? size : 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	memset(&st, 0xa5, sizeof(st));
	r = fpm_status_parse(size ? text : NULL, size, &st);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EFBIG || r == -E2BIG || r == -ENOMEM);
	if (size > 0 && memchr(data, '\0', size))
		FUZZ_CHECK(r == -EBADMSG);
	if (r == 0) {
		unsigned long long longest_busy = 0, longest;

		FUZZ_CHECK(fuzz_terminated(st.pool, sizeof(st.pool)) && st.pool[0] != '\0');
		FUZZ_CHECK(fuzz_terminated(st.pm, sizeof(st.pm)) && st.pm[0] != '\0');
		FUZZ_CHECK(fuzz_terminated(st.start_time, sizeof(st.start_time)));
		FUZZ_CHECK(st.n_procs <= FPM_STATUS_PROCS_MAX);
		FUZZ_CHECK((st.n_procs == 0) == (st.procs == NULL));
		for (size_t i = 0; i < st.n_procs; i++) {
			fz_fpm_check_proc(&st.procs[i]);
			if (fpm_status_proc_is_busy(&st.procs[i]) &&
			    st.procs[i].request_duration_us > longest_busy)
				longest_busy = st.procs[i].request_duration_us;
		}
		longest = fpm_status_longest_busy_us(&st);
		FUZZ_CHECK(longest == longest_busy);
		fpm_status_free(&st);
		FUZZ_CHECK(st.procs == NULL && st.n_procs == 0);
	}
	free(text);
	return 0;
}

FUZZ_ENTRY(fuzz_fpm_status)
