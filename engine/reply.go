package engine

import (
	"fmt"
	"strings"
)

// Kind names a passive reply type as WeChat's MsgType does.
type Kind string

// The reply kinds WeChat accepts as a passive reply.
const (
	KindText            Kind = "text"
	KindImage           Kind = "image"
	KindVoice           Kind = "voice"
	KindVideo           Kind = "video"
	KindMusic           Kind = "music"
	KindNews            Kind = "news"
	KindTransferService Kind = "transfer_customer_service"
)

// MaxArticles is the most articles a news reply may carry. WeChat shows only
// the first one when the reply answers a user message, rather than an event.
const MaxArticles = 8

// MaxTextBytes is the longest text reply WeChat is known to deliver; longer
// ones are reported to be dropped or cut. Rule checks warn about replies that
// may render longer, and the server cuts them.
const MaxTextBytes = 2048

// Shape says how a reply kind's fields are written.
type Shape int

const (
	// ShapeValue is a kind of one field, written as its value alone
	// (text: "Hello").
	ShapeValue Shape = iota
	// ShapeFields is a kind written as a mapping of its fields
	// (image: {media_id: M}).
	ShapeFields
	// ShapeList is a kind written as a list of mappings of its fields, one
	// an item (news: [{title: T, url: U}]).
	ShapeList
)

// Field is one field of a reply kind, with its name in each place a reply
// is written.
type Field struct {
	// Name is the field's key in rule files and rule tests, and what
	// Reply.Get takes: "media_id".
	Name string
	// XML is the element of WeChat's passive reply: "MediaId".
	XML string
	// JSON is the key in the message JSON of WeChat's customer-service
	// API: "media_id".
	JSON string
	// Required fields must be given in a rule, and a reply whose required
	// field renders blank is skipped (WeChat would show the user an error).
	Required bool
	// OmitEmpty leaves the element out of the reply XML when the field is
	// empty; other fields are always written.
	OmitEmpty bool
	// Doc says what the field holds.
	Doc string
}

// KindSchema is one reply kind: its fields, and how they are written.
type KindSchema struct {
	Kind  Kind
	Shape Shape
	// XML is the element around the fields in the reply XML ("Image");
	// empty when they sit directly under <xml> (text). For a list, each
	// item is an <item> inside it, after an element CountXML that counts
	// them.
	XML      string
	CountXML string
	// Item names one item of a list, for people ("article"); MaxItems
	// bounds the list.
	Item     string
	MaxItems int
	Fields   []Field
	Doc      string
}

// Field returns the kind's field of the given name, and its index in
// Fields, or nil and -1.
func (k *KindSchema) Field(name string) (*Field, int) {
	for i := range k.Fields {
		if k.Fields[i].Name == name {
			return &k.Fields[i], i
		}
	}
	return nil, -1
}

// FieldNames lists the names of the kind's fields, in order.
func (k *KindSchema) FieldNames() []string {
	names := make([]string, len(k.Fields))
	for i, f := range k.Fields {
		names[i] = f.Name
	}
	return names
}

const mediaDoc = "the id of a file uploaded with WeChat's media upload API"

// Schema is the one definition of the passive replies: rule files, rule
// tests, templates, the reply XML and the text shown to people all follow
// it. A field is added to a reply kind here, and nowhere else.
var Schema = []*KindSchema{
	{Kind: KindText, Shape: ShapeValue, Doc: "A text message.", Fields: []Field{
		{Name: "text", XML: "Content", JSON: "content", Required: true, Doc: "the text; WeChat delivers up to 2048 bytes"},
	}},
	{Kind: KindImage, Shape: ShapeFields, XML: "Image", Doc: "An image.", Fields: []Field{
		{Name: "media_id", XML: "MediaId", JSON: "media_id", Required: true, Doc: mediaDoc},
	}},
	{Kind: KindVoice, Shape: ShapeFields, XML: "Voice", Doc: "A voice message.", Fields: []Field{
		{Name: "media_id", XML: "MediaId", JSON: "media_id", Required: true, Doc: mediaDoc},
	}},
	{Kind: KindVideo, Shape: ShapeFields, XML: "Video", Doc: "A video.", Fields: []Field{
		{Name: "media_id", XML: "MediaId", JSON: "media_id", Required: true, Doc: mediaDoc},
		{Name: "title", XML: "Title", JSON: "title", OmitEmpty: true, Doc: "the video's title"},
		{Name: "description", XML: "Description", JSON: "description", OmitEmpty: true, Doc: "the video's description"},
	}},
	{Kind: KindMusic, Shape: ShapeFields, XML: "Music", Doc: "A piece of music, with a thumbnail.", Fields: []Field{
		{Name: "title", XML: "Title", JSON: "title", OmitEmpty: true, Doc: "the music's title"},
		{Name: "description", XML: "Description", JSON: "description", OmitEmpty: true, Doc: "the music's description"},
		{Name: "music_url", XML: "MusicUrl", JSON: "musicurl", OmitEmpty: true, Doc: "the address of the music"},
		{Name: "hq_music_url", XML: "HQMusicUrl", JSON: "hqmusicurl", OmitEmpty: true, Doc: "the address of the music in high quality, played on Wi-Fi"},
		{Name: "thumb_media_id", XML: "ThumbMediaId", JSON: "thumb_media_id", Required: true, Doc: "the thumbnail: " + mediaDoc},
	}},
	{Kind: KindNews, Shape: ShapeList, XML: "Articles", CountXML: "ArticleCount", Item: "article", MaxItems: MaxArticles,
		Doc: "1 to 8 articles; WeChat shows only the first when the reply answers a user message.", Fields: []Field{
			{Name: "title", XML: "Title", JSON: "title", Required: true, Doc: "the article's title"},
			{Name: "description", XML: "Description", JSON: "description", Doc: "the article's summary"},
			{Name: "pic_url", XML: "PicUrl", JSON: "picurl", Doc: "the address of its picture: 360×200 for the first article, 200×200 for the others"},
			{Name: "url", XML: "Url", JSON: "url", Doc: "the address the article opens"},
		}},
	{Kind: KindTransferService, Shape: ShapeFields, XML: "TransInfo",
		Doc: "Hands the conversation to WeChat customer service.", Fields: []Field{
			{Name: "kf_account", XML: "KfAccount", JSON: "kf_account", OmitEmpty: true, Doc: "the agent (account@official-account-id); any agent online when empty"},
		}},
}

