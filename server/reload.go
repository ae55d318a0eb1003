package server

import (
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wxreply/wxreply/rules"
)

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
	return c.JSON(http.StatusOK, body)
}

// reload is POST /-/reload: it reloads the rules now and answers with the
// outcome, 200 and the version, or 400 and every positioned error.
func (s *Server) reload(c echo.Context) error {
	if !s.adminAllowed(c.Request()) {
		return s.reject(c, http.StatusForbidden, "admin_refused", errors.New("POST /-/reload needs a loopback client or the admin token"))
	}
	if s.opts.Watcher == nil {
		return c.String(http.StatusConflict, "the rules are built into the binary: start wxreply with --rules DIR to reload them\n")
	}
	version, changed, err := s.opts.Watcher.Reload("admin")
	if err != nil {
		msg := err.Error()
		var list rules.Errors
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

func (s *Server) adminAllowed(req *http.Request) bool {
	if s.opts.AdminToken != "" {
		token, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		return ok && subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.AdminToken)) == 1
	}
	// A reverse proxy on this host makes every client look local; the
	// headers it adds say the request came from elsewhere.
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if req.Header.Get(h) != "" {
			return false
		}
	}
	// RemoteAddr, not X-Forwarded-For: a header is anyone's to write.
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
