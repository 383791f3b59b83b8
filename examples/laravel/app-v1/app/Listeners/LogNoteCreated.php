<?php

namespace App\Listeners;

use App\Events\NoteCreated;
use Illuminate\Support\Facades\Log;

class LogNoteCreated
{
    public function handle(NoteCreated $event)
    {
        Log::info('note created', ['id' => $event->id, 'version' => config('release.version')]);
    }
}
