package backend

import (
	"errors"
	"fmt"
	"github.com/wxreply/wxreply/engine"
	"net/http"
	"strings"
	"time"
)

// Outcome says how one call to a backend ended. Its values are few and fixed,
// so the server can use them as a metric label
// (wxreply_backend_requests_total{rule,outcome}).
type Outcome string

// The outcomes of a call.
const (
	// OK: the backend answered 2xx with replies, or with nothing.
	OK Outcome = "ok"
	// Timeout: no complete answer within the rule's backend.timeout (or the
	// caller's deadline, if sooner).
	Timeout Outcome = "timeout"
	// Canceled: the caller gave up first, as on shutdown.
	Canceled Outcome = "canceled"
	// Unreachable: no answer could be asked for or read: no secret, a bad
	// URL, DNS, a refused connection, TLS, a connection cut mid-answer.
	Unreachable Outcome = "unreachable"
	// Status: the backend answered, with a status other than 2xx (a
	// redirect that is not followed included).
	Status Outcome = "status"
	// Invalid: the backend answered 2xx with something that is not replies
	// in the rule reply format, or with more than MaxResponseBytes.
	Invalid Outcome = "invalid"
)

// OutcomeOf returns the outcome of a call that returned err: OK for nil,
// the Error's outcome, or Unreachable for an error that is not an *Error.
func OutcomeOf(err error) Outcome {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Outcome
	}
	return Unreachable
}

// Error is a call to a backend that gave no replies. Its text names the
// rule and the backend (without its query, which may hold a key) and says
// what to do.
type Error struct {
	Outcome Outcome
	Rule    string
	// URL is the backend's address without user info, query or fragment.
	URL string
	// Timeout is the bound that passed, for Timeout: the rule's, or the
	// caller's deadline; 0 when one of the HTTP client's own passed.
	Timeout time.Duration
	// StatusCode is the backend's status, for Status; Location its
	// redirect, for a 3xx.
	StatusCode int
	Location   string
	// Body is the start of the backend's answer, for Status: often the
	// error page says what went wrong.
	Body string
	// Problems are what is wrong with the answer, for Invalid: one line
	// each, naming the reply and the field.
	Problems []string
	// Err is the underlying error, if any.
	Err error
}

// maxProblems bounds how many problems of an invalid answer the error text
// lists; a 64 KiB answer could hold thousands.
const maxProblems = 5

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rule %q: backend %s: ", e.Rule, e.URL)
	switch e.Outcome {
	case Timeout:
		if e.Timeout > 0 {
			fmt.Fprintf(&b, "no answer within %s: make the backend answer sooner, or raise the rule's backend.timeout", e.Timeout)
		} else {
			fmt.Fprintf(&b, "%v: make the backend answer sooner", e.Err)
		}
	case Canceled:
		b.WriteString("the call was canceled before the backend answered (the server is stopping, or the push was given up)")
	case Status:
		fmt.Fprintf(&b, "answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
		if e.StatusCode >= 300 && e.StatusCode < 400 {
			fmt.Fprintf(&b, ", a redirect to %.200q: wxreply follows redirects only to the same scheme and host, only with 307 or 308, which keep the POST and its body, and at most %d times; set backend.url to the final address", engine.ShownBackendURL(e.Location), maxRedirects)
		} else {
			if e.Body != "" {
				fmt.Fprintf(&b, ": %q", e.Body)
			}
			b.WriteString(": see the backend's logs; it must answer 2xx with replies, or 204 for none")
		}
	case Invalid:
		b.WriteString("invalid answer: ")
		n := min(len(e.Problems), maxProblems)
		b.WriteString(strings.Join(e.Problems[:n], "; "))
		if more := len(e.Problems) - n; more > 0 {
			fmt.Fprintf(&b, "; and %d more", more)
		}
	default:
		if e.Err != nil {
			b.WriteString(e.Err.Error())
		} else {
			b.WriteString(string(e.Outcome))
		}
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
