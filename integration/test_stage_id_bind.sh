#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_stage_id.sh with mode = bind: the release is mounted at live, and the
# sandbox runs a staged release there.
IT_OWN_MOUNT_NS=1
IT_BIND=1
. "$(dirname "$0")/test_stage_id.sh"
