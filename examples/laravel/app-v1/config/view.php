<?php

return [

    'paths' => [
        resource_path('views'),
    ],

    // Compiled Blade templates live inside the release, not in the shared
    // storage/: `php artisan view:cache` starts with `view:clear`, which
    // deletes everything in this directory, and in a shared directory that
    // would be the live release's compiled views. The release is read-only
    // after the build, so `view:cache` must compile every view then.
    // An empty VIEW_COMPILED_PATH means the default.
    'compiled' => env('VIEW_COMPILED_PATH') ?: base_path('bootstrap/cache/views'),

];