// Kinds lists every reply kind, in the order the rule format documents them.
var Kinds = func() []Kind {
	out := make([]Kind, len(Schema))
	for i, k := range Schema {
		out[i] = k.Kind
	}
	return out
}()

// KindNames lists the reply kinds' names, as Kinds does, for messages and
// "did you mean". The slice is a copy.
func KindNames() []string {
	out := make([]string, len(Kinds))
	for i, k := range Kinds {
		out[i] = string(k)
	}
	return out
}

// SchemaOf returns the schema of kind k, or nil when there is no such kind.
func SchemaOf(k Kind) *KindSchema {
	for _, s := range Schema {
		if s.Kind == k {
			return s
		}
	}
	return nil
}

// Reply is a rendered passive reply: the values of its kind's fields, as
// the kind's schema lists them.
type Reply struct {
	Kind Kind
	// Values holds one value for each of the kind's fields, in the
	// schema's order, for a kind of ShapeValue or ShapeFields.
	Values []string
	// Items holds, for a kind of ShapeList, one such list of values for
	// each item.
	Items [][]string
}

// NewReply returns a reply of kind k with the given fields set, by name;
// it panics when k or a name is not in the schema. For a list kind, each
// of items is one item's fields. Tests and tools build replies with it.
func NewReply(k Kind, fields map[string]string, items ...map[string]string) *Reply {
	values, list := byName(k, fields, items)
	return &Reply{Kind: k, Values: values, Items: list}
}

// byName lays out fields and items, given by field name, in the order of
// kind k's schema: Values and Items of a Reply or a ReplyTemplate. It
// panics when k or a name is not in the schema.
func byName[T any](k Kind, fields map[string]T, items []map[string]T) ([]T, [][]T) {
	s := SchemaOf(k)
	if s == nil {
		panic(fmt.Sprintf("engine: no reply kind %q", k))
	}
	values := func(m map[string]T) []T {
		v := make([]T, len(s.Fields))
		for name, value := range m {
			_, i := s.Field(name)
			if i < 0 {
				panic(fmt.Sprintf("engine: a %s reply has no field %q", k, name))
			}
			v[i] = value
		}
		return v
	}
	if s.Shape != ShapeList {
		return values(fields), nil
	}
	var out [][]T
	for _, it := range items {
		out = append(out, values(it))
	}
	return nil, out
}

// Schema is the schema of the reply's kind, or nil for an unknown kind.
func (r *Reply) Schema() *KindSchema { return SchemaOf(r.Kind) }

// Get returns the value of the field name ("" when the kind has no such
// field); for a list kind, the first item's.
func (r *Reply) Get(name string) string {
	s := r.Schema()
	if s == nil {
		return ""
	}
	_, i := s.Field(name)
	values := r.Values
	if s.Shape == ShapeList {
		values = nil
		if len(r.Items) > 0 {
			values = r.Items[0]
		}
	}
	if i < 0 || i >= len(values) {
		return ""
	}
	return values[i]
}

// Text is the text of a text reply.
func (r *Reply) Text() string { return r.Get("text") }

// String shows the reply for people: its kind, then each field that is set,
// one per line.
func (r *Reply) String() string {
	var b strings.Builder
	s := r.Schema()
	if s == nil {
		fmt.Fprintf(&b, "%s\n", r.Kind)
		return b.String()
	}
	fmt.Fprintf(&b, "%s:\n", r.Kind)
	switch s.Shape {
	case ShapeValue:
		for _, line := range strings.Split(r.Text(), "\n") {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	case ShapeFields:
		for i, f := range s.Fields {
			if i < len(r.Values) && r.Values[i] != "" {
				fmt.Fprintf(&b, "  %s: %s\n", f.Name, r.Values[i])
			}
		}
	case ShapeList:
		for _, item := range r.Items {
			prefix := "  - "
			for i, f := range s.Fields {
				if i < len(item) && (item[i] != "" || i == 0) {
					fmt.Fprintf(&b, "%s%s: %s\n", prefix, f.Name, item[i])
					prefix = "    "
				}
			}
		}
	}
	return b.String()
}
