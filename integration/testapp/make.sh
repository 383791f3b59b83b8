#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# integration/testapp/make.sh OUTDIR ID [--slow-ms N] [--size N]
#
# Writes one release of the test app into OUTDIR (made if missing; refused
# if it holds anything): every PHP file carries ID as a literal, so a
# response names the release each file was compiled from.
#
#   OUTDIR/RELEASE            ID
#   OUTDIR/a.php, b.php       return 'ID'; outside public/, so never served directly
#   OUTDIR/public/index.php   includes a.php, sleeps, includes b.php, prints
#                             "a=<id from a.php> b=<id from b.php> i=<id from index.php>";
#                             /up prints "OK"; /opcache prints OPcache's memory
#                             and restart counters as key=value lines;
#                             ?sleep=MS overrides the sleep
#   OUTDIR/public/static.txt  "a=ID b=ID i=static", served by nginx alone
#   OUTDIR/vendor/            with --size N: N classes of ~4 KB, all loaded by
#                             index.php on every request, so a few releases
#                             fill OPcache (roughly 20 KB of it per file)
#
# --slow-ms N   default sleep between the two includes, in ms (default 20)
set -euo pipefail

usage()
{
	echo "usage: make.sh OUTDIR ID [--slow-ms N] [--size N]" >&2
	exit 2
}

[[ $# -ge 2 ]] || usage
out=$1 id=$2
shift 2
slow_ms=20 size=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--slow-ms) [[ $# -ge 2 ]] || usage; slow_ms=$2; shift 2 ;;
	--size) [[ $# -ge 2 ]] || usage; size=$2; shift 2 ;;
	*) usage ;;
	esac
done
# The id is pasted into PHP string literals and must stay one token of the
# response body.
if ! [[ $id =~ ^[A-Za-z0-9._:-]{1,63}$ ]]; then
	echo "make.sh: release id '$id' must be 1-63 of [A-Za-z0-9._:-]" >&2
	exit 2
fi
if ! [[ $slow_ms =~ ^[0-9]+$ && $size =~ ^[0-9]+$ ]] || ((size > 100000)); then
	echo "make.sh: --slow-ms and --size take whole numbers (--size at most 100000)" >&2
	exit 2
fi
if [[ -e $out && -n $(ls -A "$out" 2> /dev/null) ]]; then
	echo "make.sh: $out is not empty; a release is written once" >&2
	exit 1
fi

umask 022
mkdir -p "$out/public"
printf '%s\n' "$id" > "$out/RELEASE"
printf "<?php\n// release %s\nreturn '%s';\n" "$id" "$id" > "$out/a.php"
printf "<?php\n// release %s\nreturn '%s';\n" "$id" "$id" > "$out/b.php"
printf 'a=%s b=%s i=static\n' "$id" "$id" > "$out/public/static.txt"

vendor=
if ((size > 0)); then
	mkdir -p "$out/vendor/lib"
	vendor="require __DIR__ . '/../vendor/autoload.php';"
	# One awk for all files: a shell loop would take seconds at --size 5000.
	awk -v n="$size" -v dir="$out/vendor" -v id="$id" 'BEGIN {
		auto = dir "/autoload.php"
		print "<?php\n// release " id > auto
		for (f = 0; f < n; f++) {
			cls = sprintf("F%05d", f)
			path = dir "/lib/" cls ".php"
			print "<?php\nnamespace Vendor;\n\n// release " id > path
			print "final class " cls "\n{" > path
			print "\tconst RELEASE = \x27" id "\x27;" > path
			for (m = 0; m < 16; m++) {
				print "\tpublic static function m" m "(int $x, string $s = \x27" cls "-" m "\x27): string" > path
				print "\t{" > path
				print "\t\t$y = ($x * " (f * 31 + m) ") % 977;" > path
				print "\t\tif ($y > " (m * 7) ") {" > path
				print "\t\t\t$s .= str_repeat(\x27" cls "m" m "\x27, $y % 3) . self::RELEASE;" > path
				print "\t\t}" > path
				print "\t\treturn strtoupper($s) . \x27:\x27 . $y;" > path
				print "\t}" > path
			}
			print "}" > path
			close(path)
			print "require __DIR__ . \x27/lib/" cls ".php\x27;" > auto
		}
		close(auto)
	}'
fi

cat > "$out/public/index.php" <<EOF
<?php
// Test app release $id, written by integration/testapp/make.sh. The two ids come
// from two files included some milliseconds apart through __DIR__, as a
// framework loads its code: if they differ the response is torn; if they
// are not the live release it is stale.
\$i = '$id';
\$path = parse_url(\$_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);
header('Content-Type: text/plain');
header('Cache-Control: no-store');
if (\$path === '/up') {
	echo "OK\n";
	return;
}
if (\$path === '/opcache') {
	// One key=value a line, for scripts watching OPcache fill up.
	\$s = function_exists('opcache_get_status') ? opcache_get_status(false) : false;
	if (!\$s) {
		echo "enabled=0\n";
		return;
	}
	\$m = \$s['memory_usage'];
	\$o = \$s['opcache_statistics'];
	printf("enabled=1\nfull=%d\nused_memory=%d\nfree_memory=%d\nwasted_memory=%d\n" .
		"cached_scripts=%d\nhits=%d\nmisses=%d\noom_restarts=%d\nhash_restarts=%d\nmanual_restarts=%d\n",
		\$s['cache_full'], \$m['used_memory'], \$m['free_memory'], \$m['wasted_memory'],
		\$o['num_cached_scripts'], \$o['hits'], \$o['misses'], \$o['oom_restarts'],
		\$o['hash_restarts'], \$o['manual_restarts']);
	return;
}
\$a = include __DIR__ . '/../a.php';
${vendor:+$vendor
}// Sleep the whole time even if a signal cuts usleep() short: php-fpm's
// graceful SIGQUIT to a worker interrupts the sleep, and a request that
// ended early would hide whether a reload waited for it.
\$ms = min(max(isset(\$_GET['sleep']) ? (int)\$_GET['sleep'] : $slow_ms, 0), 60000);
\$until = hrtime(true) + \$ms * 1000000;
while ((\$left = \$until - hrtime(true)) > 0) {
	usleep(intdiv(\$left, 1000) + 1);
}
\$b = include __DIR__ . '/../b.php';
echo "a=\$a b=\$b i=\$i\n";
EOF
