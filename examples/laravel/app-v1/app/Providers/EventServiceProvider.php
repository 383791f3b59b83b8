<?php

namespace App\Providers;

use App\Events\NoteCreated;
use App\Listeners\LogNoteCreated;
use Illuminate\Foundation\Support\Providers\EventServiceProvider as ServiceProvider;

class EventServiceProvider extends ServiceProvider
{
    /**
     * Listed explicitly, so `php artisan event:cache` has something to cache
     * and no directory scan is needed at run time.
     *
     * @var array
     */
    protected $listen = [
        NoteCreated::class => [
            LogNoteCreated::class,
        ],
    ];

    public function shouldDiscoverEvents()
    {
        return false;
    }
}
