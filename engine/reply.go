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

// Kinds lists every reply kind, in the order the rule format documents them.
var Kinds = []Kind{KindText, KindImage, KindVoice, KindVideo, KindMusic, KindNews, KindTransferService}

// MaxArticles is the most articles a news reply may carry. WeChat shows only
// the first one when the reply answers a user message, rather than an event.
const MaxArticles = 8

// MaxTextBytes is the longest text reply WeChat is known to deliver; longer
// ones are reported to be dropped or cut. Rule checks warn about replies that
// may render longer, and the server cuts them.
const MaxTextBytes = 2048

// Reply is a rendered passive reply. Kind says which of the other fields is set.
type Reply struct {
	Kind     Kind
	Text     string           // text
	Image    *Media           // image
	Voice    *Media           // voice
	Video    *Video           // video
	Music    *Music           // music
	News     []Article        // news, 1 to MaxArticles articles
	Transfer *TransferService // transfer_customer_service
}

// Media is an image or voice reply: a media_id from WeChat's media upload API.
type Media struct {
	MediaID string
}

// Video is a video reply.
type Video struct {
	MediaID     string
	Title       string
	Description string
}

// Music is a music reply. ThumbMediaID is the only field WeChat requires.
type Music struct {
	Title        string
	Description  string
	MusicURL     string
	HQMusicURL   string
	ThumbMediaID string
}

// Article is one item of a news reply.
type Article struct {
	Title       string
	Description string
	PicURL      string
	URL         string
}

// TransferService hands the message to WeChat's customer-service system,
// optionally to one agent account.
type TransferService struct {
	KfAccount string
}

// String shows the reply for people: its kind, then each field that is set,
// one per line.
func (r *Reply) String() string {
	var b strings.Builder
	field := func(indent, name, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%s%s: %s\n", indent, name, value)
		}
	}
	switch r.Kind {
	case KindText:
		fmt.Fprintf(&b, "text:\n")
		for _, line := range strings.Split(r.Text, "\n") {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	case KindImage, KindVoice:
		m := r.Image
		if r.Kind == KindVoice {
			m = r.Voice
		}
		fmt.Fprintf(&b, "%s:\n", r.Kind)
		if m != nil {
			field("  ", "media_id", m.MediaID)
		}
	case KindVideo:
		fmt.Fprintf(&b, "video:\n")
		if v := r.Video; v != nil {
			field("  ", "media_id", v.MediaID)
			field("  ", "title", v.Title)
			field("  ", "description", v.Description)
		}
	case KindMusic:
		fmt.Fprintf(&b, "music:\n")
		if m := r.Music; m != nil {
			field("  ", "title", m.Title)
			field("  ", "description", m.Description)
			field("  ", "music_url", m.MusicURL)
			field("  ", "hq_music_url", m.HQMusicURL)
			field("  ", "thumb_media_id", m.ThumbMediaID)
		}
	case KindNews:
		fmt.Fprintf(&b, "news:\n")
		for _, a := range r.News {
			fmt.Fprintf(&b, "  - title: %s\n", a.Title)
			field("    ", "description", a.Description)
			field("    ", "pic_url", a.PicURL)
			field("    ", "url", a.URL)
		}
	case KindTransferService:
		fmt.Fprintf(&b, "transfer_customer_service:\n")
		if r.Transfer != nil {
			field("  ", "kf_account", r.Transfer.KfAccount)
		}
	default:
		fmt.Fprintf(&b, "%s\n", r.Kind)
	}
	return b.String()
}
