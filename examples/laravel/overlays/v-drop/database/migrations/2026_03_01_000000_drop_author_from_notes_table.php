<?php

use Illuminate\Database\Migrations\Migration;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Support\Facades\Schema;

// DESTRUCTIVE: drops a column that the previous release (v2) still selects
// and writes. On SQLite, Laravel 8 does it through doctrine/dbal by
// rebuilding the table.
return new class extends Migration
{
    public function up()
    {
        Schema::table('notes', function (Blueprint $table) {
            $table->dropColumn('author');
        });
    }

    public function down()
    {
        Schema::table('notes', function (Blueprint $table) {
            $table->string('author')->nullable();
        });
    }
};
