package server

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wxreply/wxreply/engine"
)

// Success is the body that tells WeChat "no reply": it then neither shows the
// user an error nor retries.
var Success = []byte("success")

// cdata is a text element written as <![CDATA[...]]>, as WeChat writes them.
// encoding/xml splits a "]]>" inside the text, so no content can break out.
type cdata struct {
	Text string `xml:",cdata"`
}

func text(s string) cdata { return cdata{Text: sanitize(s)} }

// replyXML is every passive reply's shape; Kind picks which parts are set.
type replyXML struct {
	XMLName      xml.Name      `xml:"xml"`
	ToUserName   cdata         `xml:"ToUserName"`
	FromUserName cdata         `xml:"FromUserName"`
	CreateTime   int64         `xml:"CreateTime"`
	MsgType      cdata         `xml:"MsgType"`
	Content      *cdata        `xml:"Content,omitempty"`
	Image        *mediaXML     `xml:"Image,omitempty"`
	Voice        *mediaXML     `xml:"Voice,omitempty"`
	Video        *videoXML     `xml:"Video,omitempty"`
	Music        *musicXML     `xml:"Music,omitempty"`
	ArticleCount int           `xml:"ArticleCount,omitempty"`
	Articles     *articlesXML  `xml:"Articles,omitempty"`
	TransInfo    *transInfoXML `xml:"TransInfo,omitempty"`
}

type mediaXML struct {
	MediaID cdata `xml:"MediaId"`
}

type videoXML struct {
	MediaID     cdata  `xml:"MediaId"`
	Title       *cdata `xml:"Title,omitempty"`
	Description *cdata `xml:"Description,omitempty"`
}

type musicXML struct {
	Title        *cdata `xml:"Title,omitempty"`
	Description  *cdata `xml:"Description,omitempty"`
	MusicURL     *cdata `xml:"MusicUrl,omitempty"`
	HQMusicURL   *cdata `xml:"HQMusicUrl,omitempty"`
	ThumbMediaID cdata  `xml:"ThumbMediaId"`
}

type articlesXML struct {
	Items []articleXML `xml:"item"`
}

type articleXML struct {
	Title       cdata `xml:"Title"`
	Description cdata `xml:"Description"`
	PicURL      cdata `xml:"PicUrl"`
	URL         cdata `xml:"Url"`
}

type transInfoXML struct {
	KfAccount cdata `xml:"KfAccount"`
}

// optional is a CDATA element left out when empty.
func optional(s string) *cdata {
	if s == "" {
		return nil
	}
	c := text(s)
	return &c
}

// EncodeReply writes reply as the passive reply XML to the push ev: addressed
// back to its sender, from the account, created at now.
func EncodeReply(reply *engine.Reply, ev *engine.Event, now time.Time) ([]byte, error) {
	x := replyXML{
		ToUserName:   text(ev.FromUserName),
		FromUserName: text(ev.ToUserName),
		CreateTime:   now.Unix(),
		MsgType:      text(string(reply.Kind)),
	}
	switch reply.Kind {
	case engine.KindText:
		c := text(reply.Text)
		x.Content = &c
	case engine.KindImage:
		x.Image = &mediaXML{MediaID: text(reply.Image.MediaID)}
	case engine.KindVoice:
		x.Voice = &mediaXML{MediaID: text(reply.Voice.MediaID)}
	case engine.KindVideo:
		x.Video = &videoXML{
			MediaID:     text(reply.Video.MediaID),
			Title:       optional(reply.Video.Title),
			Description: optional(reply.Video.Description),
		}
	case engine.KindMusic:
		x.Music = &musicXML{
			Title:        optional(reply.Music.Title),
			Description:  optional(reply.Music.Description),
			MusicURL:     optional(reply.Music.MusicURL),
			HQMusicURL:   optional(reply.Music.HQMusicURL),
			ThumbMediaID: text(reply.Music.ThumbMediaID),
		}
	case engine.KindNews:
		x.ArticleCount = len(reply.News)
		x.Articles = &articlesXML{}
		for _, a := range reply.News {
			x.Articles.Items = append(x.Articles.Items, articleXML{
				Title: text(a.Title), Description: text(a.Description), PicURL: text(a.PicURL), URL: text(a.URL),
			})
		}
	case engine.KindTransferService:
		if reply.Transfer != nil && reply.Transfer.KfAccount != "" {
			x.TransInfo = &transInfoXML{KfAccount: text(reply.Transfer.KfAccount)}
		}
	default:
		return nil, fmt.Errorf("unknown reply kind %q", reply.Kind)
	}
	return xml.Marshal(x)
}

// sanitize drops what XML 1.0 cannot carry (control characters, invalid
// UTF-8), so that a rule echoing what a user sent still yields a reply WeChat
// can parse.
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if !isXMLChar(r) {
			clean = false
			break
		}
	}
	if clean && utf8.ValidString(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !isXMLChar(r) {
			return -1
		}
		return r
	}, s)
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// ParseReply reads a passive reply, as EncodeReply writes it, back into an
// engine.Reply; `wxreply send` prints replies with it. The body "success"
// (or an empty one) is no reply: nil, nil.
func ParseReply(body []byte) (*engine.Reply, error) {
	if len(bytes.TrimSpace(body)) == 0 || string(body) == string(Success) {
		return nil, nil
	}
	f, err := DecodeFields(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r := &engine.Reply{Kind: engine.Kind(f["MsgType"])}
	switch r.Kind {
	case engine.KindText:
		r.Text = f["Content"]
	case engine.KindImage:
		r.Image = &engine.Media{MediaID: f["Image/MediaId"]}
	case engine.KindVoice:
		r.Voice = &engine.Media{MediaID: f["Voice/MediaId"]}
	case engine.KindVideo:
		r.Video = &engine.Video{MediaID: f["Video/MediaId"], Title: f["Video/Title"], Description: f["Video/Description"]}
	case engine.KindMusic:
		r.Music = &engine.Music{Title: f["Music/Title"], Description: f["Music/Description"],
			MusicURL: f["Music/MusicUrl"], HQMusicURL: f["Music/HQMusicUrl"], ThumbMediaID: f["Music/ThumbMediaId"]}
	case engine.KindNews:
		for i := 0; ; i++ {
			item := fmt.Sprintf("Articles/item[%d]/", i)
			if _, ok := f[item+"Title"]; !ok {
				break
			}
			r.News = append(r.News, engine.Article{Title: f[item+"Title"], Description: f[item+"Description"],
				PicURL: f[item+"PicUrl"], URL: f[item+"Url"]})
		}
	case engine.KindTransferService:
		r.Transfer = &engine.TransferService{KfAccount: f["TransInfo/KfAccount"]}
	default:
		return nil, fmt.Errorf("%w: reply MsgType %q", ErrNotWeChatXML, r.Kind)
	}
	return r, nil
}
