<?php
// The bundled example app: shows which release is serving.
$release = basename(dirname(__DIR__));
$version = trim(@file_get_contents(__DIR__ . '/../VERSION') ?: 'unknown');
$built = trim(@file_get_contents(__DIR__ . '/../build-info.txt') ?: 'not built');
echo "hello from version $version (release $release; $built)\n";
