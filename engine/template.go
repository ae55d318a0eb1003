package engine

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"text/template"
)

// MaxRenderBytes caps what one reply field may render to, so that a template
// looping over a large value cannot exhaust memory while answering WeChat.
const MaxRenderBytes = 64 << 10

// ErrRenderTooLarge is returned when a template renders more than MaxRenderBytes.
var ErrRenderTooLarge = fmt.Errorf("reply renders to more than %d bytes", MaxRenderBytes)

// Template is one reply field: a Go text/template over Env, compiled once.
// A field without "{{" is kept as a literal and costs nothing to render.
type Template struct {
	src  string
	tmpl *template.Template
}

// TemplateFuncs are the functions reply templates may call besides
// text/template's own.
var TemplateFuncs = template.FuncMap{
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"trim":  strings.TrimSpace,
	// join writes any list with sep between its items: {{ join ", " .Vars.drinks }}.
	"join": func(sep string, list any) (string, error) {
		v := reflect.ValueOf(list)
		if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
			return "", fmt.Errorf("join: want a list, got %T", list)
		}
		items := make([]string, v.Len())
		for i := range items {
			items[i] = fmt.Sprint(v.Index(i).Interface())
		}
		return strings.Join(items, sep), nil
	},
	"replace": func(old, new, s string) string {
		return strings.ReplaceAll(s, old, new)
	},
	// default returns fallback when value is empty: {{ .Scene | default "none" }}.
	"default": func(fallback string, value any) any {
		if s, ok := value.(string); ok && s == "" || value == nil {
			return fallback
		}
		return value
	},
}

// CompileTemplate parses src as a reply template named name. Reading a key
// that Vars does not have is an error (missingkey=error), not "<no value>".
func CompileTemplate(name, src string) (*Template, error) {
	if !strings.Contains(src, "{{") {
		return &Template{src: src}, nil
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(TemplateFuncs).Parse(src)
	if err != nil {
		return nil, err
	}
	return &Template{src: src, tmpl: t}, nil
}

// Source is the template text as written.
func (t *Template) Source() string { return t.src }

// Render executes the template over env.
func (t *Template) Render(env *Env) (string, error) {
	if t.tmpl == nil {
		return t.src, nil
	}
	var w cappedWriter
	if err := t.tmpl.Execute(&w, env); err != nil {
		if errors.Is(err, ErrRenderTooLarge) {
			return "", ErrRenderTooLarge
		}
		return "", err
	}
	return w.String(), nil
}

type cappedWriter struct{ strings.Builder }

func (w *cappedWriter) Write(p []byte) (int, error) {
	if w.Len()+len(p) > MaxRenderBytes {
		return 0, ErrRenderTooLarge
	}
	return w.Builder.Write(p)
}

// TemplateError is a reply template that failed to render.
type TemplateError struct {
	Template *Template
	Err      error
}

func (e *TemplateError) Error() string { return e.Err.Error() }
func (e *TemplateError) Unwrap() error { return e.Err }

// ReplyTemplate is a compiled reply: the fields of Kind are set, each one a
// Template. Nil fields render as empty strings.
type ReplyTemplate struct {
	Kind         Kind
	Text         *Template // text
	MediaID      *Template // image, voice, video
	Title        *Template // video, music
	Description  *Template // video, music
	MusicURL     *Template // music
	HQMusicURL   *Template // music
	ThumbMediaID *Template // music
	KfAccount    *Template // transfer_customer_service
	News         []ArticleTemplate
}

// ArticleTemplate is one compiled item of a news reply.
type ArticleTemplate struct {
	Title, Description, PicURL, URL *Template
}

// Render produces the reply for env. An error is a *TemplateError naming the
// field that failed.
func (rt *ReplyTemplate) Render(env *Env) (*Reply, error) {
	r := renderer{env: env}
	reply := &Reply{Kind: rt.Kind}
	switch rt.Kind {
	case KindText:
		reply.Text = r.render(rt.Text)
	case KindImage:
		reply.Image = &Media{MediaID: r.render(rt.MediaID)}
	case KindVoice:
		reply.Voice = &Media{MediaID: r.render(rt.MediaID)}
	case KindVideo:
		reply.Video = &Video{
			MediaID:     r.render(rt.MediaID),
			Title:       r.render(rt.Title),
			Description: r.render(rt.Description),
		}
	case KindMusic:
		reply.Music = &Music{
			Title:        r.render(rt.Title),
			Description:  r.render(rt.Description),
			MusicURL:     r.render(rt.MusicURL),
			HQMusicURL:   r.render(rt.HQMusicURL),
			ThumbMediaID: r.render(rt.ThumbMediaID),
		}
	case KindNews:
		reply.News = make([]Article, len(rt.News))
		for i, a := range rt.News {
			reply.News[i] = Article{
				Title:       r.render(a.Title),
				Description: r.render(a.Description),
				PicURL:      r.render(a.PicURL),
				URL:         r.render(a.URL),
			}
		}
	case KindTransferService:
		reply.Transfer = &TransferService{KfAccount: r.render(rt.KfAccount)}
	default:
		return nil, fmt.Errorf("unknown reply kind %q", rt.Kind)
	}
	if r.err != nil {
		return nil, r.err
	}
	if field := emptyRequired(reply); field != "" {
		return nil, fmt.Errorf("%w: %s", ErrEmptyReply, field)
	}
	return reply, nil
}

// ErrEmptyReply is a reply whose text, media_id or article title rendered
// empty: WeChat shows the user an error for it, so the rule is skipped as if
// it had failed, and the next rule answers.
var ErrEmptyReply = errors.New("the reply rendered empty")

// emptyRequired names the field WeChat requires that the reply left blank.
func emptyRequired(r *Reply) string {
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	switch {
	case r.Kind == KindText && blank(r.Text):
		return "text"
	case r.Kind == KindImage && blank(r.Image.MediaID),
		r.Kind == KindVoice && blank(r.Voice.MediaID),
		r.Kind == KindVideo && blank(r.Video.MediaID):
		return "media_id"
	case r.Kind == KindMusic && blank(r.Music.ThumbMediaID):
		return "thumb_media_id"
	}
	for _, a := range r.News {
		if blank(a.Title) {
			return "news title"
		}
	}
	return ""
}

// Templates lists every field template of the reply, for checks that visit them all.
func (rt *ReplyTemplate) Templates() []*Template {
	ts := []*Template{rt.Text, rt.MediaID, rt.Title, rt.Description, rt.MusicURL, rt.HQMusicURL, rt.ThumbMediaID, rt.KfAccount}
	for _, a := range rt.News {
		ts = append(ts, a.Title, a.Description, a.PicURL, a.URL)
	}
	out := ts[:0]
	for _, t := range ts {
		if t != nil {
			out = append(out, t)
		}
	}
	return out
}

// renderer keeps the first failure so that Render reads as a list of fields.
type renderer struct {
	env *Env
	err error
}

func (r *renderer) render(t *Template) string {
	if t == nil || r.err != nil {
		return ""
	}
	s, err := t.Render(r.env)
	if err != nil {
		r.err = &TemplateError{Template: t, Err: err}
	}
	return s
}
