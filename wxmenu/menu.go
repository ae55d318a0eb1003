package wxmenu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/wxreply/wxreply/internal/yamlpos"
	"github.com/wxreply/wxreply/rules"
)

// Menu is a custom menu: 1 to 3 buttons on the menu bar. Its YAML and JSON
// field names are WeChat's.
type Menu struct {
	Buttons []Button `yaml:"button" json:"button"`
}

// Button is a menu bar button or a sub-menu button. A menu bar button either
// has a Type or opens a sub-menu of 1 to 5 SubButtons; a sub-menu button has
// a Type. Which other fields a type needs is in [Types].
type Button struct {
	Name       string   `yaml:"name" json:"name"`
	Type       string   `yaml:"type,omitempty" json:"type,omitempty"`
	Key        string   `yaml:"key,omitempty" json:"key,omitempty"`
	URL        string   `yaml:"url,omitempty" json:"url,omitempty"`
	MediaID    string   `yaml:"media_id,omitempty" json:"media_id,omitempty"`
	ArticleID  string   `yaml:"article_id,omitempty" json:"article_id,omitempty"`
	AppID      string   `yaml:"appid,omitempty" json:"appid,omitempty"`
	PagePath   string   `yaml:"pagepath,omitempty" json:"pagepath,omitempty"`
	SubButtons []Button `yaml:"sub_button,omitempty" json:"sub_button,omitempty"`
}

// File is a parsed, valid menu file.
type File struct {
	// Name is the file's name as positions show it.
	Name string
	Menu *Menu
	root *yaml.Node // the top-level mapping, for positions
}

// ParseFile reads and parses the menu file at path.
func ParseFile(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("menu file: %w", err)
	}
	return Parse(path, src)
}

// Parse decodes a menu file strictly (an unknown field is an error) and
// validates it. The error is rules.Errors: every problem, in file order, as
// "file:line:col: message".
func Parse(name string, src []byte) (*File, error) {
	f := &File{Name: name}
	var m Menu
	root, derrs := yamlpos.DecodeStrict(name, src, &m, nil)
	f.root = root
	var errs rules.Errors
	for _, e := range derrs {
		errs = append(errs, &rules.Error{Pos: e.Pos, Err: e.Err})
	}
	switch {
	case root == nil && len(errs) > 0:
		return nil, errs // not YAML, or not a mapping
	case root == nil:
		return nil, rules.Errors{{Pos: rules.Pos{File: name, Line: 1, Col: 1},
			Err: errors.New("the menu file is empty: want button: with 1 to 3 buttons")}}
	case len(errs) > 0:
		// Type errors leave the rest decoded; report them with the rest.
		errs = append(errs, validate(&m, f)...)
		sortErrors(errs)
		return nil, errs
	}
	normalize(&m)
	f.Menu = &m
	if errs := validate(&m, f); len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

// FromJSON reads a menu as WeChat's API writes it: the object holding
// "button" (menu/get's "menu"). Fields WeChat adds, such as menuid, and the
// empty "sub_button": [] of plain buttons are dropped.
func FromJSON(data []byte) (*Menu, error) {
	var m Menu
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("menu JSON: %w", err)
	}
	normalize(&m)
	return &m, nil
}

// normalize makes an empty sub_button list nil, as if it were not there.
func normalize(m *Menu) {
	for i := range m.Buttons {
		b := &m.Buttons[i]
		if len(b.SubButtons) == 0 {
			b.SubButtons = nil
		}
		for j := range b.SubButtons {
			if len(b.SubButtons[j].SubButtons) == 0 {
				b.SubButtons[j].SubButtons = nil
			}
		}
	}
}

// Count returns the number of menu bar buttons and of sub-menu buttons.
func (m *Menu) Count() (buttons, subButtons int) {
	for _, b := range m.Buttons {
		subButtons += len(b.SubButtons)
	}
	return len(m.Buttons), subButtons
}

// Format writes m in the menu file's format.
func Format(m *Menu) []byte {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		panic(err) // a Menu is strings and lists: it always encodes
	}
	enc.Close()
	return b.Bytes()
}

// Positions.

func (f *File) at(n *yaml.Node) rules.Pos { return yamlpos.At(f.Name, n) }

// buttonNode is the mapping of button i (sub-button j when j >= 0), or nil.
func (f *File) buttonNode(i, j int) *yaml.Node {
	if f == nil {
		return nil
	}
	n := yamlpos.Item(yamlpos.Lookup(f.root, "button"), i)
	if j >= 0 {
		n = yamlpos.Item(yamlpos.Lookup(n, "sub_button"), j)
	}
	return n
}

// fieldPos is where field of button i (sub-button j) is given: its value,
// else the button, else the file.
func (f *File) fieldPos(i, j int, field string) rules.Pos {
	b := f.buttonNode(i, j)
	if v := yamlpos.Lookup(b, field); v != nil {
		return f.at(v)
	}
	return f.at(b)
}
