package server

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// MountAdminPage serves page on the admin listener for every path the
// listener does not answer itself (/metrics, /readyz, /healthz,
// POST /-/reload): the admin page, at /. Call it before the listener
// serves. The page does its own access checks: see AdminLocal and
// TokenGuesses.
func (s *Server) MountAdminPage(page http.Handler) {
	h := echo.WrapHandler(page)
	s.admin.Any("/", h)
	s.admin.Any("/*", h)
}

// AdminLocal reports whether r may use an admin listener that has no admin
// token: when it comes straight from this machine, through no proxy, and
// names this machine as its Host (a page elsewhere whose name is made to
// resolve to 127.0.0.1 — DNS rebinding — must not pass). With a token, a
// request gives it, checked by TokenGuesses.Check, or a session the admin
// page gave for it. POST /-/reload and the admin page both ask it.
func AdminLocal(r *http.Request) bool {
	return sameMachine(r) && localHost(r.Host)
}

// AdminTokenGiven reports whether r gives token, which must not be empty,
// in its Authorization header: as a bearer token, or as the password of
// HTTP Basic (curl -u :TOKEN).
func AdminTokenGiven(r *http.Request, token string) bool {
	given, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		_, given, ok = r.BasicAuth()
	}
	return ok && token != "" && subtle.ConstantTimeCompare([]byte(given), []byte(token)) == 1
}

// TokenGuesses holds whoever guesses the admin token to one wrong guess a
// second, all of them together: after a wrong token, every token is
// refused for a second, the right one too, so that a guesser learns
// nothing faster, whether through the page's login, its Authorization
// header or POST /-/reload. The cost: whoever can reach the listener and
// sends a wrong token each second keeps out those who give the right one
// in a header (a logged-in browser keeps its session). The zero value is
// ready.
type TokenGuesses struct {
	mu        sync.Mutex
	lastWrong time.Time
}

// Check reports whether r gives token in its Authorization header
// (AdminTokenGiven), tried at the pace g allows. A request that gives none
// is refused without counting as a guess: a client that merely calls
// cannot hold off those who know the token.
func (g *TokenGuesses) Check(r *http.Request, token string, now time.Time) (ok, tooSoon bool) {
	if r.Header.Get("Authorization") == "" {
		return false, false
	}
	return g.Try(now, func() bool { return AdminTokenGiven(r, token) })
}

// Try reports whether right, the check of a token given at now, holds;
// tooSoon when it was not tried, a second not having passed since the last
// wrong one.
func (g *TokenGuesses) Try(now time.Time, right func() bool) (ok, tooSoon bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Sub(g.lastWrong) < time.Second {
		return false, true
	}
	if !right() {
		g.lastWrong = now
		return false, false
	}
	return true, false
}

// AdminGuesses is the limit of the admin listener's token guesses, for the
// admin page to share.
func (s *Server) AdminGuesses() *TokenGuesses { return &s.guesses }

// localHost reports whether the Host a request names is this machine's.
func localHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
