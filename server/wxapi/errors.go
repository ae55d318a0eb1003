package wxapi

import (
	"errors"
	"fmt"
	"strings"
)

// Error is an answer of WeChat's API with a non-zero errcode.
type Error struct {
	// API is the path called, such as /cgi-bin/menu/create.
	API string
	// Code and Message are WeChat's errcode and errmsg. Message often ends in
	// "rid: ...", the request id WeChat's support asks for.
	Code    int
	Message string
	// Retried is true when the call was refused for its access_token, retried
	// once with a fresh token, and refused again.
	Retried bool
}

// ErrNoMenu matches (with errors.Is) the answer WeChat gives when the account
// has no menu made through the API (46003).
var ErrNoMenu = errors.New("the account has no custom menu made through the API")

// Error gives WeChat's code and message and then what to do about it.
func (e *Error) Error() string {
	s := fmt.Sprintf("%s: WeChat error %d", e.API, e.Code)
	if e.Message != "" {
		s += fmt.Sprintf(" %q", e.Message)
	}
	if hint := e.Hint(); hint != "" {
		s += ": " + hint
	}
	return s
}

// Is makes errors.Is hold for ErrNoMenu (46003), ErrWindowClosed (45015)
// and ErrTooMany (45047).
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNoMenu:
		return e.Code == codeMenuNotExist
	case ErrWindowClosed:
		return e.Code == CodeWindowClosed
	case ErrTooMany:
		return e.Code == CodeTooMany
	}
	return false
}

// The errcodes the client acts on.
const (
	codeBusy          = -1
	codeInvalidCred   = 40001 // the AppSecret (token endpoint), or the access_token (other APIs)
	codeInvalidToken  = 40014
	codeTokenExpired  = 42001
	codeDailyQuota    = 45009
	codeMenuNotExist  = 46003
	codeBadSecret     = 40125
	codeIPNotAllowed  = 40164
	codeIPNeedConfirm = 89503
)

// tokenRefused reports whether the code means "this access_token is no good":
// the call is worth one retry with a fresh token.
func (e *Error) tokenRefused() bool {
	if isTokenAPI(e.API) {
		return false
	}
	switch e.Code {
	case codeInvalidCred, codeInvalidToken, codeTokenExpired:
		return true
	}
	return false
}

func isTokenAPI(path string) bool {
	return path == string(StableToken.path()) || path == string(ClassicToken.path())
}

const adminPanel = "the admin panel (mp.weixin.qq.com, 设置与开发 → 基本配置)"

// Hint says, in a sentence, what to do about the error; "" when there is
// nothing better to say than WeChat's message.
func (e *Error) Hint() string {
	if isTokenAPI(e.API) && e.Code == codeInvalidCred {
		return "the AppSecret is wrong for this AppID: copy it again from " + adminPanel + ", or reset it there"
	}
	switch e.Code {
	case codeInvalidCred, codeInvalidToken, codeTokenExpired:
		if e.Retried {
			return "the access_token was refused again after getting a fresh one; if another program gets this account's tokens from /cgi-bin/token, " +
				"each of its refreshes revokes the others' tokens: let one program fetch tokens and share them, or use stable_token everywhere"
		}
		return "the access_token is invalid or expired"
	case codeMenuNotExist:
		return ErrNoMenu.Error()
	}
	if hint, ok := hints[e.Code]; ok {
		return hint
	}
	return "see WeChat's global error codes (全局返回码) for this code"
}

// hints are the hints that depend on the code alone.
var hints = map[int]string{
	codeBusy:      "WeChat is busy: try again in a few seconds",
	40002:         "grant_type is wrong (want client_credential)",
	40013:         "the AppID is wrong: check it in " + adminPanel,
	codeBadSecret: "the AppSecret is wrong: copy it again from " + adminPanel + ", or reset it there",
	codeIPNotAllowed: "this machine's public IP address (WeChat's message names it) is not in the account's IP whitelist: add it in " +
		strings.TrimSuffix(adminPanel, ")") + " → IP白名单)",
	codeIPNeedConfirm: "calls from this IP address need the account administrator's confirmation: WeChat has sent them a notice to approve, or add the IP to the IP whitelist",
	41001:             "the access_token is missing from the call",
	41002:             "the AppID is missing",
	41004:             "the AppSecret is missing",
	codeDailyQuota: "the account has used up today's quota for this API; it resets at midnight, Beijing time. " +
		"wxreply never resets quotas itself: wait, or reset it in the admin panel (开发 → 接口权限) if it cannot wait (resets are limited too)",
	45011: "too many calls this minute: wait a minute and try again",
	CodeWindowClosed: "the user's last message is more than 48 hours old, or the user has unfollowed the account: " +
		"customer-service messages reach a user only after they write, follow, click or scan",
	CodeTooMany: "WeChat allows 5 customer-service messages after a user's message and 3 after an event (click, follow, scan); " +
		"the rest wait for the user's next push: give the rule fewer replies (wxreply check warns past the limits)",
	45002: "the message is too long: shorten the reply",
	48001: "this account may not use this API: check 接口权限 in the admin panel (some APIs need a verified account)",
	40007: "a media_id is not a permanent material of this account",
	40016: "the menu must have 1 to 3 buttons",
	// WeChat gives the menu bar's buttons and the sub-menus' their own
	// codes for the same mistake: the hints say which the button is.
	40017: "a menu bar button's type is not one WeChat knows, or a field its type needs is missing",
	40024: "a sub-menu button's type is not one WeChat knows, or a field its type needs is missing",
	40018: "a menu bar button's name is over 16 bytes",
	40025: "a sub-menu button's name is over 60 bytes",
	40019: "a menu bar button's key is over 128 bytes",
	40026: "a sub-menu button's key is over 128 bytes",
	40020: "a menu bar button's url is over 1024 bytes",
	40027: "a sub-menu button's url is over 1024 bytes",
	40023: "a sub-menu must have 1 to 5 buttons",
	40055: "WeChat refuses a menu bar button's url: check that it is a full http(s) URL on a domain WeChat accepts",
	40054: "WeChat refuses a sub-menu button's url: check that it is a full http(s) URL on a domain WeChat accepts",
}
