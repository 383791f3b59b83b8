<?php

// What this release is. Each version of the example app (make-release.sh)
// replaces this file.

return [
    'version' => 'v3',

    // v3 is the release whose health check fails: GET /up throws (500)
    // while every other page works.
    'health_fail' => true,
];
