// Package admin is the admin page: what product staff open in a browser to
// see the rules answering, how often each answers, what is wrong with the
// files on disk, and what a message would get, without a phone or a
// terminal.
//
// The page is served on the admin listener, at /, beside /metrics and
// /readyz (server.Server.MountAdminPage). It is rendered on the server with
// html/template; its style sheet and its one small script are embedded, so
// it works offline and needs no CDN. It speaks Chinese and English, chosen
// by the browser's Accept-Language or the switch at the top.
//
// It reads the rules through the engine and the watcher that serve them,
// and the folder's files only to list the rules written with enabled: false
// and to run the folder's rule tests (package ruletest) on demand. It never
// shows a secret (the tokens, the AES keys) nor what a user sent: hits are
// counts and times, and "try a message" starts from an empty session.
//
// Access follows POST /-/reload: without an admin token only clients on
// the server's own machine, through no proxy, get the page; with one, every
// client must give it, through the login form (a cookie), or as the
// password of HTTP Basic, or as a bearer token. Every form that changes
// something carries a CSRF token.
package admin
