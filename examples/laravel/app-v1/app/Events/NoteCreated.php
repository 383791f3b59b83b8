<?php

namespace App\Events;

use Illuminate\Foundation\Events\Dispatchable;

class NoteCreated
{
    use Dispatchable;

    /** @var int */
    public $id;

    public function __construct(int $id)
    {
        $this->id = $id;
    }
}
