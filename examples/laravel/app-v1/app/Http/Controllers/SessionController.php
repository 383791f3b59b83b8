<?php

namespace App\Http\Controllers;

use Illuminate\Http\Request;

/**
 * A trivial session "login" (no users, no passwords): the name posted to
 * /login is kept in the session, /me shows it. Sessions live in
 * storage/framework/sessions, shared between releases, and the cookie is
 * encrypted with APP_KEY from the shared .env, so a login survives deploys.
 */
class SessionController extends Controller
{
    public function create()
    {
        return view('login');
    }

    public function store(Request $request)
    {
        $data = $this->validate($request, [
            'name' => 'required|string|max:100',
        ]);

        $request->session()->regenerate();
        $request->session()->put('name', $data['name']);

        return redirect('/me');
    }

    public function show(Request $request)
    {
        return view('me', ['name' => $request->session()->get('name')]);
    }

    public function destroy(Request $request)
    {
        $request->session()->invalidate();
        $request->session()->regenerateToken();

        return redirect('/');
    }
}
