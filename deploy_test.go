package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"gopkg.in/yaml.v3"

	"github.com/wxreply/wxreply/rules"
)

// TestDockerfile reads the Dockerfile as a reviewer would: pinned bases, a
// user without privileges, the health check through the binary.
func TestDockerfile(t *testing.T) {
	src, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	from := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(string(src), -1)
	if len(from) < 2 {
		t.Fatalf("want a multi-stage build, got %d FROM lines", len(from))
	}
	for _, f := range from {
		image := f[1]
		if !strings.Contains(image, ":") || strings.HasSuffix(image, ":latest") {
			t.Errorf("FROM %s: pin a tag, not latest", image)
		}
	}
	user := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllStringSubmatch(string(src), -1)
	if len(user) == 0 || strings.HasPrefix(user[len(user)-1][1], "root") || strings.HasPrefix(user[len(user)-1][1], "0") {
		t.Errorf("the image must run as a user without privileges: USER %v", user)
	}
	for _, want := range []string{"CGO_ENABLED=0", "HEALTHCHECK", `"health"`, "WXREPLY_RULES=/rules"} {
		if !bytes.Contains(src, []byte(want)) {
			t.Errorf("the Dockerfile lacks %s", want)
		}
	}
}

// TestDeployExamples: the systemd unit reloads with SIGHUP, and the
// Kubernetes example is valid YAML whose ConfigMap is a rule folder that
// loads.
func TestDeployExamples(t *testing.T) {
	unit, err := os.ReadFile("deploy/wxreply.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ExecReload=/bin/kill -HUP $MAINPID", "ExecStart=/usr/local/bin/wxreply serve", "EnvironmentFile="} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("wxreply.service lacks %s", want)
		}
	}

	f, err := os.Open("deploy/kubernetes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	kinds := map[string]bool{}
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		kinds[doc.Kind] = true
		if doc.Kind != "ConfigMap" {
			continue
		}
		folder := fstest.MapFS{}
		for name, src := range doc.Data {
			folder[name] = &fstest.MapFile{Data: []byte(src)}
		}
		res, err := rules.LoadFS(folder, "deploy/kubernetes.yaml ConfigMap")
		if err != nil {
			t.Fatalf("the ConfigMap's rules do not load:\n%v", err)
		}
		if len(res.RuleSet.Rules()) == 0 {
			t.Error("the ConfigMap holds no rule")
		}
	}
	for _, k := range []string{"ConfigMap", "Secret", "Deployment", "Service"} {
		if !kinds[k] {
			t.Errorf("kubernetes.yaml has no %s", k)
		}
	}
}

func TestHealth(t *testing.T) {
	ready := true
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ready {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	}))
	defer ts.Close()
	if code, out, errOut := runCLI(t, "health", "--url", ts.URL+"/readyz"); code != exitOK || out != "ok\n" {
		t.Errorf("ready: exit %d, %q %q", code, out, errOut)
	}
	ready = false
	if code, _, errOut := runCLI(t, "health", "--url", ts.URL+"/readyz"); code != exitFailure || !strings.Contains(errOut, "503 Service Unavailable") {
		t.Errorf("not ready: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI(t, "health", "--url", "http://127.0.0.1:1/healthz"); code != exitFailure || !strings.Contains(errOut, "wxreply health: ") {
		t.Errorf("nothing listening: exit %d, %q", code, errOut)
	}
}
