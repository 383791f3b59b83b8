#!/bin/bash
# SPDX-License-Identifier: MIT
#
# preset = laravel builds the bundled Laravel app (examples/laravel) right:
#
#  1. deploy v1 exits 0; bootstrap/cache/config.php was written at the
#     release's final path: its view, session, log and view-compiled paths
#     are ROOT/releases/<id>/..., never a staging or temporary directory;
#     route:cache and event:cache wrote routes-v7.php and events.php; the
#     compiled views are inside the release (bootstrap/cache/views/*.php)
#     and none in shared/storage/framework/views, also after pages were
#     served; GET / through nginx says "version: v1".
#  2. shared/storage has framework/{cache/data,sessions,views}, logs and
#     app/public, each nobody:www-data, setgid, 2770.
#  3. The shared .env is read at build time only (config:cache): a new
#     APP_NAME written after the deploy does not show until the next
#     deploy, and does after it. Documented: a .env change needs a deploy.
#  4. The second deploy's view:cache (view:clear + compile) leaves the live
#     release's compiled views alone: while v2 is built and published, v1's
#     bootstrap/cache/views stays byte for byte the same, the shared views
#     directory gets no compiled view and GET / keeps answering 200.
#     Even VIEW_COMPILED_PATH set in the shared .env to the shared
#     storage cannot move them there (the preset's environment wins).
. "$(dirname "$0")/lib.sh"

# views_digest DIR: the sha256 of every file in DIR, sorted by name.
views_digest()
{
	(cd "$1" && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs -r sha256sum) 2>&1
}

# compiled_in DIR: the compiled views (*.php) in DIR, space-separated.
# (The first release's storage/ skeleton seeds the shared one, so its
# .gitignore files are there too.)
compiled_in()
{
	find "$1" -maxdepth 1 -name '*.php' -printf '%f\n' 2>&1 | LC_ALL=C sort | paste -sd' ' -
}

# config_paths ID: the paths the cached config of release ID holds, one
# a line: view paths[0], view compiled, session files, the single log
# channel's path, the cache store's path, app.name.
config_paths()
{
	# shellcheck disable=SC2016 # PHP code, not shell
	php -r '$c = require $argv[1];
		echo $c["view"]["paths"][0], "\n", $c["view"]["compiled"], "\n", $c["session"]["files"], "\n",
			$c["logging"]["channels"]["single"]["path"], "\n", $c["cache"]["stores"]["file"]["path"], "\n",
			$c["app"]["name"], "\n";' -- "$ROOT/releases/$1/bootstrap/cache/config.php" 2>&1
}

# watch_live ID DIGEST: until S/watch.stop exists, checks every ~50 ms
# that release ID's compiled views still have DIGEST, that the shared
# views directory is empty and that GET / answers 200; prints one line per
# problem seen and "checks=N" at the end.
watch_live()
{
	local id=$1 digest=$2 n=0 code shared

	while [[ ! -e $S/watch.stop ]]; do
		[[ $(views_digest "$ROOT/releases/$id/bootstrap/cache/views") == "$digest" ]] ||
			echo "the compiled views of $id changed (check $n)"
		shared=$(compiled_in "$ROOT/shared/storage/framework/views")
		[[ -z $shared ]] || echo "shared/storage/framework/views holds: $shared (check $n)"
		code=$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' "$URL/")
		[[ $code == 200 ]] || echo "GET / answered $code (check $n)"
		n=$((n + 1))
		sleep 0.05
	done
	echo "checks=$n"
}

laravel_app_init

step "deploy v1 with preset = laravel"
assert_ok laravel_deploy v1 || fatal "the first deploy failed"
V1=$(release_of v1)
assert_eq "$V1" "$(current_id)" "current after the first deploy"
for s in "config:cache" "route:cache" "view:cache" "event:cache" "migrate --force" "queue:restart"; do
	assert_contains "$ERR" "$s" "the deploy ran $s"
done
assert_manifest_ok "$ROOT" "$V1"

step "config:cache ran at the release's final path"
R1=$ROOT/releases/$V1
assert_file_exists "$R1/bootstrap/cache/config.php" "config:cache wrote bootstrap/cache/config.php"
assert_eq "$(printf '%s\n' "$R1/resources/views" "$R1/bootstrap/cache/views" \
	"$R1/storage/framework/sessions" "$R1/storage/logs/laravel.log" \
	"$R1/storage/framework/cache/data" "cutover-demo")" "$(config_paths "$V1")" \
	"view paths, view compiled, session files, log, cache and app name in v1's cached config"
assert_eq 0 "$(grep -c -e '/\.cutover/' -e 'staging' "$R1/bootstrap/cache/config.php")" \
	"v1's cached config names no staging directory"
assert_contains "$(grep "'database' => '" "$R1/bootstrap/cache/config.php")" "'database' => '$DB'" \
	"the cached config names the shared database (from the shared .env)"
for f in routes-v7.php events.php packages.php services.php; do
	assert_file_exists "$R1/bootstrap/cache/$f" "bootstrap/cache/$f in the frozen release"
done
assert_contains "$(cat "$R1/bootstrap/cache/events.php" 2>&1)" "App\\\\Listeners\\\\LogNoteCreated" \
	"event:cache cached the NoteCreated listener"

step "compiled views are in the release, not in the shared storage"
n_views=$(find "$R1/bootstrap/cache/views" -maxdepth 1 -name '*.php' | wc -l)
assert_lt 4 "$n_views" "compiled views in v1's bootstrap/cache/views (README: 22)"
assert_eq "" "$(compiled_in "$ROOT/shared/storage/framework/views")" "compiled views in shared/storage/framework/views after the build"

