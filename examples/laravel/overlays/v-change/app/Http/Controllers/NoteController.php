<?php

namespace App\Http\Controllers;

use App\Events\NoteCreated;
use App\Models\Note;
use Illuminate\Http\Request;

class NoteController extends Controller
{
    public function create()
    {
        return view('note');
    }

    public function store(Request $request)
    {
        $data = $this->validate($request, [
            'body' => 'required|string|max:50',
            'author' => 'nullable|string|max:100',
        ]);

        $note = Note::create([
            'body' => $data['body'],
            'author' => $data['author'] ?? null,
        ]);

        NoteCreated::dispatch((int) $note->id);

        return redirect('/')->with('status', 'Note '.$note->id.' saved.');
    }
}
