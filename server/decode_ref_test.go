package server

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/wxreply/wxreply/engine"
)

// header is the start of a push, without its closing </xml>.
const header = `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>` +
	`<CreateTime>1718170001</CreateTime><MsgType><![CDATA[text]]></MsgType>`

// refDecodeFields is DecodeFields as it was written on encoding/xml before
// the hand scanner replaced it: the reference the scanner must agree with
// (FuzzDecodeAgrees). Keep it as it is; it is the definition of what a
// push may be.
func refDecodeFields(r io.Reader) (map[string]string, error) {
	fields, err := refReadFields(r)
	if err != nil {
		return nil, err
	}
	for _, required := range []string{"ToUserName", "FromUserName", "CreateTime", "MsgType"} {
		if strings.TrimSpace(fields[required]) == "" {
			return nil, fmt.Errorf("%w: <%s> is missing", ErrNotWeChatXML, required)
		}
	}
	return fields, nil
}

// refReadFields is readFields on encoding/xml.
func refReadFields(r io.Reader) (map[string]string, error) {
	dec := xml.NewDecoder(r)
	dec.Strict = true
	fields := map[string]string{}
	type frame struct {
		path     string
		text     bytes.Buffer
		children map[string]int
	}
	var stack []*frame
	elements := 0
	for first := true; ; first = false {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotWeChatXML, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != "" {
				return nil, fmt.Errorf("%w: <%s> is in the namespace %.40q; WeChat's elements have none", ErrNotWeChatXML, t.Name.Local, t.Name.Space)
			}
			elements++
			if elements > maxElements {
				return nil, fmt.Errorf("%w: more than %d elements", ErrNotWeChatXML, maxElements)
			}
			if len(stack) == 0 {
				if elements > 1 {
					return nil, fmt.Errorf("%w: more than one root element", ErrNotWeChatXML)
				}
				if t.Name.Local != "xml" {
					return nil, fmt.Errorf("%w: the root element is <%s>, not <xml>", ErrNotWeChatXML, t.Name.Local)
				}
				stack = append(stack, &frame{children: map[string]int{}})
				continue
			}
			if len(stack) > maxDepth {
				return nil, fmt.Errorf("%w: elements nest deeper than %d", ErrNotWeChatXML, maxDepth)
			}
			parent := stack[len(stack)-1]
			name := t.Name.Local
			n := parent.children[name]
			parent.children[name]++
			if n > 0 && name != "item" {
				// Two <Content>s: which one would the rules read?
				return nil, fmt.Errorf("%w: <%s> appears twice", ErrNotWeChatXML, name)
			}
			if name == "item" {
				name += "[" + strconv.Itoa(n) + "]"
			}
			if parent.path != "" {
				name = parent.path + "/" + name
			}
			stack = append(stack, &frame{path: name, children: map[string]int{}})
		case xml.Directive:
			// WeChat sends no DTD; one can only be an attempt at entity tricks.
			return nil, fmt.Errorf("%w: a <!DOCTYPE> or other directive", ErrNotWeChatXML)
		case xml.CharData:
			if first {
				t = bytes.TrimPrefix(t, utf8BOM)
			}
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("%w: text outside <xml>", ErrNotWeChatXML)
			}
		case xml.EndElement:
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && len(top.children) == 0 {
				fields[top.path] = top.text.String()
			}
		}
	}
	if elements == 0 {
		return nil, fmt.Errorf("%w: the body is empty", ErrNotWeChatXML)
	}
	return fields, nil
}

