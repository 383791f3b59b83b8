<?php

/*
 * A stand-in for Composer's vendor/autoload.php, for machines where Laravel
 * comes from Debian 12's packages (php-laravel-framework 8.83, autoloaded
 * from /usr/share/php) rather than from `composer install`.
 *
 * 1. Debian's autoloaders require their dependencies by include_path-relative
 *    names ('Carbon/autoload.php', ...), so /usr/share/php must be on the
 *    include_path; it is by default, but a php.ini may have replaced it.
 * 2. Illuminate/autoload.php loads the framework and every library it depends
 *    on, and the Debian-packaged "suggested" libraries that are installed
 *    (Doctrine DBAL among them, which Laravel 8 needs to drop, rename or
 *    change columns on SQLite).
 * 3. The application's own namespaces, as composer.json's "autoload" maps
 *    them: App\ -> app/, Database\Factories\ and Database\Seeders\ ->
 *    database/factories/ and database/seeders/.
 *
 * If `composer install` runs (with network access), it replaces this file
 * with Composer's own autoloader; nothing else here depends on the shim.
 */

(static function () {
    $debian = '/usr/share/php';
    $paths = explode(PATH_SEPARATOR, get_include_path());
    if (! in_array($debian, $paths, true)) {
        set_include_path(get_include_path().PATH_SEPARATOR.$debian);
    }

    require_once $debian.'/Illuminate/autoload.php';

    $base = dirname(__DIR__);
    $map = [
        'App\\' => $base.'/app/',
        'Database\\Factories\\' => $base.'/database/factories/',
        'Database\\Seeders\\' => $base.'/database/seeders/',
    ];

    spl_autoload_register(static function (string $class) use ($map): void {
        foreach ($map as $prefix => $dir) {
            if (strncmp($class, $prefix, strlen($prefix)) === 0) {
                $file = $dir.str_replace('\\', '/', substr($class, strlen($prefix))).'.php';
                if (is_file($file)) {
                    require $file;
                }

                return;
            }
        }
    });
})();
