<?php

namespace App\Console;

use Illuminate\Console\Scheduling\Schedule;
use Illuminate\Foundation\Console\Kernel as ConsoleKernel;

class Kernel extends ConsoleKernel
{
    /**
     * The Artisan commands provided by the application (none: the
     * framework's own are enough for the demo).
     *
     * @var array
     */
    protected $commands = [];

    protected function schedule(Schedule $schedule)
    {
        //
    }

    protected function commands()
    {
        // No routes/console.php: closure commands are not needed here.
    }
}
