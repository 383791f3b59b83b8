@extends('layouts.app')

@section('title', 'me')

@section('content')
    @if ($name !== null)
        <p id="me">name: {{ $name }}</p>
        <form method="POST" action="{{ url('/logout') }}">
            @csrf
            <button type="submit">Log out</button>
        </form>
    @else
        <p id="me">not logged in</p>
    @endif
@endsection
