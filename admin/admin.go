package admin

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/rules/ruletest"
	"github.com/wxreply/wxreply/server"
)

// Options configure a Page.
type Options struct {
	// Engine holds the rules answering. Required.
	Engine *engine.Engine
	// Reloader reloads the rule folder and tells how the reloads went; nil
	// when the rules cannot change (the examples built into the binary).
	Reloader server.Reloader
	// Stats reports what the server answered: the server's PushStats.
	// Nil shows no pushes.
	Stats func() server.PushStats
	// Dir is the rule folder, as positions show it. When FS is set, the
	// folder is read from FS (the examples built into the binary) and Dir
	// only names it.
	Dir string
	FS  fs.FS
	// Account (gh_...) and Mode are shown on the overview.
	Account string
	Mode    string
	// Token is the admin token (--admin-token). Without it only clients on
	// this machine (server.AdminLocal) get the page; with it every client
	// must give it.
	Token string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger gets refused logins; nil means slog.Default().
	Logger *slog.Logger
	// Guesses holds guessers of the token to one wrong guess a second:
	// the server's AdminGuesses, so that the page and POST /-/reload share
	// it. Nil means the page's own.
	Guesses *server.TokenGuesses
}

// Page is the admin page, an http.Handler.
type Page struct {
	opts  Options
	mux   *http.ServeMux
	pages map[string]*template.Template
	// session is the value of the login cookie: a MAC of the token, so
	// that the cookie never holds the token itself and a new token logs
	// everyone out.
	session string

	running sync.Mutex // held by the one run of the tests at a time
	testsMu sync.Mutex // guards lastRun
	lastRun *testRun   // the last run, shown until the next
}

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// The cookies the page sets. Both are HttpOnly and SameSite=Strict.
const (
	sessionCookie = "wxreply_admin"
	csrfCookie    = "wxreply_csrf"
)

// New returns the admin page for opts.
func New(opts Options) *Page {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Stats == nil {
		opts.Stats = func() server.PushStats { return server.PushStats{} }
	}
	if opts.Guesses == nil {
		opts.Guesses = &server.TokenGuesses{}
	}
	p := &Page{opts: opts, mux: http.NewServeMux(), pages: map[string]*template.Template{}}
	if opts.Token != "" {
		mac := hmac.New(sha256.New, []byte(opts.Token))
		mac.Write([]byte("wxreply admin page session"))
		p.session = hex.EncodeToString(mac.Sum(nil))
	}
	for _, name := range []string{"overview", "rules", "try", "tests", "login", "message"} {
		p.pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html"))
	}
	static, _ := fs.Sub(staticFiles, "static")
	p.mux.Handle("GET /assets/", http.StripPrefix("/assets/", cacheFor(time.Hour, http.FileServerFS(static))))
	p.mux.HandleFunc("GET /login", p.loginForm)
	p.mux.HandleFunc("POST /login", p.login)
	p.mux.Handle("POST /logout", p.guard(http.HandlerFunc(p.logout)))
	p.mux.Handle("GET /{$}", p.guard(http.HandlerFunc(p.overview)))
	p.mux.Handle("GET /rules", p.guard(http.HandlerFunc(p.rulesPage)))
	p.mux.Handle("GET /try", p.guard(http.HandlerFunc(p.try)))
	p.mux.Handle("GET /tests", p.guard(http.HandlerFunc(p.testsPage)))
	p.mux.Handle("POST /tests", p.guard(http.HandlerFunc(p.runTests)))
	p.mux.Handle("POST /reload", p.guard(http.HandlerFunc(p.reload)))
	p.mux.Handle("/", p.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.message(w, r, http.StatusNotFound, "notfound", "")
	})))
	return p
}

// cacheFor lets browsers keep what h serves for d: the embedded assets,
// which change only with the binary.
func cacheFor(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age="+strconv.Itoa(int(d.Seconds())))
		h.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the page. Every answer forbids framing and sniffing,
// and refuses scripts and styles from anywhere but the page itself.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	p.mux.ServeHTTP(w, r)
}

// allowed reports whether r may see the page without giving the token:
// without a token, a client on this machine (server.AdminLocal); with
// one, the session cookie of a login. A token given in the request's
// Authorization header is checked by guard alone, at the guesses' pace.
func (p *Page) allowed(r *http.Request) bool {
	if p.opts.Token == "" {
		return server.AdminLocal(r)
	}
	c, err := r.Cookie(sessionCookie)
	return err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(p.session)) == 1
}

// tryToken checks a token r gives, with right, at the pace
// Options.Guesses allows: one wrong guess a second, from anywhere, is all a
// guesser gets (and all the log gets), so that the token cannot be tried
// at the speed of the network.
func (p *Page) tryToken(r *http.Request, right func() bool) (ok, tooSoon bool) {
	ok, tooSoon = p.opts.Guesses.Try(p.opts.Now(), right)
	if !ok && !tooSoon {
		p.opts.Logger.Warn("admin page: wrong token", "remote", r.RemoteAddr)
	}
	return ok, tooSoon
}

