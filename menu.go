package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"

	"github.com/wxreply/wxreply/internal/text"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/server/wxapi"
	"github.com/wxreply/wxreply/store"
	"github.com/wxreply/wxreply/wxmenu"
)

// defaultMenuFile is the menu that check and diff read when none is named.
const defaultMenuFile = "examples/menu.yaml"

// stdin is where menu delete reads its confirmation; tests replace it.
var stdin io.Reader = os.Stdin

// cacheNote is what to expect after a change of menu.
const cacheNote = "WeChat's clients show the change within minutes to 24 hours (they cache the menu); unfollow and follow the account again to see it at once."

var menuCommands = []command{
	{"check", "check a menu file against WeChat's limits and the rules", runMenuCheck},
	{"diff", "show what push would change in the live menu", runMenuDiff},
	{"push", "check a menu file and make it the account's menu", runMenuPush},
	{"get", "print the live menu in the menu file format", runMenuGet},
	{"delete", "delete the live menu (asks first, unless --yes)", runMenuDelete},
}

func runMenu(args []string, stdout, stderr io.Writer) int {
	return dispatch("wxreply menu", "wxreply menu manages the account's custom menu (自定义菜单) from a YAML file.", menuCommands, args, stdout, stderr)
}

// fileArg says whether a menu command takes a FILE.
type fileArg int

const (
	noFile       fileArg = iota
	optionalFile         // defaultMenuFile when not given
	requiredFile
)

// menuArgs parses a menu command's flags and its FILE, if it takes one.
func menuArgs(fs *flag.FlagSet, args []string, want fileArg) (path string, code int, ok bool) {
	pos, code, ok := parseInterspersed(fs, args)
	if !ok {
		return "", code, false
	}
	switch {
	case len(pos) > 1, len(pos) == 1 && want == noFile, len(pos) == 0 && want == requiredFile:
		fs.Usage()
		return "", exitUsage, false
	case len(pos) == 1:
		return pos[0], exitOK, true
	case want == optionalFile:
		return defaultMenuFile, exitOK, true
	}
	return "", exitOK, true
}

// apiFlags are the flags of the commands that call WeChat.
type apiFlags struct {
	set    *settings
	secret *string
	store  *store.Redis // the --redis token store, closed by close
}

func addAPIFlags(fs *flag.FlagSet) *apiFlags {
	set := newSettings(fs)
	set.add("appid", "", "the account's AppID")
	set.add("api-base", wxapi.DefaultBaseURL, "WeChat's API address: point it at a proxy, or a test server")
	set.add("token-endpoint", string(wxapi.StableToken), "where the access_token comes from: stable_token, or token for the classic /cgi-bin/token (each call of which revokes the tokens other programs hold)")
	set.add("api-timeout", wxapi.DefaultTimeout.String(), "how long to wait for each answer from WeChat")
	set.add("redis", "", "redis://[:password@]host:port/db: take the access_token from the Redis the servers share, so that this command does not revoke theirs (prefer the env: ps shows flags)")
	set.add("redis-prefix", store.DefaultRedisPrefix, "start of every Redis key, as given to serve")
	secret := fs.String("appsecret", "", "the AppSecret (env WXREPLY_APPSECRET, which ps does not show: prefer it)")
	// Menu took --secret before serve and import took --appsecret: menu
	// and import take both spellings; serve, --appsecret only.
	fs.StringVar(secret, "secret", "", "the same as --appsecret")
	return &apiFlags{set: set, secret: secret}
}

// close closes the token store, if any.
func (a *apiFlags) close() {
	if a.store != nil {
		a.store.Close()
	}
}

