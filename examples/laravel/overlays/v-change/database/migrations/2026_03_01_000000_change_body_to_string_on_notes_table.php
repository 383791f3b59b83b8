<?php

use Illuminate\Database\Migrations\Migration;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Support\Facades\Schema;

// DESTRUCTIVE: changes a column's type (text -> varchar(50)) under the
// previous release's feet. On SQLite, Laravel 8 does it through
// doctrine/dbal by rebuilding the table.
return new class extends Migration
{
    public function up()
    {
        Schema::table('notes', function (Blueprint $table) {
            $table->string('body', 50)->change();
        });
    }

    public function down()
    {
        Schema::table('notes', function (Blueprint $table) {
            $table->text('body')->change();
        });
    }
};
