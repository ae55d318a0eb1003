package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxreply/wxreply/internal/redistest"
	"github.com/wxreply/wxreply/server/wxapi"
	"github.com/wxreply/wxreply/server/wxapi/wxapitest"
	"github.com/wxreply/wxreply/store"
)

// TestE2EMenuSharesTokenThroughRedis: four wxreply menu get processes that
// share a Redis find the stored token refused (40001) at once; WeChat's
// token endpoint is asked once, not four times (with /cgi-bin/token, each
// extra fetch would revoke the token the others just got), and every one
// prints the menu.
func TestE2EMenuSharesTokenThroughRedis(t *testing.T) {
	skipShort(t)
	url := redistest.URL(t)
	fake := wxapitest.NewServer(t, menuAppID, menuSecret)
	ctx := t.Context()

	// A menu to get, pushed with a token of the test's own.
	setup := &wxapi.Client{AppID: menuAppID, Secret: menuSecret, BaseURL: fake.URL}
	menu := map[string]any{"button": []map[string]any{{"type": "click", "name": "Hours", "key": "MENU_OPENING_HOURS"}}}
	if err := setup.MenuCreate(ctx, menu); err != nil {
		t.Fatal(err)
	}

	// The shared Redis holds a token WeChat no longer takes.
	var b [6]byte
	rand.Read(b[:])
	prefix := "wxreply-e2e-" + hex.EncodeToString(b[:]) + ":"
	st, err := store.OpenRedis(ctx, url, store.RedisOptions{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	defer st.CompareAndDelete(context.Background(), menuAppID, fake.Token())
	if err := st.Set(ctx, menuAppID, wxapi.Token{Value: "old-token", ExpiresAt: time.Now().Add(time.Hour)}); err != nil || st.Health().Degraded {
		t.Fatalf("seeding the old token: %v %+v", err, st.Health())
	}

	// The token endpoint is slow, so that the four wait for it together.
	fake.Fail(wxapitest.TokenPath, wxapitest.Fault{Delay: 300 * time.Millisecond})
	before := fake.TokenFetches()
	const n = 4
	var wg sync.WaitGroup
	outs := make([]string, n)
	for i := range n {
		wg.Go(func() {
			cmd := exec.CommandContext(ctx, wxreplyBin, "menu", "get", "--redis", url, "--redis-prefix", prefix,
				"--token-endpoint", "token", "--api-base", fake.URL, "--appid", menuAppID, "--api-timeout", "10s")
			cmd.Dir = repoRoot
			cmd.Env = cleanEnv("WXREPLY_APPSECRET=" + menuSecret)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Errorf("process %d: %v\n%s%s", i, err, stdout.String(), stderr.String())
			}
			outs[i] = stdout.String()
		})
	}
	wg.Wait()
	if got := fake.TokenFetches() - before; got != 1 {
		t.Errorf("four processes fetched %d tokens; want 1", got)
	}
	for i, out := range outs {
		if !strings.Contains(out, "MENU_OPENING_HOURS") {
			t.Errorf("process %d printed:\n%s", i, out)
		}
	}
	// The token they share is the new one, in Redis.
	if tok, ok, _ := st.Get(ctx, menuAppID); !ok || tok.Value != fake.Token() {
		t.Errorf("Redis holds %v (found %v); want the fake's current token", tok, ok)
	}
}
