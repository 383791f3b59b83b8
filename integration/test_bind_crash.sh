#!/bin/bash
# SPDX-License-Identifier: MIT
#
# mode = bind never shows nothing: a reader opening live/public/index.php
# in a tight loop through 12 switches never misses (it sees the old tree
# or the new one), and SIGKILL of every cutover process at 32 points
# spread over a switch (0 to 31 ms after it starts; one takes about 10)
# leaves live serving the old release or the new one (possibly both
# stacked, or the record ahead of the mount); cutover mount, or the next
# switch, then leaves exactly one mount, the release current names. The
# states a kill can leave are also made by hand in
# test_bind_mount_repair.sh, where the timing does not decide.
IT_OWN_MOUNT_NS=1
. "$(dirname "$0")/lib.sh"

bind_app_init
assert_ok co deploy --from "$SRC" || fatal "deploy v1 failed"
A=$(current_id)
set_index "$SRC" v2
run co -q stage --from "$SRC"
B=$OUT
[[ $RC == 0 && -n $B ]] || fatal "stage v2 failed" "$(it_last_output)"

step "a reader in a tight loop never finds nothing at live"
# perl: a few hundred thousand opens a second; counts what each saw.
reader=$S/reader.pl stop=$S/stop counts=$S/counts
cat >"$reader" <<'EOF'
my ($file, $stop, $out) = @ARGV;
my %seen;
my $n = 0;
while (1) {
	if (($n++ & 1023) == 0 && -e $stop) { last; }
	if (open(my $fh, '<', $file)) {
		my $body = <$fh>;
		close($fh);
		chomp $body if defined $body;
		$seen{defined $body ? $body : 'EMPTY'}++;
	} else {
		$seen{"MISSING $!"}++;
	}
}
open(my $o, '>', $out) or die;
print $o "$seen{$_}\t$_\n" for sort keys %seen;
EOF
READER=
bg READER perl "$reader" "$ROOT/live/public/index.php" "$stop" "$counts"
sleep 0.3
for i in $(seq 1 6); do
	assert_ok co -q switch "$B" || break
	assert_ok co -q switch "$A" || break
done
touch "$stop"
bg_wait "$READER"
[[ -s $counts ]] || fatal "the reader wrote no counts" "$ERR"
printf '   reader: %s\n' "$(tr '\t\n' ' ;' <"$counts")"
assert_eq "" "$(grep -v 'echo "v[12]";$' "$counts")" "lookups that found neither release"
assert_match "$(grep -c '' "$counts")" '^2$' "the reader saw both releases"
assert_live "$A" "after 12 switches"

step "SIGKILL at 32 points of a switch"
# perl starts the switch in a process group of its own, sleeps DELAY
# microseconds and kills the group: the front end, the helper and any
# child of the helper at once.
killer=$S/killer.pl
cat >"$killer" <<'EOF'
use POSIX ();
use Time::HiRes ();
my $delay = shift @ARGV;
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
	POSIX::setpgid(0, 0);
	exec(@ARGV) or POSIX::_exit(127);
}
POSIX::setpgid($pid, $pid);
Time::HiRes::usleep($delay);
kill('KILL', -$pid);
waitpid($pid, 0);
exit(($? & 127) ? 128 + ($? & 127) : $? >> 8);
EOF
states=()
for delay in $(seq 0 1000 31000); do
	cur=$(current_id)
	other=$([[ $cur == "$A" ]] && echo "$B" || echo "$A")
	run perl "$killer" "$delay" "$CUTOVER_BIN" -c "$CONF" -q switch "$APP" "$other"
	wait_for 5 no_cutover_procs || fail "cutover processes left after SIGKILL" "$(cutover_procs)"
	# Whatever happened, live shows one of the two, and nothing else.
	tops=$(live_mounts | awk '{ print $2 }' | sed 's|.*/releases/||' | paste -sd' ' -)
	shown=$(cat "$ROOT/live/public/index.php" 2>&1)
	[[ $shown == '<?php echo "v1";' || $shown == '<?php echo "v2";' ]] ||
		fail "killed after ${delay} us: live serves neither release" "$shown" "mounts: $tops"
	for t in $tops; do
		[[ $t == "$A" || $t == "$B" ]] || fail "killed after ${delay} us: a foreign mount at live: $t"
	done
	rec=$(current_id)
	[[ $rec == "$A" || $rec == "$B" ]] || fail "killed after ${delay} us: current is $rec"
	state="record $([[ $rec == "$A" ]] && echo v1 || echo v2), live $(tr ' ' '\n' <<<"$tops" |
		sed "s/^$A\$/v1/; s/^$B\$/v2/" | paste -sd+ -)"
	states+=("$state")
	printf '   killed after %5d us (exit %3s): %s\n' "$delay" "$RC" "$state"
	if (((delay / 1000) % 2)); then
		assert_ok co mount
	else
		# The next switch repairs first, then switches on.
		next=$([[ $rec == "$A" ]] && echo "$B" || echo "$A")
		assert_ok co switch "$next"
	fi
	assert_live "$(current_id)" "killed after ${delay} us, then repaired"
done
printf '   states seen: %s\n' "$(printf '%s\n' "${states[@]}" | LC_ALL=C sort | uniq -c | sed 's/^ *//' | paste -sd';' -)"
