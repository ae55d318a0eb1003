package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSettingsPrecedence(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "wxreply.yaml")
	if err := os.WriteFile(cfg, []byte("token: from-file\nmode: safe\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		token      string
		tokenGiven bool
	}{
		{"flag beats env and file", []string{"--token", "from-flag"}, map[string]string{"WXREPLY_TOKEN": "from-env"}, "from-flag", true},
		{"env beats file", nil, map[string]string{"WXREPLY_TOKEN": "from-env"}, "from-env", true},
		// docker-compose writes WXREPLY_TOKEN= for an unset ${TOKEN}: that
		// must not blank the file's token.
		{"an empty env is unset", nil, map[string]string{"WXREPLY_TOKEN": ""}, "from-file", true},
		{"an empty flag is given", []string{"--token", ""}, nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			set := newSettings(fs)
			set.add("token", "", "")
			set.add("mode", "plain", "")
			set.add("listen", "127.0.0.1:8080", "")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := set.resolve(cfg); err != nil {
				t.Fatal(err)
			}
			if set.get("token") != tt.token || set.isGiven("token") != tt.tokenGiven {
				t.Errorf("token %q (given %v), want %q (given %v)", set.get("token"), set.isGiven("token"), tt.token, tt.tokenGiven)
			}
			if set.get("mode") != "safe" || set.get("listen") != "127.0.0.1:8080" || set.isGiven("listen") {
				t.Errorf("mode %q, listen %q (given %v)", set.get("mode"), set.get("listen"), set.isGiven("listen"))
			}
		})
	}
}

// TestDevelopmentModeStaysLocal: the public development token is never
// served beyond loopback, nor when a token was meant but came out empty.
func TestDevelopmentModeStaysLocal(t *testing.T) {
	t.Setenv("WXREPLY_TOKEN", "")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "0.0.0.0:0"}, "--token is required to listen on 0.0.0.0:0"},
		{[]string{"--listen", "127.0.0.1:0", "--token", ""}, "--token is empty"},
	} {
		var stderr bytes.Buffer
		code := serve(context.Background(), tt.args, io.Discard, &stderr)
		if code != exitFailure || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tt.args, code, stderr.String(), tt.want)
		}
	}
	if !loopback("localhost:8080") || !loopback("[::1]:80") || loopback(":8080") || loopback("10.0.0.1:80") {
		t.Error("loopback() misjudges an address")
	}
}

// TestServeRefusesMalformedRedisURL: a --redis that cannot be a Redis URL
// stops serve at start, saying the form wanted and never the password.
func TestServeRefusesMalformedRedisURL(t *testing.T) {
	for _, url := range []string{"127.0.0.1:6379", "redis://:hunter2@127.0.0.1:port/0", "redis://:hunter2@127.0.0.1:6379/db0"} {
		var stderr bytes.Buffer
		code := serve(context.Background(), []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--redis", url}, io.Discard, &stderr)
		if code != exitFailure || !strings.Contains(stderr.String(), "--redis: ") || !strings.Contains(stderr.String(), "want redis://[:password@]host:port/db") ||
			strings.Contains(stderr.String(), "hunter2") {
			t.Errorf("--redis %s: exit %d, stderr %q", url, code, stderr.String())
		}
	}
}

// TestUnknownEnv: a WXREPLY_ variable that is no setting is named, with
// what it may be a typo of, and never its value; other commands' and the
// tests' variables are not.
func TestUnknownEnv(t *testing.T) {
	t.Setenv("WXREPLY_REDIS_URL", "redis://:s3cret@host/0")
	t.Setenv("WXREPLY_LOG_FORMT", "json")
	t.Setenv("WXREPLY_FAKEAPI_LISTEN", "127.0.0.1:0")
	t.Setenv("WXREPLY_TEST_REDIS", "redis://127.0.0.1:1/0")
	t.Setenv("WXREPLY_TOKEN", "a-token")
	set := serveFlags(flag.NewFlagSet("serve", flag.ContinueOnError))
	var mine []string // the environment may hold others of the caller's
	for _, msg := range set.unknownEnv() {
		if strings.HasPrefix(msg, "WXREPLY_LOG_FORMT ") || strings.HasPrefix(msg, "WXREPLY_REDIS_URL ") ||
			strings.Contains(msg, "FAKEAPI") || strings.Contains(msg, "WXREPLY_TEST_") || strings.Contains(msg, "WXREPLY_TOKEN ") {
			mine = append(mine, msg)
		}
	}
	got := strings.Join(mine, "\n")
	want := "WXREPLY_LOG_FORMT is not a setting, and is ignored: did you mean WXREPLY_LOG_FORMAT?\n" +
		"WXREPLY_REDIS_URL is not a setting, and is ignored: did you mean WXREPLY_REDIS?"
	if got != want {
		t.Errorf("unknownEnv:\n%s\nwant:\n%s", got, want)
	}
}

// TestSettingErrorsSayWhere: a bad value from the config file or the
// environment is named where it came from, not only by its flag.
func TestSettingErrorsSayWhere(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "wxreply.yaml")
	if err := os.WriteFile(cfg, []byte("deadline: 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := loadSettings([]string{"--config", cfg}, io.Discard)
	if want := `--deadline: time: missing unit in duration "5" (from deadline in the config file ` + cfg + `)`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	t.Setenv("WXREPLY_MAX_CONNS", "many")
	_, err = loadSettings(nil, io.Discard)
	if want := `--max-conns "many": give a whole number above 0 (from WXREPLY_MAX_CONNS)`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}
