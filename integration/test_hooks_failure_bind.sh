#!/bin/bash
# SPDX-License-Identifier: MIT
#
# integration/test_hooks_failure.sh in mode = bind: on_failure and
# after_rollback run at live, with the release they name mounted there.
IT_OWN_MOUNT_NS=1
HOOKS_BIND=1
. "$(dirname "$0")/test_hooks_failure.sh"
