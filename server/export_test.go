package server

// DedupeKey is dedupeKey, for the external tests that fill a Store by hand.
var DedupeKey = dedupeKey
