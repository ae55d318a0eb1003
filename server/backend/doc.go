// Package backend calls the services that answer a rule's pushes (a rule's
// backend: {url, timeout, passive_wait}) and checks what they answer.
//
// It owns the wire format between wxreply and a backend: the request (the
// push as JSON under WeChat's field names, plus "rule", posted with
// X-Wxreply-Timestamp and an HMAC-SHA256 X-Wxreply-Signature), and the
// answer (replies in the rule reply format, checked against engine.Schema).
// [Sign] and [Verify] are exported for backends written in Go; the format
// is spelled out for other languages in docs/backend.md.
//
// Everything a backend controls is bounded: the call, body included, by the
// rule's timeout; the answer by [Client.MaxResponseBytes] and [MaxReplies];
// redirects to the backend's own host, with 307 or 308 only. Every failure
// is an [*Error] whose [Outcome] says which kind, for the server to count.
//
// It does not decide what the user sees: waiting passive_wait, sending the
// rule's interim reply or on_error, and sending late answers through the
// customer-service API are the server's job.
package backend
