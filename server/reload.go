package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/store"
)

// Reloader is what the server needs of the rule folder's watcher: reload it
// now, for POST /-/reload, and tell how the reloads went, for /readyz and
// /metrics. main hands the server one; the server never reads rule files.
type Reloader interface {
	// Reload rebuilds the rules and swaps them in. It returns the version
	// answering and whether it changed; an error means the rules answering
	// were kept. An error listing several problems (Unwrap() []error, one
	// positioned problem each) is shown as it is, one per line.
	Reload(trigger string) (version string, changed bool, err error)
	// Status reports the last reloads.
	Status() engine.ReloadStatus
}

// readyStatus is /readyz on the callback listener: 200 while a rule set
// answers, 503 otherwise, and nothing about the rules, which are the
// admin listener's to tell.
func (s *Server) readyStatus(c echo.Context) error {
	if s.engine.RuleSet() == nil {
		return c.String(http.StatusServiceUnavailable, "not ready\n")
	}
	return c.String(http.StatusOK, "ready\n")
}

// ready reports the rules answering and, with a Watcher, how the last reload
// went: a failed reload does not make the server unready (the old rules
// answer), but it shows here until the files are fixed.
func (s *Server) ready(c echo.Context) error {
	rs := s.engine.RuleSet()
	body := map[string]any{
		"status":        "ready",
		"rules_loaded":  true,
		"rules":         len(rs.Rules()),
		"rules_version": rs.Version(),
		"mode":          s.opts.Mode,
	}
	if s.opts.Watcher != nil {
		st := s.opts.Watcher.Status()
		body["last_reload_successful"] = st.LastReloadSuccessful
		body["loaded_at"] = st.LastSuccess.UTC().Format(time.RFC3339)
		if st.LastError != nil {
			body["last_error"] = st.LastError.Error()
			body["failing_since"] = st.FailingSince.UTC().Format(time.RFC3339)
		}
		if st.SourceMissing {
			body["source_missing"] = true
		}
		if st.Warning != "" {
			body["warning"] = st.Warning // a reload applied that may not be what was meant
		}
	}
	body["store"] = storeStatus(s.store.Health())
	return c.JSON(http.StatusOK, body)
}

// storeStatus is the store's part of /readyz. A degraded store keeps the
// server ready: it answers from memory.
func storeStatus(h store.Health) map[string]any {
	st := map[string]any{"backend": h.Backend, "degraded": h.Degraded}
	if h.Degraded {
		st["degraded_since"] = h.Since.UTC().Format(time.RFC3339)
	}
	if h.LastError != "" {
		st["last_error"] = h.LastError
	}
	if len(h.Errors) > 0 {
		st["errors"] = h.Errors
	}
	return st
}

// reload is POST /-/reload: it reloads the rules now and answers with the
// outcome, 200 and the version, or 400 and every positioned error.
func (s *Server) reload(c echo.Context) error {
	if s.opts.Watcher == nil {
		return c.String(http.StatusConflict, "the rules are built into the binary: start wxreply with --rules DIR to reload them\n")
	}
	version, changed, err := s.opts.Watcher.Reload("admin")
	if err != nil {
		msg := err.Error()
		var list interface{ Unwrap() []error }
		if !errors.As(err, &list) {
			msg = "rules not reloaded: " + msg
		}
		return c.String(http.StatusBadRequest, msg+"\nthe previous rules keep answering\n")
	}
	if !changed {
		return c.String(http.StatusOK, "unchanged: version "+version+"\n")
	}
	return c.String(http.StatusOK, "reloaded: version "+version+"\n")
}

// crossSite reports whether a browser says r comes from a page of another
// site: by Sec-Fetch-Site, or by an Origin that is not r's Host. Scripts
// (curl, Prometheus) send neither.
func crossSite(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err != nil || !strings.EqualFold(u.Host, r.Host)
}

// refuseRebinding is middleware for the admin listener: without an admin
// token it listens on loopback, and answers a request from this machine
// only when it names this machine as its Host. A page whose name is made
// to resolve to 127.0.0.1 (DNS rebinding) would otherwise read /metrics
// and /readyz, rule files' paths and errors included, from the operator's
// browser.
func (s *Server) refuseRebinding(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if s.opts.AdminToken == "" && fromLoopback(r) && !localHost(r.Host) {
			return refuse("admin_refused", fmt.Errorf("the request names the Host %.60q: the admin listener answers requests naming this machine (127.0.0.1, localhost)", r.Host))
		}
		return next(c)
	}
}

// proxyHeaders are added by reverse proxies and CDNs to name the client
// they forward.
var proxyHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip", "X-Client-Ip", "True-Client-Ip", "Cf-Connecting-Ip", "Via"}

// adminOnly is middleware that lets through a local client (AdminLocal)
// when the server has no admin token, and one that gives the token when it
// has one.
//
// Not echo's middleware.KeyAuth: without an admin token, the loopback
// check decides, and KeyAuth would refuse a request with no key first.
func (s *Server) adminOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r, token := c.Request(), s.opts.AdminToken
		if crossSite(r) {
			// A page elsewhere, open in an operator's browser, may post
			// here; the browser would add a Basic password it keeps.
			return refuse("admin_refused", errors.New("POST /-/reload from a page of another site"))
		}
		if token == "" {
			if !AdminLocal(r) {
				return refuse("admin_refused", errors.New("POST /-/reload needs a client on this machine, naming it as its Host, or --admin-token"))
			}
			return next(c)
		}
		switch ok, tooSoon := s.guesses.Check(r, token, s.opts.Now()); {
		case tooSoon:
			c.Response().Header().Set("Retry-After", "1")
			return refuse("admin_guess_limit", errors.New("a wrong admin token came less than a second ago"))
		case !ok:
			return refuse("admin_refused", errors.New("POST /-/reload needs the admin token"))
		}
		return next(c)
	}
}
