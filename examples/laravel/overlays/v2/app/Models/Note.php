<?php

namespace App\Models;

use Illuminate\Database\Eloquent\Model;

class Note extends Model
{
    protected $table = 'notes';

    /**
     * Writes name only the columns this release knows; reads select them
     * explicitly (see HomeController), so this code keeps working against a
     * later release's additive schema.
     *
     * @var array
     */
    protected $fillable = ['body', 'author'];
}