// agreeSeeds are documents at the edges of what encoding/xml reads: each
// must be read, or refused, by readFields as by refReadFields.
var agreeSeeds = []string{
	"",
	"   \n",
	"<xml></xml>",
	"<xml/>",
	"<xml><Encrypt><![CDATA[abc]]></Encrypt><ToUserName>gh</ToUserName></xml>",
	header + "<Content>hi</Content></xml>",
	// Declarations and byte-order marks.
	`<?xml version="1.0" encoding="UTF-8"?>` + header + `</xml>`,
	`<?xml version="1.1"?>` + header + `</xml>`,
	`<?xml encoding="GBK"?>` + header + `</xml>`,
	`<?xml encoding='utf-8'?>` + header + `</xml>`,
	`<?xml version=x version="1.1"?>` + header + `</xml>`,
	`<?xml version=version="1.1"?>` + header + `</xml>`,
	`<?xml encoding="GBK?>` + header + `</xml>`,
	`<?XML encoding="GBK"?>` + header + `</xml>`,
	`<?xml?>` + header + `</xml>`,
	`<?xml-stylesheet href="a"?>` + header + `</xml>`,
	header + `<?xml version="2.0"?></xml>`,
	`<? xml?>` + header + `</xml>`,
	`<?xml version="1.0"` + header + `</xml>`,
	"\xEF\xBB\xBF" + header + "</xml>",
	"\xEF\xBB\xBF\xEF\xBB\xBF" + header + "</xml>",
	"&#xFEFF;" + header + "</xml>",
	"<!---->\xEF\xBB\xBF" + header + "</xml>",
	"<![CDATA[]]>\xEF\xBB\xBF" + header + "</xml>",
	"<![CDATA[\xEF\xBB\xBF]]>" + header + "</xml>",
	// Entities and character references.
	header + "<Content>&lt;&gt;&amp;&apos;&quot;&#65;&#x4e2d;&#x4E2D;&#0065;</Content></xml>",
	header + "<Content>&#X41;</Content></xml>",
	header + "<Content>&#0;</Content></xml>",
	header + "<Content>&#xD800;</Content></xml>",
	header + "<Content>&#xFFFE;</Content></xml>",
	header + "<Content>&#x10FFFF;</Content></xml>",
	header + "<Content>&#x110000;</Content></xml>",
	header + "<Content>&#99999999999999999999999;</Content></xml>",
	header + "<Content>&#;</Content></xml>",
	header + "<Content>&#x;</Content></xml>",
	header + "<Content>&foo;</Content></xml>",
	header + "<Content>&lt</Content></xml>",
	header + "<Content>&ltx;</Content></xml>",
	header + "<Content>& </Content></xml>",
	header + "<Content>&;</Content></xml>",
	header + "<Content>&中;</Content></xml>",
	header + "<Content>]]&gt;</Content></xml>",
	header + "<Content>]]></Content></xml>",
	header + "<Content>]&#93;></Content></xml>",
	header + "<Content>&#13;\n</Content></xml>",
	header + "<Content>a\r\nb\rc\r\r\n</Content></xml>",
	header + "<Content><![CDATA[a\r\nb]]></Content></xml>",
	header + "<Content><![CDATA[a]]]]><![CDATA[>b]]></Content></xml>",
	header + "<Content><![CDATA[]]></Content></xml>",
	header + "<Content><![CDATA[a]]>b<!-- c -->d<?pi?>e&amp;</Content></xml>",
	header + "<Content><![CDATA[a</Content></xml>",
	header + "<Content><![CDAT[a]]></Content></xml>",
	header + "<Content>a\xffb</Content></xml>",
	header + "<Content>a\xe4<!---->\xb8\xadb</Content></xml>",
	header + "<Content>a\x01b</Content></xml>",
	header + "<Content>a\tb\x7f\u00a0\uFFFD</Content></xml>",
	header + "<Content>\xef\xbf\xbe</Content></xml>",
	header + "<Content>\xed\xa0\x80</Content></xml>",
	// Comments.
	header + "<!-- a -- b --></xml>",
	header + "<!--- a --></xml>",
	header + "<!-- a ---></xml>",
	header + "<!-- \xff --></xml>",
	header + "<!- a --></xml>",
	header + "<!-- a -->",
	// Attributes.
	header + `<Content a="1" b='2' c="&amp;&#65;">hi</Content></xml>`,
	header + `<Content a=1>hi</Content></xml>`,
	header + `<Content a>hi</Content></xml>`,
	header + `<Content a ="1">hi</Content></xml>`,
	header + `<Content a="<">hi</Content></xml>`,
	header + `<Content a="]]>">hi</Content></xml>`,
	header + `<Content a="&foo;">hi</Content></xml>`,
	header + `<Content a="1"b="2">hi</Content></xml>`,
	header + `<Content a="1" a="2">hi</Content></xml>`,
	header + `<Content a="\xff">hi</Content></xml>`,
	header + `<Content a:b:c="1">hi</Content></xml>`,
	header + `<Content "a"="1">hi</Content></xml>`,
	header + `<Content a="1"/ ></xml>`,
	header + `<Content/></xml>`,
	header + `<Content />`,
	// Namespaces.
	`<xml xmlns:p="">` + header[len("<xml>"):] + `<p:Content>x</p:Content></xml>`,
	`<xml xmlns:p="u">` + header[len("<xml>"):] + `<p:Content>x</p:Content></xml>`,
	`<xml xmlns="">` + header[len("<xml>"):] + `</xml>`,
	`<xml xmlns="u" xmlns="">` + header[len("<xml>"):] + `</xml>`,
	`<xml xmlns="" xmlns="u">` + header[len("<xml>"):] + `</xml>`,
	`<p:xml xmlns:p="">` + header[len("<xml>"):] + `</p:xml>`,
	`<p:xml xmlns:p="">` + header[len("<xml>"):] + `</xml>`,
	header + `<xmlns xmlns="u">x</xmlns></xml>`,
	header + `<xmlns xmlns="u"><a>x</a></xmlns></xml>`,
	header + `<xmlns xmlns="u"><xmlns>x</xmlns></xmlns></xml>`,
	header + `<p:a xmlns="u" xmlns:p=""><b>x</b></p:a></xml>`,
	header + `<p:a xmlns:p=""><b xmlns:p="u"><p:c/></b></p:a></xml>`,
	header + `<a xmlns:p="u"/><p:b/></xml>`,
	header + `<a xmlns:p=""/><p:b/></xml>`,
	header + `<xml:Content>x</xml:Content></xml>`,
	header + `<xmlns:Content>x</xmlns:Content></xml>`,
	header + `<:Content>x</:Content></xml>`,
	header + `<Content:>x</Content:></xml>`,
	header + `<a:b:c>x</a:b:c></xml>`,
	header + `<Content xmlns="">x</Content></xml>`,
	header + `<Content xmlns:="u">x</Content></xml>`,
	// Names.
	header + "<中文>x</中文></xml>",
	header + "<a中>x</a中></xml>",
	header + "<1a>x</1a></xml>",
	header + "<-a>x</-a></xml>",
	header + "<_a.b-c>x</_a.b-c></xml>",
	header + "<a\xff>x</a\xff></xml>",
	header + "<\u00b7a>x</\u00b7a></xml>",
	header + "<a\u00b7>x</a\u00b7></xml>",
	header + "< a>x</a></xml>",
	header + "<a>x</a ></xml>",
	header + "<a>x</a x></xml>",
	header + "<a>x</b></xml>",
	header + "<a>x</></xml>",
	header + "</a></xml>",
	// Structure.
	header + "<a><b><c><d><e><f><g><h>x</h></g></f></e></d></c></b></a></xml>",
	header + "<a><b><c><d><e><f><g><h><i>x</i></h></g></f></e></d></c></b></a></xml>",
	header + "<Content>a</Content><Content>b</Content></xml>",
	header + "<SendPicsInfo><PicList><item><PicMd5Sum>a</PicMd5Sum></item><item><PicMd5Sum>b</PicMd5Sum></item><item/></PicList></SendPicsInfo></xml>",
	header + "<a>x<b>y</b>z</a></xml>",
	header + "<a><b>y</b><b>z</b></a></xml>",
	header + "<a><b>y</b></a><b>z</b></xml>",
	header + "<item>1</item><item>2</item></xml>",
	"hello" + header + "</xml>",
	header + "</xml>hello",
	header + "</xml> \n\t\u00a0\u2003",
	header + "</xml>&#x20;",
	header + "</xml><![CDATA[ ]]>",
	header + "</xml><!-- -->",
	header + "</xml><xml></xml>",
	header + "</xml><a/>",
	"<a>" + header + "</xml></a>",
	"<msg>" + header[len("<xml>"):] + "</msg>",
	header,
	header + "<Content>",
	// Directives.
	"<!DOCTYPE xml>" + header + "</xml>",
	`<!DOCTYPE x [<!ENTITY a "aaaa">]>` + header + "<Content>&a;</Content></xml>",
	header + "<!ELEMENT a></xml>",
	header + "<![INCLUDE[ a ]]></xml>",
	"<!DOCTYPE",
}

