<?php
// Run inside a PHP-FPM pool by cutover (`[fpm] reload = opcache-reset`),
// through a FastCGI request the privileged helper builds itself. It lives
// next to the helper, never under a document root, so no web request can
// reach it. opcache_reset() only schedules the reset: the cache is rebuilt
// once no process is using it (see docs/FPM.md).
header('Content-Type: text/plain');
if (!function_exists('opcache_reset')) {
    http_response_code(501);
    echo "OPcache is not loaded in this pool\n";
    return;
}
$status = function_exists('opcache_get_status') ? opcache_get_status(false) : false;
$ok = opcache_reset();
echo $ok ? "OK\n" : "FAILED\n";
if (is_array($status)) {
    printf("cache_full=%d used=%d free=%d scripts=%d\n",
        $status['cache_full'] ? 1 : 0,
        $status['memory_usage']['used_memory'] ?? 0,
        $status['memory_usage']['free_memory'] ?? 0,
        $status['opcache_statistics']['num_cached_scripts'] ?? 0);
}
