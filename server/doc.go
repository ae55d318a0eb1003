// Package server is wxreply's side of WeChat's callback protocol: it turns
// the XML WeChat pushes into the engine's envelope and, later in the request,
// the engine's reply back into the XML WeChat expects.
//
// It holds no matching logic: deciding what to answer is package engine's job.
package server