// client resolves the flags and environment into a client, or says which
// setting is missing or wrong. Its token store, with --redis, logs to
// stderr when Redis does not answer; close closes it.
func (a *apiFlags) client(stderr io.Writer) (*wxapi.Client, error) {
	if err := a.set.resolve(""); err != nil {
		return nil, err
	}
	secret := *a.secret
	if secret == "" {
		secret = os.Getenv("WXREPLY_APPSECRET")
	}
	appID := a.set.get("appid")
	switch {
	case appID == "":
		return nil, errors.New("no AppID: give --appid or set WXREPLY_APPID (admin panel: 设置与开发 → 基本配置)")
	case secret == "":
		return nil, errors.New("no AppSecret: set WXREPLY_APPSECRET or give --appsecret (admin panel: 设置与开发 → 基本配置)")
	}
	c, err := apiClient(a.set, appID, secret)
	if err != nil {
		return nil, err
	}
	if u := a.set.get("redis"); u != "" {
		logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		st, err := store.OpenRedis(context.Background(), u, store.RedisOptions{Prefix: a.set.get("redis-prefix"), Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("--redis: %w", err)
		}
		a.store, c.TokenStore = st, st
	}
	return c, nil
}

// menuContext ends on Ctrl-C.
func menuContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// readMenu parses and checks a menu file, printing its problems.
func readMenu(name, path string, stderr io.Writer, consequence string) (*wxmenu.File, bool) {
	f, err := wxmenu.ParseFile(path)
	if err == nil {
		return f, true
	}
	var list rules.Errors
	if errors.As(err, &list) {
		fmt.Fprintln(stderr, err)
		fmt.Fprintf(stderr, "%d %s%s\n", len(list), text.Plural(len(list), "error", "errors"), consequence)
	} else {
		fmt.Fprintf(stderr, "wxreply menu %s: %v\n", name, err)
	}
	return nil, false
}

func menuSummary(m *wxmenu.Menu) string {
	b, s := m.Count()
	return fmt.Sprintf("%d %s, %d sub-menu %s", b, text.Plural(b, "button", "buttons"), s, text.Plural(s, "button", "buttons"))
}

func runMenuCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("menu check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rulesFlag := fs.String("rules", "", "the rule folder whose event_key rules answer the buttons (default "+defaultRulesDir+", or the bundled examples)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply menu check [--rules DIR] [FILE]\n\nChecks the menu file (default %s) against WeChat's limits and prints every\nproblem as file:line:col: message. Warns about each button whose key no rule\nanswers and each rule event_key that no button sends.\n\n", defaultMenuFile)
		fs.PrintDefaults()
	}
	path, code, ok := menuArgs(fs, args, optionalFile)
	if !ok {
		return code
	}
	f, ok := readMenu("check", path, stderr, "")
	if !ok {
		return exitFailure
	}
	if rulesDir(*rulesFlag) == "" {
		fmt.Fprintln(stderr, "wxreply menu check: "+builtInNote)
	}
	res, err := loadRules(*rulesFlag)
	if err != nil {
		fmt.Fprintf(stderr, "wxreply menu check: the rules do not load, so the keys they answer are unknown (run wxreply check):\n%v\n", err)
		return exitFailure
	}
	for _, w := range wxmenu.CheckRules(f, res.RuleSet) {
		fmt.Fprintln(stdout, w.Warning())
	}
	fmt.Fprintf(stdout, "menu OK: %s\n", menuSummary(f.Menu))
	return exitOK
}

// liveMenu returns the account's menu, or nil when it has none.
func liveMenu(ctx context.Context, c *wxapi.Client, stderr io.Writer) (*wxmenu.Menu, error) {
	info, err := c.MenuGet(ctx)
	if errors.Is(err, wxapi.ErrNoMenu) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if n := len(info.ConditionalMenus); n > 0 {
		fmt.Fprintf(stderr, "note: the account also has %d conditional %s, not shown: wxreply manages the default menu\n", n, text.Plural(n, "menu", "menus"))
	}
	return wxmenu.FromJSON(info.Menu)
}

