<!DOCTYPE html>
<html lang="en">
<head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>@yield('title', 'cutover demo') · {{ config('app.name') }}</title>
    <style>
        body { font-family: sans-serif; max-width: 40rem; margin: 2rem auto; }
        .version { font-family: monospace; font-size: 1.4rem; }
        .status { color: #060; }
        .errors { color: #a00; }
    </style>
</head>
<body>
    <p class="version" id="version">version: {{ config('release.version') }}</p>
    <nav>
        <a href="{{ url('/') }}">home</a> ·
        <a href="{{ url('/note') }}">new note</a> ·
        <a href="{{ url('/login') }}">login</a> ·
        <a href="{{ url('/me') }}">me</a>
    </nav>
    @if (session('status'))
        <p class="status">{{ session('status') }}</p>
    @endif
    @if ($errors->any())
        <ul class="errors">
            @foreach ($errors->all() as $error)
                <li>{{ $error }}</li>
            @endforeach
        </ul>
    @endif
    <main>
        @yield('content')
    </main>
</body>
</html>
