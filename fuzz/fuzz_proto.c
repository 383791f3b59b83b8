/* SPDX-License-Identifier: MIT */
/*
 * proto_decode(), the helper's first look at every request. Two shapes per
 * input: the bytes as a record of their own length (almost always refused
 * for its size), and a record of exactly sizeof(struct proto_msg) with the
 * right magic and version whose op comes from the first byte and whose
 * other fields (status onwards) are the rest of the input, so most inputs
 * reach the field checks.
 */
#include "fuzz.h"

#include <errno.h>

#include "proto.h"

static void fz_proto_check(const void *buf, size_t n)
{
	struct proto_msg out, again;
	int r;

	memset(&out, 0xa5, sizeof(out));
	r = proto_decode(buf, n, &out);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EPROTO || r == -EINVAL);
	if (r < 0)
		return;

	FUZZ_CHECK(n == sizeof(struct proto_msg));
	FUZZ_CHECK(out.magic == PROTO_MAGIC && out.version == PROTO_VERSION);
	FUZZ_CHECK((out.op > OP_NONE && out.op < OP_REQUEST_MAX) ||
		   (out.op > OP_READER_MIN && out.op < OP_READER_MAX) ||
		   (out.op > OP_REPLY_MIN && out.op < OP_REPLY_MAX));
	FUZZ_CHECK(out.error < ERR_MAX && out.reserved == 0);
	FUZZ_CHECK(out.len < PROTO_TEXT_SIZE);
	FUZZ_CHECK(fuzz_terminated(out.id, sizeof(out.id)));
	FUZZ_CHECK(fuzz_terminated(out.id2, sizeof(out.id2)));
	FUZZ_CHECK(fuzz_terminated(out.text, sizeof(out.text)));
	FUZZ_CHECK(out.id[0] == '\0' || release_id_valid(out.id));
	FUZZ_CHECK(out.id2[0] == '\0' || release_id_valid(out.id2));
	/* Whatever the helper does with an id, it is one safe component. */
	FUZZ_CHECK(!strchr(out.id, '/') && !strchr(out.id2, '/'));
	FUZZ_CHECK(strcmp(out.id, "..") != 0 && strcmp(out.id2, "..") != 0);
	/* len is strlen or less for text ops; OUTPUT carries len raw bytes. */
	if (out.op != OP_OUTPUT)
		FUZZ_CHECK(strlen(out.text) <= out.len);
	FUZZ_CHECK(strcmp(proto_op_name(out.op), "") != 0);

	/* A decoded message decodes to itself: the helper may re-check. */
	memset(&again, 0x5a, sizeof(again));
	r = proto_decode(&out, sizeof(out), &again);
	FUZZ_CHECK(r == 0);
	if (r == 0)
		FUZZ_CHECK(memcmp(&out, &again, sizeof(out)) == 0);
}

int fuzz_proto(const uint8_t *data, size_t size)
{
	struct proto_msg *raw, built;
	const size_t head = offsetof(struct proto_msg, status);
	size_t take;

	/* As received: a copy of exactly size bytes so reads past it trap. */
	raw = calloc(1, size ? size : 1);
	if (!raw)
		return 0;
	if (size)
		memcpy(raw, data, size);
	fz_proto_check(raw, size);
	free(raw);

	if (size == 0)
		return 0;
	memset(&built, 0, sizeof(built));
	built.magic = PROTO_MAGIC;
	built.version = PROTO_VERSION;
	/* High bit: any op number, to probe the range check; else a request
	 * (or with 0x40 a reply) that exists, however many ops there are. */
	if (data[0] & 0x80)
		built.op = (uint16_t)((data[0] & 0x7f) * 3u);
	else if (data[0] & 0x40)
		built.op = (uint16_t)(OP_REPLY + (data[0] & 0x3f) % (OP_REPLY_MAX - OP_REPLY));
	else
		built.op = (uint16_t)(OP_LOCK + data[0] % (OP_REQUEST_MAX - OP_LOCK));
	take = size - 1 < sizeof(built) - head ? size - 1 : sizeof(built) - head;
	memcpy((char *)&built + head, data + 1, take);
	fz_proto_check(&built, sizeof(built));
	return 0;
}

FUZZ_ENTRY(fuzz_proto)
