@extends('layouts.app')

@section('title', 'login')

@section('content')
    <h1>Log in</h1>
    <form method="POST" action="{{ url('/login') }}">
        @csrf
        <p><label>Name <input type="text" name="name" maxlength="100" required></label></p>
        <p><button type="submit">Log in</button></p>
    </form>
@endsection
