<?php

return [

    'default' => env('DB_CONNECTION', 'sqlite'),

    'connections' => [

        // DB_DATABASE: an absolute path outside the release (the release is
        // read-only), in a directory the web server's user can write: SQLite
        // creates its journal next to the file.
        'sqlite' => [
            'driver' => 'sqlite',
            'url' => env('DATABASE_URL'),
            'database' => env('DB_DATABASE', database_path('database.sqlite')),
            'prefix' => '',
            'foreign_key_constraints' => env('DB_FOREIGN_KEYS', true),
        ],

    ],

    'migrations' => 'migrations',

];
