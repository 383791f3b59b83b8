<?php

namespace App\Http\Controllers;

use App\Models\Note;

class HomeController extends Controller
{
    public function index()
    {
        $count = Note::query()->count();

        // Only the columns this release knows, never select * into
        // something strict: a later release may have added columns.
        $notes = Note::query()
            ->select(['id', 'text', 'author', 'created_at'])
            ->orderByDesc('id')
            ->limit(10)
            ->get();

        return view('home', [
            'greeting' => 'Hello from the database: '.$count.' '.($count === 1 ? 'note' : 'notes').'.',
            'notes' => $notes,
        ]);
    }
}
