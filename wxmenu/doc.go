// Package wxmenu owns the custom menu file: a YAML file that mirrors the JSON
// of WeChat's menu API (button, sub_button, type, name, key, url, media_id,
// appid, pagepath, article_id), so that a menu copied from WeChat's
// documentation works as it is.
//
// [Parse] and [ParseFile] decode a menu file strictly and check it against
// the platform's limits, reporting every problem at once with its
// file:line:col, as package rules does for rule files (they are
// [rules.Errors]). [FromJSON] reads a menu as WeChat's API returns it;
// encoding a [Menu] with encoding/json gives what /cgi-bin/menu/create takes.
// [Format] writes a menu in the file's format, and [Diff] compares two.
// [CheckRules] cross-checks a menu with a rule set: the buttons no rule
// answers, and the rules no button reaches.
//
// It does no I/O beyond reading the file given to ParseFile: calling WeChat is
// package wxapi's job.
package wxmenu