// FuzzDecodeAgrees: for any body, the scanner and the encoding/xml decoder
// it replaced both refuse it, or both read the same fields, and so the same
// Event.
func FuzzDecodeAgrees(f *testing.F) {
	fixtures, err := filepath.Glob("testdata/fixtures/*.xml")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range fixtures {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range agreeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantErr := refReadFields(bytes.NewReader(body))
		got, err := readFields(bytes.Clone(body))
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q:\nscanner:      %v, %v\nencoding/xml: %v, %v", body, got, err, want, wantErr)
		}
		if err != nil {
			if !errors.Is(err, ErrNotWeChatXML) {
				t.Errorf("%q: %v is not ErrNotWeChatXML", body, err)
			}
			return
		}
		if !maps.Equal(got, want) {
			t.Fatalf("%q:\nscanner:      %q\nencoding/xml: %q", body, got, want)
		}
		_, err = decodeFields(body)
		_, wantErr = refDecodeFields(bytes.NewReader(body))
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: DecodeFields %v; encoding/xml %v", body, err, wantErr)
		}
		ev, err := engine.NewEvent(got, nil)
		wantEv, wantErr := engine.NewEvent(want, nil)
		if (err == nil) != (wantErr == nil) || err == nil && !reflect.DeepEqual(ev, wantEv) {
			t.Fatalf("%q: Event\n%+v, %v\nwant\n%+v, %v", body, ev, err, wantEv, wantErr)
		}
	})
}
