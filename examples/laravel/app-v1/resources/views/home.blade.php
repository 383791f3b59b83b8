@extends('layouts.app')

@section('title', 'home')

@section('content')
    <h1>cutover demo</h1>
    <p id="greeting">{{ $greeting }}</p>
    <ul id="notes">
        @foreach ($notes as $note)
            <li>#{{ $note->id }}: {{ $note->body }}</li>
        @endforeach
    </ul>
@endsection
