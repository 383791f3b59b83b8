<?php

namespace App\Models;

use Illuminate\Database\Eloquent\Model;

class Note extends Model
{
    protected $table = 'notes';

    /**
     * The column once called body is text from this release on.
     *
     * @var array
     */
    protected $fillable = ['text', 'author'];
}
