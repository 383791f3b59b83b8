<?php

namespace App\Providers;

use Illuminate\Foundation\Support\Providers\RouteServiceProvider as ServiceProvider;
use Illuminate\Support\Facades\Route;

class RouteServiceProvider extends ServiceProvider
{
    public const HOME = '/';

    public function boot()
    {
        $this->routes(function () {
            // The health check runs without the web group: no session file,
            // no cookie, no CSRF for every probe.
            Route::group([], base_path('routes/health.php'));

            Route::middleware('web')->group(base_path('routes/web.php'));
        });
    }
}
