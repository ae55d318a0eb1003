// Package server is wxreply's side of WeChat's callback protocol: it turns
// the XML WeChat pushes into the engine's envelope and, later in the request,
// the engine's reply back into the XML WeChat expects.
//
// A Server has two handlers, for two listeners: Handler, the callback
// listener that faces WeChat (the callback path, /healthz and a bare
// /readyz), and AdminHandler, for operators and Prometheus (/metrics,
// /readyz with details, POST /-/reload, and the admin page that main mounts
// with MountAdminPage, reading PushStats). Everything a stranger's traffic
// can grow is capped: the retry store, the replay cache and the pushes
// matched at once.
//
// What follows a passive reply — the other replies of pick: all, a
// backend's late answer — goes to a Sender (package outbox) and never holds
// the passive reply up; followup.go says how.
//
// It holds no matching logic: deciding what to answer is package engine's
// job. It does not read rule files either: what it needs of the rule
// watcher is the Reloader it declares, which main provides.
//
// The callback's checks are echo middleware on its route, in the order
// they must run: the signed query, how the push comes, its body, its
// decryption. Each refuses with a reason; one table (refusalStatus) gives
// the status, and one error handler answers, logs and counts it.
package server
