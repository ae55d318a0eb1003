package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// MountAdminPage serves page on the admin listener for every path the
// listener does not answer itself (/metrics, /readyz, /healthz,
// POST /-/reload): the admin page, at /. Call it before the listener
// serves. The page does its own access checks: see SameMachine.
func (s *Server) MountAdminPage(page http.Handler) {
	h := echo.WrapHandler(page)
	s.admin.Any("/", h)
	s.admin.Any("/*", h)
}

// SameMachine reports whether r comes straight from a loopback address,
// through no proxy: the clients the admin listener trusts without the
// admin token.
func SameMachine(r *http.Request) bool { return sameMachine(r) }
