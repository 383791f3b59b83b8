<?php

// The few messages the example app's forms can produce.

return [
    'required' => 'The :attribute field is required.',
    'string' => 'The :attribute must be a string.',
    'max' => [
        'string' => 'The :attribute must not be greater than :max characters.',
    ],
    'attributes' => [],
];
