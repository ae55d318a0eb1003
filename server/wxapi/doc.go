// Package wxapi is a client for WeChat's server API (api.weixin.qq.com):
// the access_token every call needs, the custom menu, and customer-service
// messages ([Client.CustomSend], [Client.Typing]), whose refusals 45015 and
// 45047 match [ErrWindowClosed] and [ErrTooMany].
//
// A [Client] gets its access_token from /cgi-bin/stable_token (or the classic
// /cgi-bin/token), keeps it in a [TokenStore] until shortly before it expires,
// and lets only one refresh run at a time: callers that need a token while one
// is being fetched wait for that fetch instead of starting their own. When an
// API call answers that the token is invalid or expired (40001, 40014, 42001),
// the client drops that token from the store only if it is still the stored
// one, gets a token once more and retries the call once: never in a loop.
// Every other errcode becomes an [*Error] whose text says what to do.
//
// Every HTTP request has a timeout ([Client.Timeout]). Neither the AppSecret
// nor an access token ever appears in an error or a log line.
//
// The package knows nothing of menu files: [Client.MenuCreate] takes any
// value that encodes to WeChat's menu JSON, and [Client.MenuGet] returns the
// JSON as WeChat sent it; package wxmenu reads and writes menu files.
//
// Package wxapitest is a fake of the API, for tests and for wxreply fakeapi.
package wxapi
