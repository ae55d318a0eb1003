package backend

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/text"
)

// MaxReplies is the most replies one answer may hold: the passive reply and
// the five customer-service messages WeChat accepts after a user's message.
// The sender still keeps to WeChat's limits for the push (three after a
// menu click, for one).
const MaxReplies = 6

// kindNames lists the reply kinds, for "did you mean" and for saying what
// a reply may be.
var kindNames = engine.KindNames()

// parseAnswer reads a backend's answer: a reply in the rule reply format
// ({"text": "…"}, {"image": {"media_id": "…"}}, {"news": [{"title": "…"}]}),
// a list of them, or nothing (an empty body, or []). It returns every
// problem it finds, one line each, naming the reply and the field.
func parseAnswer(body []byte, contentType string) ([]*engine.Reply, []string, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // so that a number is reported as one, unrounded
	var v any
	err := dec.Decode(&v)
	if err == nil && dec.Decode(new(any)) != io.EOF {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		msg := "not JSON"
		if contentType != "" && !strings.Contains(contentType, "json") {
			msg += fmt.Sprintf(" (Content-Type %.60q)", contentType)
		}
		return nil, []string{msg + ": " + err.Error()}, err
	}
	if key := duplicateKey(body); key != "" {
		// encoding/json keeps the last; the backend may have meant the first.
		return nil, []string{fmt.Sprintf("%.40q appears twice in one object: which one should be sent?", key)}, nil
	}
	var objects []any
	single := false
	switch v := v.(type) {
	case map[string]any:
		objects, single = []any{v}, true
	case []any:
		objects = v
	default:
		return nil, []string{fmt.Sprintf(`want a reply ({"text": "…"}) or a list of replies, got %s`, kindOf(v))}, nil
	}
	if len(objects) > MaxReplies {
		return nil, []string{fmt.Sprintf("%d replies: at most %d are sent (one passive reply and five through the customer-service API)", len(objects), MaxReplies)}, nil
	}
	var replies []*engine.Reply
	var problems []string
	for i, o := range objects {
		at := fmt.Sprintf("reply %d of %d", i+1, len(objects))
		if single {
			at = "the reply"
		}
		r, p := parseReply(o)
		for _, msg := range p {
			problems = append(problems, at+": "+msg)
		}
		if r != nil {
			replies = append(replies, r)
		}
	}
	if len(problems) > 0 {
		return nil, problems, nil
	}
	return replies, nil, nil
}

// parseReply reads one reply object against engine.Schema.
func parseReply(o any) (*engine.Reply, []string) {
	obj, ok := o.(map[string]any)
	if !ok {
		return nil, []string{fmt.Sprintf("want an object of one reply kind (%s), got %s", strings.Join(kindNames, ", "), kindOf(o))}
	}
	keys := slices.Sorted(maps.Keys(obj))
	switch len(keys) {
	case 0:
		return nil, []string{fmt.Sprintf("no reply kind: give one of %s", strings.Join(kindNames, ", "))}
	case 1:
	default:
		return nil, []string{fmt.Sprintf("%.40q and %.40q: a reply has exactly one kind; send a list for several replies", keys[0], keys[1])}
	}
	s := engine.SchemaOf(engine.Kind(keys[0]))
	if s == nil {
		return nil, []string{text.Unknown("reply kind", keys[0], kindNames)}
	}
	v := obj[keys[0]]
	r := &engine.Reply{Kind: s.Kind}
	var problems []string
	fail := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(string(s.Kind)+": "+format, args...))
	}
	switch s.Shape {
	case engine.ShapeValue:
		str, ok := v.(string)
		switch {
		case !ok:
			fail("want text, got %s", kindOf(v))
		case strings.TrimSpace(str) == "":
			fail("the text is empty: answer 204, or [], to send nothing")
		default:
			r.Values = []string{str}
		}
	case engine.ShapeFields:
		r.Values = parseFields(s, v, func(msg string) { fail("%s", msg) })
	case engine.ShapeList:
		list, ok := v.([]any)
		if !ok && v != nil {
			fail("want a list of %ss, got %s", s.Item, kindOf(v))
			break
		}
		switch {
		case len(list) == 0:
			fail("no %ss: give 1 to %d", s.Item, s.MaxItems)
		case len(list) > s.MaxItems:
			fail("%d %ss: WeChat accepts at most %d", len(list), s.Item, s.MaxItems)
		default:
			for i, item := range list {
				r.Items = append(r.Items, parseFields(s, item, func(msg string) { fail("%s %d: %s", s.Item, i+1, msg) }))
			}
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return r, nil
}

// parseFields reads an object of a kind's fields into their values, in the
// schema's order. A field given as null counts as not given.
func parseFields(s *engine.KindSchema, v any, fail func(string)) []string {
	values := make([]string, len(s.Fields))
	obj, ok := v.(map[string]any)
	if !ok && v != nil {
		fail(fmt.Sprintf("want an object of %s, got %s", strings.Join(s.FieldNames(), ", "), kindOf(v)))
		return values
	}
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		_, i := s.Field(name)
		if i < 0 {
			fail(text.Unknown("field", name, s.FieldNames()))
			continue
		}
		switch fv := obj[name].(type) {
		case nil:
		case string:
			values[i] = fv
		default:
			fail(fmt.Sprintf("%s: want text, got %s", name, kindOf(fv)))
		}
	}
	for i, f := range s.Fields {
		if f.Required && strings.TrimSpace(values[i]) == "" {
			fail(fmt.Sprintf("%s is required: %s", f.Name, f.Doc))
		}
	}
	return values
}

// kindOf names the JSON type of v, for errors.
func kindOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return "text"
	case json.Number:
		return fmt.Sprintf("a number (%.20s)", v)
	case bool:
		return "true/false"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// duplicateKey returns a key that appears twice in one object of body,
// which is valid JSON, or "".
func duplicateKey(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	// An object's frame has keys, and key says whether its next token is
	// a key (or its end); an array's frame has neither.
	type frame struct {
		keys map[string]bool
		key  bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			top := stack[n-1]
			if top.key {
				if k, ok := tok.(string); ok {
					if top.keys[k] {
						return k
					}
					top.keys[k], top.key = true, false
					continue
				}
			} else {
				top.key = true // tok is the value, or its start
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, key: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}
