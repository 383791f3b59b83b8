/* SPDX-License-Identifier: MIT */
#include "messages.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

void helper_error_from_reply(struct helper_error *e, const struct proto_msg *rep)
{
	*e = (struct helper_error) {
		.status = rep->status < 0 ? rep->status : -EIO,
		.code = rep->error < ERR_MAX ? (enum proto_error)rep->error : ERR_NONE,
	};
	str_copy(e->subject, sizeof(e->subject), rep->text);
	str_copy(e->id, sizeof(e->id), rep->id);
	memcpy(e->arg, rep->arg, sizeof(e->arg));
}

void messages_format(const struct helper_error *e, const struct config *cfg, char *buf, size_t n)
{
	(void)cfg;
	switch (e->code) {
	case ERR_MESSAGE:
		snprintf(buf, n, "%s", e->subject);
		return;
	case ERR_NONE:
	default:
		/* Replies sent before every failure had its code. */
		if (e->subject[0])
			snprintf(buf, n, "%s", e->subject);
		else
			snprintf(buf, n, "%s", strerror(-e->status));
		return;
	}
}
