<?php

namespace App\Http\Controllers;

use Illuminate\Support\Facades\DB;
use RuntimeException;

class HealthController extends Controller
{
    /**
     * GET /up: plain "OK" with 200 once the app boots and its database
     * answers; a 500 otherwise (the exception handler renders it).
     */
    public function up()
    {
        if (config('release.health_fail')) {
            throw new RuntimeException('health check failure requested by config release.health_fail');
        }

        DB::select('select 1');

        return $this->plain('OK');
    }

    /**
     * GET /version: the release's version alone, for scripts.
     */
    public function version()
    {
        return $this->plain((string) config('release.version'));
    }

    /**
     * GET /probe: "a=VERSION b=VERSION" for cutover's load generator. a is
     * the version in the configuration loaded when the request began (the
     * cached config of the release that serves it), b the one in the
     * release's config/release.php read ~20 ms later; the two differ only
     * if one request ran code of two releases (a torn request).
     */
    public function probe()
    {
        $a = (string) config('release.version');
        usleep(20000);
        $b = (string) (require base_path('config/release.php'))['version'];

        return $this->plain("a=$a b=$b\n");
    }

    private function plain(string $text)
    {
        return response($text, 200, [
            'Content-Type' => 'text/plain; charset=UTF-8',
            'Cache-Control' => 'no-store',
        ]);
    }
}
