package backend_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/server/backend"
)

// A backend written in Go: it verifies the request, reads the push, and
// answers with one reply in the rule reply format. wxreply's side is the
// Client, as the server calls it for a rule with backend: {url: ...}.
func ExampleVerify() {
	secret := []byte("the value of --backend-secret")

	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := backend.Verify(secret, r, 5*time.Minute, time.Now())
		if err != nil {
			// Refused: unsigned, signed with another secret, or replayed.
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var push struct {
			Rule, FromUserName, MsgType, Content string
		}
		if err := json.Unmarshal(body, &push); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if push.MsgType != "text" {
			w.WriteHeader(http.StatusNoContent) // nothing to say
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"text": fmt.Sprintf("%s, rule %s: %q is on its way", push.FromUserName, push.Rule, push.Content),
		})
	})
	srv := httptest.NewServer(orders)
	defer srv.Close()

	ev, err := engine.NewEvent(map[string]string{
		"ToUserName": "gh_account", "FromUserName": "oUser123", "CreateTime": "1700000000",
		"MsgType": "text", "Content": "order 42", "MsgId": "1234567890123456",
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	c := &backend.Client{Secret: secret}
	replies, err := c.Call(context.Background(), &engine.Backend{URL: srv.URL, Timeout: 5 * time.Second}, "order", ev)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(replies[0])

	// Signed with another secret, the same push is refused.
	c.Secret = []byte("not the secret")
	_, err = c.Call(context.Background(), &engine.Backend{URL: srv.URL, Timeout: 5 * time.Second}, "order", ev)
	var e *backend.Error
	if errors.As(err, &e) {
		fmt.Println(e.Outcome, e.StatusCode)
	}
	// Output:
	// text:
	//   oUser123, rule order: "order 42" is on its way
	// status 401
}
