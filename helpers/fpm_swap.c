/* SPDX-License-Identifier: MIT */
/*
 * reload = swap: one php-fpm master per release, switched by one rename
 * (docs/POOLSWAP.md). Interface only in this commit: every op refuses.
 */
#include <errno.h>

#include "helper.h"

static int swap_not_built(struct proto_msg *rep)
{
	reply_fail(rep, -EOPNOTSUPP, ERR_FPM_SLOT, "reload = swap is not built yet");
	return 0;
}

int op_fpm_slots(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	(void)h, (void)req;
	return swap_not_built(rep);
}

int op_fpm_slot_start(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	(void)h, (void)req;
	return swap_not_built(rep);
}

int op_fpm_slot_retire(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	(void)h, (void)req;
	return swap_not_built(rep);
}

int op_fpm_live(struct helper *h, const struct proto_msg *req, struct proto_msg *rep)
{
	(void)h, (void)req;
	return swap_not_built(rep);
}