func runMenuDiff(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("menu diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := addAPIFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply menu diff [flags] [FILE]\n\nShows, as a unified diff, what \"wxreply menu push FILE\" would change in the\naccount's live menu, and exits 1 when they differ (0 when they do not, 2 on a\nwrong command line). FILE defaults to %s.\n\n", defaultMenuFile)
		fs.PrintDefaults()
	}
	path, code, ok := menuArgs(fs, args, optionalFile)
	if !ok {
		return code
	}
	c, err := api.client(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wxreply menu diff: %v\n", err)
		return exitUsage
	}
	defer api.close()
	f, ok := readMenu("diff", path, stderr, "")
	if !ok {
		return exitFailure
	}
	ctx, cancel := menuContext()
	defer cancel()
	live, err := liveMenu(ctx, c, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wxreply menu diff: %v\n", err)
		return exitFailure
	}
	liveName := "live menu of " + c.AppID
	if live == nil {
		liveName += " (none)"
	}
	d := wxmenu.Diff(liveName, live, path, f.Menu)
	if d == "" {
		fmt.Fprintf(stdout, "no changes: the live menu is %s\n", path)
		return exitOK
	}
	fmt.Fprint(stdout, d)
	return exitFailure // like diff(1): 1 when the two differ, so that scripts can tell
}

func runMenuPush(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("menu push", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := addAPIFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply menu push [flags] FILE\n\nChecks the menu file and, when it has no errors, makes it the account's menu\n(/cgi-bin/menu/create). Run \"wxreply menu diff FILE\" first to see the change.\n\n")
		fs.PrintDefaults()
	}
	path, code, ok := menuArgs(fs, args, requiredFile)
	if !ok {
		return code
	}
	c, err := api.client(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wxreply menu push: %v\n", err)
		return exitUsage
	}
	defer api.close()
	f, ok := readMenu("push", path, stderr, ": nothing was pushed")
	if !ok {
		return exitFailure
	}
	ctx, cancel := menuContext()
	defer cancel()
	if err := c.MenuCreate(ctx, f.Menu); err != nil {
		fmt.Fprintf(stderr, "wxreply menu push: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "pushed %s to %s: %s\n%s\n", path, c.AppID, menuSummary(f.Menu), cacheNote)
	return exitOK
}

func runMenuGet(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("menu get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := addAPIFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply menu get [flags]\n\nPrints the account's live menu (/cgi-bin/menu/get) in the menu file format,\nready to save and push again. A menu made in the admin panel is not shown.\n\n")
		fs.PrintDefaults()
	}
	if _, code, ok := menuArgs(fs, args, noFile); !ok {
		return code
	}
	c, err := api.client(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wxreply menu get: %v\n", err)
		return exitUsage
	}
	defer api.close()
	ctx, cancel := menuContext()
	defer cancel()
	live, err := liveMenu(ctx, c, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wxreply menu get: %v\n", err)
		return exitFailure
	}
	if live == nil {
		fmt.Fprintf(stderr, "wxreply menu get: %v (WeChat error 46003)\n", wxapi.ErrNoMenu)
		return exitFailure
	}
	stdout.Write(wxmenu.Format(live))
	return exitOK
}

func runMenuDelete(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("menu delete", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := addAPIFlags(fs)
	yes := fs.Bool("yes", false, "delete without asking")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply menu delete [--yes] [flags]\n\nDeletes the account's menu, and with it every conditional menu\n(/cgi-bin/menu/delete). Asks first, unless --yes.\n\n")
		fs.PrintDefaults()
	}
	if _, code, ok := menuArgs(fs, args, noFile); !ok {
		return code
	}
	c, err := api.client(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wxreply menu delete: %v\n", err)
		return exitUsage
	}
	defer api.close()
	if !*yes {
		fmt.Fprintf(stderr, "Delete the custom menu of %s, and every conditional menu? Type yes to delete: ", c.AppID)
		answer, _ := bufio.NewReader(stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "yes" && a != "y" {
			fmt.Fprintln(stderr, "\nnot deleted (give --yes to delete without asking)")
			return exitFailure
		}
	}
	ctx, cancel := menuContext()
	defer cancel()
	if err := c.MenuDelete(ctx); err != nil {
		fmt.Fprintf(stderr, "wxreply menu delete: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "deleted the custom menu of %s\n%s\n", c.AppID, cacheNote)
	return exitOK
}
