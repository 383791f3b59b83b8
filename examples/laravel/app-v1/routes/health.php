<?php

// Loaded without the web middleware group (see RouteServiceProvider): no
// session, cookies or CSRF for probes.

use App\Http\Controllers\HealthController;
use Illuminate\Support\Facades\Route;

Route::get('/up', [HealthController::class, 'up'])->name('up');
Route::get('/version', [HealthController::class, 'version'])->name('version');
Route::get('/probe', [HealthController::class, 'probe'])->name('probe');
