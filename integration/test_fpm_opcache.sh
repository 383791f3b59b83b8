#!/bin/bash
# SPDX-License-Identifier: MIT
#
# OPcache does not silt up across deploys. A small OPcache
# (opcache_memory = 32 MB, of which web.sh's interned strings buffer takes
# 16 MB: 16 is the least php-fpm starts with) and an app of SIZE vendor
# classes loaded on every request, so that two releases fit in it and
# three do not:
#
#  - control, with reload = none: after 3 releases were served, OPcache
#    reports full=1 (the app is large enough to prove the point);
#  - then 30 deploys with reload = graceful, each release served once:
#    afterwards OPcache is not full, has not restarted for lack of memory,
#    holds every script of the live release, and a request for it is
#    served from the cache alone (no miss).
#
# Numbers from integration/testapp/make.sh: about 26 KB of OPcache per class
# here, so SIZE = 250 is about 6.5 MB a release against 16 MB.
. "$(dirname "$0")/lib.sh"

SIZE=250
# app scripts compiled for GET /: index.php, a.php, b.php, vendor/autoload.php
SCRIPTS=$((SIZE + 4))

web_app_init opcache_memory=32

# opcache KEY: KEY from the app's /opcache page (through nginx, so from
# the pool's shared OPcache).
opcache()
{
	served /opcache | sed -n "s/^$1=//p"
}

# deploy_served LABEL: deploys a new release of SIZE classes, then GET /.
deploy_served()
{
	app_version "$1" --size "$SIZE"
	run deploy_version "$1" -q
	rm -rf "${SRCS:?}/$1"
	if ((RC != 0)); then
		fail "deploy $1 exited $RC" "$(it_last_output)"
		return 1
	fi
	served / | grep -q "^a=$1 b=$1 i=$1\$" || fail "after deploy $1, GET / did not serve $1" "$(served /)"
}

step "control: reload = none, 3 releases served overflow OPcache"
web_app_config fpm.reload=none
deploy_served c1
assert_eq 0 "$(opcache full)" "OPcache full after one release"
deploy_served c2
deploy_served c3
printf 'after 3 releases without reload: %s\n' "$(served /opcache | paste -sd' ' -)"
assert_eq 1 "$(opcache full)" "OPcache full after 3 releases without reload (else SIZE is too small to test anything)"

step "30 deploys with reload = graceful"
web_app_config
failed=0
for ((i = 1; i <= 30; i++)); do
	deploy_served "g$i" || failed=$((failed + 1))
done
assert_eq 0 "$failed" "deploys that failed"
assert_eq "$(release_of g30)" "$(current_id)" "current after 30 deploys"
assert_eq 3 "$(dir_list "$ROOT/releases" | wc -w)" "releases kept (keep = 3)"

step "OPcache afterwards"
state=$(served /opcache)
printf 'after 30 deploys with graceful reloads: %s\n' "$(paste -sd' ' - <<<"$state")"
assert_eq 1 "$(sed -n 's/^enabled=//p' <<<"$state")" "OPcache enabled"
assert_eq 0 "$(sed -n 's/^full=//p' <<<"$state")" "OPcache full"
assert_eq 0 "$(sed -n 's/^oom_restarts=//p' <<<"$state")" "OPcache restarts for lack of memory"
cached=$(sed -n 's/^cached_scripts=//p' <<<"$state")
((cached >= SCRIPTS)) || fail "OPcache holds $cached scripts, fewer than the live release's $SCRIPTS"
misses_before=$(sed -n 's/^misses=//p' <<<"$state")
hits_before=$(sed -n 's/^hits=//p' <<<"$state")
served / | grep -q '^a=g30 b=g30 i=g30$' || fail "GET / does not serve g30" "$(served /)"
state=$(served /opcache)
# The two /opcache requests compile nothing new (index.php is cached).
assert_eq "$misses_before" "$(sed -n 's/^misses=//p' <<<"$state")" "OPcache misses for a request of the live release"
hits=$(sed -n 's/^hits=//p' <<<"$state")
((hits - hits_before >= SCRIPTS)) ||
	fail "a request of the live release hit OPcache $((hits - hits_before)) times, fewer than its $SCRIPTS scripts"
