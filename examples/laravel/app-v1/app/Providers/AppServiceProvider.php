<?php

namespace App\Providers;

use Illuminate\Foundation\Exceptions\RegisterErrorViewPaths;
use Illuminate\Support\Facades\View;
use Illuminate\Support\ServiceProvider;
use ReflectionClass;

class AppServiceProvider extends ServiceProvider
{
    public function register()
    {
        //
    }

    public function boot()
    {
        // Compiled views live inside the release (config/view.php), which
        // is read-only once frozen, so every view the app can render must be
        // compiled by `php artisan view:cache` during the build. That
        // command compiles the view paths and the namespaces registered when
        // it runs; the framework's error pages (errors::404, ::419, ::500,
        // ::503, ...) are registered by the exception handler only when it
        // renders one, so register their directory here for the build.
        if ($this->app->runningInConsole()) {
            $framework = dirname((new ReflectionClass(RegisterErrorViewPaths::class))->getFileName()).'/views';
            View::addNamespace('errors', $framework);
        }
    }
}
