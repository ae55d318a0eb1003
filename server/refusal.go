package server

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
)

// refusal is a request refused before the rules see it, for reason. err,
// when not nil, says more, for the log only.
type refusal struct {
	reason string
	err    error
}

// refuse is how a check says no: the error handler answers, logs and
// counts it (Server.handleError).
func refuse(reason string, err error) error { return &refusal{reason: reason, err: err} }

func (r *refusal) Error() string {
	if r.err == nil {
		return r.reason
	}
	return r.reason + ": " + r.err.Error()
}

func (r *refusal) Unwrap() error { return r.err }

// refusalStatus is the one table from a refusal's reason to its HTTP
// status. The reason is also the label of wxreply_requests_rejected_total
// and the log's reason=, which dashboards and tests read: keep them as they
// are. The status alone goes to the client.
var refusalStatus = map[string]int{
	// The signed query (verifyQuery), before anything else is read.
	"repeated_param":  http.StatusBadRequest,
	"missing_param":   http.StatusForbidden,
	"bad_signature":   http.StatusForbidden,
	"bad_timestamp":   http.StatusForbidden,
	"stale_timestamp": http.StatusForbidden,
	"bad_echostr":     http.StatusBadRequest,
	// How the push comes, from the query (checkEncryption).
	"plaintext_refused":     http.StatusForbidden,
	"unexpected_encryption": http.StatusBadRequest,
	// The body (readPush).
	"body_too_large": http.StatusRequestEntityTooLarge,
	"read_failed":    http.StatusBadRequest,
	"replayed_query": http.StatusForbidden,
	// The encrypted envelope (openPush); the decryption reasons are
	// wxcrypto.Reason's.
	"bad_msg_signature": http.StatusForbidden,
	"appid_mismatch":    http.StatusForbidden,
	"bad_ciphertext":    http.StatusBadRequest,
	"bad_padding":       http.StatusBadRequest,
	"bad_length":        http.StatusBadRequest,
	"decrypt_failed":    http.StatusBadRequest,
	// The push's XML (callback).
	"malformed_xml": http.StatusBadRequest,
	"bad_field":     http.StatusBadRequest,
	"wrong_account": http.StatusForbidden,
	// The admin listener.
	"admin_refused":     http.StatusForbidden,
	"admin_guess_limit": http.StatusTooManyRequests,
}

// handleError is both listeners' HTTPErrorHandler. A refusal is answered
// with its status and a body that says nothing more, and its reason goes to
// the log and the metrics; any other error is echo's to answer (a 404, a
// 405, a recovered panic's 500).
func (s *Server) handleError(err error, c echo.Context) {
	var r *refusal
	if !errors.As(err, &r) {
		c.Echo().DefaultHTTPErrorHandler(err, c)
		return
	}
	status, ok := refusalStatus[r.reason]
	if !ok {
		// A reason missing from the table is a bug: refuse anyway.
		status = http.StatusForbidden
	}
	s.metrics.rejected.WithLabelValues(r.reason).Inc()
	attrs := append([]any{"method", c.Request().Method, "status", status, "reason", r.reason}, clientAttrs(c)...)
	if r.err != nil {
		attrs = append(attrs, "error", r.err.Error())
	}
	s.log.Warn("request refused", attrs...)
	if c.Response().Committed {
		return
	}
	if err := c.String(status, http.StatusText(status)+"\n"); err != nil {
		s.log.Warn("refusal not written", "error", err.Error())
	}
}
