// Package server is wxreply's side of WeChat's callback protocol: it turns
// the XML WeChat pushes into the engine's envelope and, later in the request,
// the engine's reply back into the XML WeChat expects.
//
// A Server has two handlers, for two listeners: Handler, the callback
// listener that faces WeChat (the callback path, /healthz and a bare
// /readyz), and AdminHandler, for operators and Prometheus (/metrics,
// /readyz with details, POST /-/reload). Everything a stranger's traffic
// can grow is capped: the retry store, the replay cache and the pushes
// matched at once.
//
// It holds no matching logic: deciding what to answer is package engine's job.
package server
