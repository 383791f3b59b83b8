@extends('layouts.app')

@section('title', 'new note')

@section('content')
    <h1>New note</h1>
    <form method="POST" action="{{ url('/note') }}">
        @csrf
        <p><label>Note <input type="text" name="body" maxlength="1000" required></label></p>
        <p><label>Author <input type="text" name="author" maxlength="100"></label></p>
        <p><button type="submit">Save</button></p>
    </form>
@endsection
