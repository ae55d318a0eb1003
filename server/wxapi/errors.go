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

// Is makes errors.Is(err, ErrNoMenu) hold for WeChat's 46003.
func (e *Error) Is(target error) bool {
	return target == ErrNoMenu && e.Code == codeMenuNotExist
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
	case codeBusy:
		return "WeChat is busy: try again in a few seconds"
	case 40002:
		return "grant_type is wrong (want client_credential)"
	case 40013:
		return "the AppID is wrong: check it in " + adminPanel
	case codeBadSecret:
		return "the AppSecret is wrong: copy it again from " + adminPanel + ", or reset it there"
	case codeIPNotAllowed:
		return "this machine's public IP address (WeChat's message names it) is not in the account's IP whitelist: add it in " +
			strings.TrimSuffix(adminPanel, ")") + " → IP白名单)"
	case codeIPNeedConfirm:
		return "calls from this IP address need the account administrator's confirmation: WeChat has sent them a notice to approve, or add the IP to the IP whitelist"
	case 41001:
		return "the access_token is missing from the call"
	case 41002:
		return "the AppID is missing"
	case 41004:
		return "the AppSecret is missing"
	case codeDailyQuota:
		return "the account has used up today's quota for this API; it resets at midnight, Beijing time. " +
			"wxreply never resets quotas itself: wait, or reset it in the admin panel (开发 → 接口权限) if it cannot wait (resets are limited too)"
	case 45011:
		return "too many calls this minute: wait a minute and try again"
	case codeMenuNotExist:
		return ErrNoMenu.Error()
	case 48001:
		return "this account may not use this API: check 接口权限 in the admin panel (some APIs need a verified account)"
	case 40007:
		return "a media_id is not a permanent material of this account"
	case 40016:
		return "the menu must have 1 to 3 buttons"
	case 40017, 40024:
		return "a button's type is not one WeChat knows, or a field its type needs is missing"
	case 40018:
		return "a menu bar button's name is over 16 bytes"
	case 40025:
		return "a sub-menu button's name is over 60 bytes"
	case 40019, 40026:
		return "a button's key is over 128 bytes"
	case 40020, 40027:
		return "a button's url is over 1024 bytes"
	case 40023:
		return "a sub-menu must have 1 to 5 buttons"
	case 40054, 40055:
		return "WeChat refuses a button's url: check that it is a full http(s) URL on a domain WeChat accepts"
	}
	return "see WeChat's global error codes (全局返回码) for this code"
}
