<?php

// Controllers only: `php artisan route:cache` cannot serialize closures in
// Laravel 8.

use App\Http\Controllers\HomeController;
use App\Http\Controllers\NoteController;
use App\Http\Controllers\SessionController;
use Illuminate\Support\Facades\Route;

Route::get('/', [HomeController::class, 'index'])->name('home');

Route::get('/note', [NoteController::class, 'create'])->name('note.create');
Route::post('/note', [NoteController::class, 'store'])->name('note.store');

Route::get('/login', [SessionController::class, 'create'])->name('login');
Route::post('/login', [SessionController::class, 'store'])->name('login.store');
Route::get('/me', [SessionController::class, 'show'])->name('me');
Route::post('/logout', [SessionController::class, 'destroy'])->name('logout');