func (p *Page) isToken(s string) bool {
	return subtle.ConstantTimeCompare([]byte(s), []byte(p.opts.Token)) == 1
}

// guard refuses whom allowed does not allow, and a POST without the CSRF
// token of the page it came from.
func (p *Page) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.opts.Token != "" && r.Header.Get("Authorization") != "" {
			// A client giving credentials gets the status it understands,
			// and its guesses are held to the login form's pace.
			switch ok, tooSoon := p.tryToken(r, func() bool { return server.AdminTokenGiven(r, p.opts.Token) }); {
			case tooSoon:
				w.Header().Set("Retry-After", "1")
				http.Error(w, "a wrong admin token came less than a second ago: try again in a second\n", http.StatusTooManyRequests)
				return
			case !ok:
				w.Header().Set("WWW-Authenticate", `Basic realm="wxreply admin"`)
				http.Error(w, "the admin token is wrong: give --admin-token's value as the password\n", http.StatusUnauthorized)
				return
			}
		} else if !p.allowed(r) {
			switch {
			case p.opts.Token == "":
				p.message(w, r, http.StatusForbidden, "denied.title", "denied.body")
			default:
				next := "/"
				if r.Method == http.MethodGet {
					next = r.URL.RequestURI() // back where they were going, once logged in
				}
				p.render(w, r, http.StatusUnauthorized, "login", loginView{Next: next})
			}
			return
		}
		if r.Method == http.MethodPost && !p.csrfOK(r) {
			p.message(w, r, http.StatusForbidden, "csrf.title", "csrf.body")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// csrfOK reports whether the form carries the CSRF token of the browser's
// cookie, which only a page of this site can read into a form. A client
// that authenticates each request itself (Basic or Bearer, not a cookie)
// cannot be made to send it by another site, and needs none.
func (p *Page) csrfOK(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	if server.AdminTokenGiven(r, p.opts.Token) {
		return true
	}
	c, err := r.Cookie(csrfCookie)
	form := r.PostFormValue("csrf")
	return err == nil && c.Value != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) == 1
}

// csrfToken is the browser's CSRF token, set in a cookie on first sight.
func csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 32 {
		return c.Value
	}
	b := make([]byte, 16)
	rand.Read(b)
	token := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: token, Path: "/", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode})
	return token
}

// secure reports whether the browser reached the page over HTTPS, itself
// or through a proxy that says so: its cookies are then sent over HTTPS
// only.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (p *Page) loginForm(w http.ResponseWriter, r *http.Request) {
	if p.opts.Token == "" || p.allowed(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p.render(w, r, http.StatusOK, "login", loginView{Next: r.URL.Query().Get("next")})
}

func (p *Page) login(w http.ResponseWriter, r *http.Request) {
	next := r.PostFormValue("next")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		next = "/"
	}
	if p.opts.Token == "" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	ok, tooSoon := p.tryToken(r, func() bool {
		return r.Header.Get("Sec-Fetch-Site") != "cross-site" && p.isToken(r.PostFormValue("token"))
	})
	switch {
	case tooSoon:
		w.Header().Set("Retry-After", "1")
		p.render(w, r, http.StatusTooManyRequests, "login", loginView{Next: next, Wrong: true})
		return
	case !ok:
		p.render(w, r, http.StatusUnauthorized, "login", loginView{Next: next, Wrong: true})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: p.session, Path: "/", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (p *Page) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type loginView struct {
	Next  string
	Wrong bool
}

// view is what every page's template gets.
type view struct {
	L      words
	Page   string // the template's name, for the navigation
	CSRF   string
	Switch string // this page in the other language
	Logout bool   // logged in with the cookie
	Reload reloadView
	Body   any
}

// render writes the page name with body, in the request's language.
func (p *Page) render(w http.ResponseWriter, r *http.Request, status int, name string, body any) {
	lang, picked := language(r)
	if picked {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, Secure: secure(r)})
	}
	v := view{L: words{lang}, Page: name, CSRF: csrfToken(w, r), Switch: switchURL(r, lang), Body: body}
	// The rules' state is for those who may see the page: not on the
	// login form, nor on a refusal.
	if (name != "login" && name != "message") || p.allowed(r) {
		v.Reload = p.reloadStatus()
		_, err := r.Cookie(sessionCookie)
		v.Logout = p.opts.Token != "" && err == nil
	}
	var buf bytes.Buffer
	if err := p.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		p.opts.Logger.Error("admin page not rendered", "page", name, "error", err.Error())
		http.Error(w, "the page could not be rendered: see the server's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type messageView struct{ Title, Body string }

// message writes a page of one message: its title and text are word keys.
func (p *Page) message(w http.ResponseWriter, r *http.Request, status int, title, body string) {
	p.render(w, r, status, "message", messageView{title, body})
}

// testRun is one run of the folder's tests.
type testRun struct {
	At     time.Time
	Report *ruletest.Report
	Output string
	Err    error
}