step "v1 is served"
assert_eq "version: v1" "$(page_version)" "GET / through nginx"
http_request GET /login
assert_eq 200 "$HTTP_STATUS" "GET /login"
http_request GET /note
assert_eq 200 "$HTTP_STATUS" "GET /note"
http_request GET /no-such-page
assert_eq 404 "$HTTP_STATUS" "GET /no-such-page (a precompiled error view)"
assert_eq "" "$(compiled_in "$ROOT/shared/storage/framework/views")" "compiled views in shared/storage/framework/views after serving pages"
V1_VIEWS=$(views_digest "$R1/bootstrap/cache/views")
assert_eq "$n_views" "$(printf '%s\n' "$V1_VIEWS" | grep -c '[.]php$')" "serving pages compiled no new view in v1"

step "the shared storage's directories: nobody:www-data, setgid"
for d in framework framework/cache framework/cache/data framework/sessions framework/views logs app app/public; do
	assert_eq "directory nobody:www-data 2770" \
		"$(stat -c '%F %U:%G %a' "$ROOT/shared/storage/$d" 2>&1)" "shared/storage/$d"
done

step "the shared .env is read at build time only"
NAME=renamed-$(random_hex 6)
env_text=$(sed "s/^APP_NAME=.*/APP_NAME=$NAME/" "$ROOT/shared/.env")
# Rewritten in place: the administrator's file keeps its owner and mode.
printf '%s\n' "$env_text" >"$ROOT/shared/.env"
grep -q "^APP_NAME=$NAME\$" "$ROOT/shared/.env" || fatal "could not change APP_NAME in the shared .env"
page=$(curl -s --max-time 10 "$URL/")
assert_contains "$page" "cutover-demo</title>" "after the .env changed, the page still has the name baked in at build time"
assert_not_contains "$page" "$NAME" "the new APP_NAME does not show before a deploy (a .env change needs a deploy)"

step "deploy v2: v1's compiled views and the shared views stay as they are"
laravel_version v2
shared_views_before=$(tree_snapshot "$ROOT/shared/storage/framework/views")
bg WATCH watch_live "$V1" "$V1_VIEWS"
sleep 0.3
run laravel_deploy v2
deploy_rc=$RC deploy_out=$(it_last_output)
touch "$S/watch.stop"
V2=$(release_of v2)
bg_wait "$WATCH"
watch_out=$OUT
[[ $deploy_rc == 0 ]] || fail "deploy v2 exited $deploy_rc" "$deploy_out"
printf 'watcher: %s\n' "$(tail -n 1 <<<"$watch_out")"
assert_match "$watch_out" 'checks=[1-9][0-9]*$' "the watcher checked during the deploy"
assert_eq "" "$(grep -v '^checks=' <<<"$watch_out")" "problems seen while v2 was deployed"
assert_eq "$V2" "$(current_id)" "current after deploying v2"
assert_eq "$V1_VIEWS" "$(views_digest "$R1/bootstrap/cache/views")" "v1's compiled views after deploying v2"
assert_tree_same "$shared_views_before" "$ROOT/shared/storage/framework/views" \
	"shared/storage/framework/views after deploying v2"
assert_eq "" "$(compiled_in "$ROOT/shared/storage/framework/views")" "compiled views in shared/storage/framework/views after deploying v2"
assert_lt 4 "$(find "$ROOT/releases/$V2/bootstrap/cache/views" -maxdepth 1 -name '*.php' | wc -l)" \
	"compiled views in v2's own bootstrap/cache/views"
assert_eq "$ROOT/releases/$V2/bootstrap/cache/views" "$(config_paths "$V2" | sed -n 2p)" \
	"v2's cached config compiles views into v2's release"

step "after the next deploy the new APP_NAME shows"
assert_eq "version: v2" "$(page_version)" "GET / after deploying v2"
page=$(curl -s --max-time 10 "$URL/")
assert_contains "$page" "$NAME</title>" "the page has the APP_NAME the .env held when v2 was built"
assert_eq "$NAME" "$(config_paths "$V2" | sed -n 6p)" "app.name in v2's cached config"
assert_eq "cutover-demo" "$(config_paths "$V1" | sed -n 6p)" "app.name in v1's cached config is unchanged"

step "rollback to v1 brings v1's name back (its config is frozen with it)"
assert_ok co -q rollback
assert_eq "$V1" "$(current_id)" "current after the rollback"
assert_contains "$(curl -s --max-time 10 "$URL/")" "cutover-demo</title>" "v1 serves the name it was built with"

step "VIEW_COMPILED_PATH in the shared .env cannot send compiled views to the shared storage"
# The preset sets VIEW_COMPILED_PATH in config:cache's environment, which
# wins over .env: a shared compiled-views directory would be emptied by
# the next deploy's view:clear, under the live release.
env_text=$(sed "s#^VIEW_COMPILED_PATH=.*#VIEW_COMPILED_PATH=$ROOT/shared/storage/framework/views#" "$ROOT/shared/.env")
printf '%s\n' "$env_text" >"$ROOT/shared/.env"
laravel_version v2b v2
assert_ok laravel_deploy v2b -q
V2B=$(release_of v2b)
assert_eq "$V2B" "$(current_id)" "current after deploying v2b"
assert_eq "$ROOT/releases/$V2B/bootstrap/cache/views" "$(config_paths "$V2B" | sed -n 2p)" \
	"v2b's cached config compiles views into its release despite the .env"
assert_eq "" "$(compiled_in "$ROOT/shared/storage/framework/views")" \
	"compiled views in shared/storage/framework/views after deploying v2b"
assert_eq "version: v2" "$(page_version)" "GET / after deploying v2b"
