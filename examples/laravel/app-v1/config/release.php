<?php

// What this release is. Each version of the example app (make-release.sh)
// replaces this file.

return [
    'version' => 'v1',

    // When true, GET /up throws (500): a release that must fail its health
    // check.
    'health_fail' => false,
];
