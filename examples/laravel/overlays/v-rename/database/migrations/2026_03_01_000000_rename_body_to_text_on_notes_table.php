<?php

use Illuminate\Database\Migrations\Migration;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Support\Facades\Schema;

// DESTRUCTIVE: renames a column that the previous release still reads and
// writes. On SQLite, Laravel 8 does it through doctrine/dbal by rebuilding
// the table.
return new class extends Migration
{
    public function up()
    {
        Schema::table('notes', function (Blueprint $table) {
            $table->renameColumn('body', 'text');
        });
    }

    public function down()
    {
        Schema::table('notes', function (Blueprint $table) {
            $table->renameColumn('text', 'body');
        });
    }
};
