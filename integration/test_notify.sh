#!/bin/bash
# SPDX-License-Identifier: MIT
#
# [notify] against webhook receivers on loopback (a small python3 server
# of the test's own that appends each POST body as one line to a file):
#
#  1. a deploy posts one JSON event: event deploy, outcome deployed, the
#     app, this host, the release now live, no previous, durations; the
#     next deploy names the first as previous;
#  2. a failing build posts outcome failed with the error line as reason
#     and the release still live as previous;
#  3. a failing health check posts auto-rolled-back, naming the release
#     that failed and the one live again;
#  4. cutover rollback posts event rollback, outcome rolled-back;
#  5. format = slack posts {"text": "cutover: APP deployed ..."};
#  6. a receiver that accepts connections and never answers: the deploy
#     exits 0, waits no longer than the timeout for it, and says so in one
#     warning line; an unreachable receiver is one warning line too, and a
#     second URL that works still gets the event.
. "$(dirname "$0")/lib.sh"

# receiver NAME MODE: starts a receiver (MODE ok: answers 200 to POSTs
# and records them in $S/NAME.bodies; hang: accepts and never answers);
# sets NAME_PORT.
receiver()
{
	local name=$1 mode=$2 pid port

	bg pid python3 -c '
import http.server, os, socket, sys, time
port_file, bodies, mode = sys.argv[1:4]
def ready(port):
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(port_file + ".tmp", port_file)
if mode == "hang":
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    ready(s.getsockname()[1])
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(bodies, "ab") as f:
            f.write(self.headers.get("Content-Type", "").encode() + b" " + self.path.encode() + b" " + body + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ready(srv.server_address[1])
srv.serve_forever()
' "$S/$name.port" "$S/$name.bodies" "$mode"
	wait_for 10 test -s "$S/$name.port" || fatal "the $name receiver did not start"
	port=$(cat "$S/$name.port")
	printf -v "${name}_PORT" '%s' "$port"
}

# closed_port: a loopback port nothing listens on.
closed_port()
{
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# events NAME: the bodies NAME received so far, one JSON document a line.
events()
{
	[[ -f $S/$1.bodies ]] && cut -d' ' -f3- "$S/$1.bodies"
}

# last_event NAME: the last one.
last_event()
{
	events "$1" | tail -n 1
}

# config [LINE...]: the app's config with [notify] url = the ok receiver
# and LINEs after it.
config()
{
	app_config "$CONF" "$ROOT" "$BUILD_LINE" "[notify]" "url = http://127.0.0.1:$OK_PORT/hook" "$@"
}

app_init
receiver OK ok
BUILD_LINE='run = true'
config

step "a deploy posts one event"
assert_ok co deploy --from "$SRC" || fatal "the first deploy failed"
V1=$(current_id)
assert_eq 1 "$(events OK | grep -c '')" "one event after one deploy"
assert_eq "application/json /hook" "$(cut -d' ' -f1-2 "$S/OK.bodies" | tail -n 1)" "Content-Type and path of the POST"
ev=$(last_event OK)
assert_eq "deploy deployed $APP $(hostname) $V1 null null" \
	"$(jq -r '"\(.event) \(.outcome) \(.app) \(.host) \(.release) \(.previous) \(.reason)"' <<<"$ev")" "the event's fields ($ev)"
assert_eq "number number number" \
	"$(jq -r '[.durations_ms.build, .durations_ms.switch, .durations_ms.total] | map(type) | join(" ")' <<<"$ev")" "durations"
assert_match "$(jq -r .time <<<"$ev")" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "the event's time"
assert_not_contains "$ERR" "notification" "no warning when the receiver took it"

set_index "$SRC" v2
run co deploy --from "$SRC"
BASE_MS=$ELAPSED_MS
assert_eq 0 "$RC" "the second deploy"
V2=$(current_id)
assert_eq "deployed $V2 $V1" "$(last_event OK | jq -r '"\(.outcome) \(.release) \(.previous)"')" "the second event names the first as previous"

step "a failing build posts failed with the reason"
BUILD_LINE='run = exit 3'
config
assert_exit 1 co deploy --from "$SRC"
ev=$(last_event OK)
assert_eq 3 "$(events OK | grep -c '')" "one event per deploy"
assert_eq "deploy failed $V2 null" "$(jq -r '"\(.event) \(.outcome) \(.previous) \(.durations_ms.build)"' <<<"$ev")" \
	"the failed event names the release still live as previous ($ev)"
assert_contains "$(jq -r .reason <<<"$ev")" "build step 1 'exit 3' failed with exit code 3" "the reason is the error line"
assert_match "$(jq -r .release <<<"$ev")" '^[0-9]{8}T' "the event names the failed release"
assert_eq "$V2" "$(current_id)" "current after the failed build"

step "a failing health check posts the automatic rollback"
BUILD_LINE='run = true'
config "[health]" "url = http://127.0.0.1:$(closed_port)/up" "timeout = 2" "retries = 1"
set_index "$SRC" v3
assert_exit 3 co deploy --from "$SRC"
ev=$(last_event OK)
assert_eq "deploy auto-rolled-back $V2" "$(jq -r '"\(.event) \(.outcome) \(.previous)"' <<<"$ev")" "the rollback event ($ev)"
assert_ne "$V2" "$(jq -r .release <<<"$ev")" "the event names the release that failed"
assert_contains "$(jq -r .reason <<<"$ev")" "health check failed" "the reason"
assert_eq "number" "$(jq -r '.durations_ms.switch | type' <<<"$ev")" "the switch took a time"
assert_eq "$V2" "$(current_id)" "current after the automatic rollback"

step "cutover rollback posts rolled-back"
config
assert_ok co rollback
ev=$(last_event OK)
assert_eq "rollback rolled-back $V1 $V2 null" \
	"$(jq -r '"\(.event) \(.outcome) \(.release) \(.previous) \(.reason)"' <<<"$ev")" "the rollback event ($ev)"

step "format = slack"
config "format = slack"
set_index "$SRC" v4
assert_ok co deploy --from "$SRC"
V4=$(current_id)
ev=$(last_event OK)
assert_eq "text" "$(jq -r 'keys | join(",")' <<<"$ev")" "a slack body has text only ($ev)"
assert_match "$(jq -r .text <<<"$ev")" "^cutover: $APP deployed $V4 on $(hostname) \\(previous: $V1\\) in [0-9.]+ s$" "the slack text"

step "a receiver that never answers"
receiver HANG hang
app_config "$CONF" "$ROOT" "$BUILD_LINE" "[notify]" "url = http://127.0.0.1:$HANG_PORT/hook" "timeout = 2" "retries = 3"
set_index "$SRC" v5
run co deploy --from "$SRC"
assert_eq 0 "$RC" "the deploy exits 0 ($(it_last_output))"
assert_eq 1 "$(grep -c '^cutover: warning: notification not sent' <<<"$ERR")" "one warning line"
assert_contains "$ERR" "(timeout 2 s)" "the warning gives the timeout"
((ELAPSED_MS >= 2000)) || fail "the deploy did not wait for the receiver" "$ELAPSED_MS ms"
((ELAPSED_MS - BASE_MS < 4500)) || fail "the hanging receiver delayed the deploy beyond its timeout" \
	"deploy ${ELAPSED_MS} ms, a deploy without it ${BASE_MS} ms, timeout 2 s"

step "an unreachable receiver, and a second URL that works"
app_config "$CONF" "$ROOT" "$BUILD_LINE" "[notify]" "url = http://127.0.0.1:$(closed_port)/gone" \
	"url = http://127.0.0.1:$OK_PORT/hook" "retries = 1"
n=$(events OK | grep -c '')
set_index "$SRC" v6
run co deploy --from "$SRC"
assert_eq 0 "$RC" "the deploy exits 0 ($(it_last_output))"
assert_eq 1 "$(grep -c '^cutover: warning: notification not sent' <<<"$ERR")" "one warning line"
assert_contains "$ERR" "after 2 tries" "the warning counts the tries"
assert_eq $((n + 1)) "$(events OK | grep -c '')" "the working URL still got the event"
assert_eq "deployed $(current_id)" "$(last_event OK | jq -r '"\(.outcome) \(.release)"')" "its event"
