package wxapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/wxreply/wxreply/engine"
)

// The customer-service message API (客服消息): messages sent to a user after
// the passive reply, within limits WeChat sets per user and push.
const (
	CustomSendPath   = "/cgi-bin/message/custom/send"
	CustomTypingPath = "/cgi-bin/message/custom/typing"
)

// The errcodes that end sending to a user for one push. Retrying them only
// burns calls: the answer stays the same until the user writes again.
const (
	// CodeWindowClosed (45015): the user's last message is more than 48 h
	// old, or the user has unfollowed the account.
	CodeWindowClosed = 45015
	// CodeTooMany (45047): the messages WeChat allows after the user's last
	// push (5 after a message, 3 after an event) are used up.
	CodeTooMany = 45047
)

// ErrWindowClosed and ErrTooMany match (with errors.Is) WeChat's 45015 and
// 45047.
var (
	ErrWindowClosed = errors.New("the user's 48-hour window has passed, or the user has unfollowed the account")
	ErrTooMany      = errors.New("the messages WeChat allows after the user's last push are used up")
)

// ErrNotSendable is the error of a reply the customer-service API cannot
// carry: transfer_customer_service hands a conversation to an agent, which
// only a passive reply can do.
var ErrNotSendable = errors.New("transfer_customer_service cannot be sent through the customer-service API: only a passive reply hands a conversation to an agent")

// Typing commands for Client.Typing.
const (
	Typing       = "Typing"
	CancelTyping = "CancelTyping"
)

// CustomMessage is the JSON body of /cgi-bin/message/custom/send for reply
// r to toUser, following WeChat's names (engine.Schema's JSON keys). A news
// reply carries its first article only: WeChat refuses more than one in a
// customer-service message. dropped counts the articles left out.
func CustomMessage(toUser string, r *engine.Reply) (msg map[string]any, dropped int, err error) {
	s := r.Schema()
	switch {
	case s == nil:
		return nil, 0, fmt.Errorf("reply kind %q is not one WeChat knows", r.Kind)
	case r.Kind == engine.KindTransferService:
		return nil, 0, ErrNotSendable
	}
	fields := func(values []string) map[string]string {
		m := make(map[string]string, len(s.Fields))
		for i, f := range s.Fields {
			if i < len(values) && (values[i] != "" || f.Required) {
				m[f.JSON] = values[i]
			}
		}
		return m
	}
	var body any
	switch s.Shape {
	case engine.ShapeList:
		if len(r.Items) == 0 {
			return nil, 0, fmt.Errorf("%s reply without a single %s", r.Kind, s.Item)
		}
		body = map[string]any{"articles": []map[string]string{fields(r.Items[0])}}
		dropped = len(r.Items) - 1
	default:
		body = fields(r.Values)
	}
	return map[string]any{"touser": toUser, "msgtype": string(r.Kind), string(r.Kind): body}, dropped, nil
}

// CustomSend sends r to the user toUser (an OpenID) through the
// customer-service API. A news reply of several articles sends the first
// one only, and the Client's Logger says so. Errors 45015 and 45047 match
// ErrWindowClosed and ErrTooMany; they are never retried.
func (c *Client) CustomSend(ctx context.Context, toUser string, r *engine.Reply) error {
	msg, dropped, err := CustomMessage(toUser, r)
	if err != nil {
		return fmt.Errorf("%s: %w", CustomSendPath, err)
	}
	if dropped > 0 {
		c.log().Warn("wechat api: a customer-service news message carries one article; sending the first", "articles", dropped+1)
	}
	return c.Call(ctx, http.MethodPost, CustomSendPath, nil, msg, nil)
}

// Typing shows the user toUser that the account is typing (command
// Typing), or stops showing it (CancelTyping). WeChat shows it for up to
// 15 s, and only within the user's 48-hour window.
func (c *Client) Typing(ctx context.Context, toUser, command string) error {
	if command != Typing && command != CancelTyping {
		return fmt.Errorf("%s: command %q: want %s or %s", CustomTypingPath, command, Typing, CancelTyping)
	}
	return c.Call(ctx, http.MethodPost, CustomTypingPath, nil, map[string]string{"touser": toUser, "command": command}, nil)
}
