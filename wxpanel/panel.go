package wxpanel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// AutoReply is the answer of /cgi-bin/get_current_autoreply_info.
type AutoReply struct {
	// FollowReplyOpen and AutoReplyOpen are 1 when the panel's switches are
	// on: the follow reply, and the keyword and default replies.
	FollowReplyOpen int `json:"is_add_friend_reply_open"`
	AutoReplyOpen   int `json:"is_autoreply_open"`
	// Follow is the reply to a follow (被关注回复), nil when there is none.
	Follow *Reply `json:"add_friend_autoreply_info"`
	// Default answers a message no keyword rule matches (收到消息回复), nil
	// when there is none.
	Default *Reply `json:"message_default_autoreply_info"`
	Keyword struct {
		List []KeywordRule `json:"list"`
	} `json:"keyword_autoreply_info"`
}

// KeywordRule is one of the panel's keyword rules (关键词回复).
type KeywordRule struct {
	Name       string `json:"rule_name"`
	CreateTime int64  `json:"create_time"`
	// ReplyMode is reply_all (every reply, in order) or random_one.
	ReplyMode string    `json:"reply_mode"`
	Keywords  []Keyword `json:"keyword_list_info"`
	Replies   []Reply   `json:"reply_list_info"`
}

// Keyword is one keyword of a rule.
type Keyword struct {
	Type string `json:"type"`
	// MatchMode is contain or equal.
	MatchMode string `json:"match_mode"`
	Content   string `json:"content"`
}

// Reply is one reply of a rule, or the follow or default reply.
type Reply struct {
	// Type is text, img, voice, video or news.
	Type string `json:"type"`
	// Content is the text; a temporary media id (img, voice); the video's
	// URL; or, for news given without news_info, the id of the material.
	Content  string `json:"content"`
	NewsInfo *struct {
		List []Article `json:"list"`
	} `json:"news_info"`
}

// Article is one article of a news reply.
type Article struct {
	Title      string `json:"title"`
	Author     string `json:"author"`
	Digest     string `json:"digest"`
	ShowCover  int    `json:"show_cover"`
	CoverURL   string `json:"cover_url"`
	ContentURL string `json:"content_url"`
	SourceURL  string `json:"source_url"`
}

// Parse reads the API's answer, as the API gives it or as saved to a file.
// Its errors say where in data the problem is.
func Parse(data []byte) (*AutoReply, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty: want the JSON the API answers")
	}
	var head struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, jsonError(data, err)
	}
	if head.ErrCode != nil && *head.ErrCode != 0 {
		return nil, fmt.Errorf("this is an error from WeChat, not the auto-reply rules: errcode %d, errmsg %q: save the answer of a successful call", *head.ErrCode, head.ErrMsg)
	}
	var known map[string]json.RawMessage
	_ = json.Unmarshal(data, &known) // it is a JSON object: the first decode said so
	found := false
	for _, k := range []string{"is_autoreply_open", "is_add_friend_reply_open", "keyword_autoreply_info", "add_friend_autoreply_info", "message_default_autoreply_info"} {
		if _, ok := known[k]; ok {
			found = true
		}
	}
	if !found {
		return nil, errors.New("not the answer of get_current_autoreply_info: it has none of is_autoreply_open, is_add_friend_reply_open, keyword_autoreply_info, add_friend_autoreply_info, message_default_autoreply_info")
	}
	var a AutoReply
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, jsonError(data, err)
	}
	return &a, nil
}

// jsonError says where in data a decoding error is, as line:col.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read, the wrong one included; at the
		// end of the input, the place is after the last byte.
		off := syn.Offset
		if off < int64(len(data)) {
			off--
		}
		line, col := lineCol(data, off)
		return fmt.Errorf("%d:%d: not valid JSON: %w", line, col, err)
	case errors.As(err, &typ):
		line, col := lineCol(data, typ.Offset-1)
		if typ.Field == "" {
			return fmt.Errorf("%d:%d: want a JSON object, as the API answers, not a %s", line, col, typ.Value)
		}
		return fmt.Errorf("%d:%d: %s is a %s, where the API gives a %s", line, col, typ.Field, typ.Value, typ.Type)
	}
	return fmt.Errorf("not valid JSON: %w", err)
}

// lineCol turns a byte offset into a 1-based line and column (in bytes).
func lineCol(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}
