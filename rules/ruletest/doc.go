// Package ruletest runs rule unit tests: YAML files that say which rule
// must answer a message and what its reply must hold, as promtool's rule
// tests do for Prometheus.
//
// A test file is named *_test.yaml and tests the rule folder it sits in:
//
//	tests:
//	  - name: a follower from the shop-window QR code is welcomed
//	    now: 2024-06-12T10:00:00+08:00         # optional; default DefaultNow
//	    event: {MsgType: event, Event: subscribe, EventKey: qrscene_window}
//	    want:
//	      rule: welcome-shop-window            # or none: no reply
//	      text_contains: window
//	  - name: a latte's price
//	    text: how much is a latte              # a text message
//	    want: {rule: price}
//
// event holds WeChat's field names (nested mappings for ScanCodeInfo and the
// like); the defaults fill the rest of the envelope: ToUserName
// DefaultToUserName, FromUserName DefaultFromUserName, CreateTime from now,
// MsgId for a message, MsgType text for text: and event for an Event. want
// gives rule, and optionally kind and the reply's fields: text (exact),
// text_contains (one or a list), text_regex, media_id, title, description,
// music_url, hq_music_url, thumb_media_id, kf_account and news (every
// article, comparing the fields given). For a rule with several replies
// (replies:, one picked at random), a case passes when any of them is the
// reply wanted. Unknown fields are errors, as in rule files.
//
// [Run] is `wxreply test`: it loads each folder with rules.Load, as the
// server does, builds each event with engine.NewEvent, matches it with
// RuleSet.Match, and writes everything to an io.Writer: each failure as
//
//	examples/rules/shop_test.yaml:7:7: "window follower": rule: want "welcome-shop-window", got "welcome" (examples/rules/00-shop.yaml:69:5)
//
// followed by what was wanted, what was got and why, then a summary, the
// coverage, and, for CI, JUnit XML ([Report.WriteJUnit]). [Load] reads the
// same cases without running them, for package ruletesting, which runs each
// as a subtest of go test.
//
// The package reads files and writes reports; it never serves HTTP.
package ruletest
