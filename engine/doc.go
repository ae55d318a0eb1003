// Package engine decides how wxreply answers one WeChat message or event.
//
// It owns the event envelope ([Event], built by [NewEvent] from WeChat's field
// names), the six passive reply kinds plus the hand-over to customer service
// ([Reply]), compiled conditions ([CompileCondition]) and reply templates
// ([CompileTemplate]), the immutable [RuleSet] and the [Engine] that swaps rule
// sets atomically while requests keep matching against the snapshot they took.
//
// The package is pure: it reads no files, serves no HTTP and parses no YAML.
// Package rules turns rule files into a RuleSet; package server turns WeChat's
// XML into an Event and a Reply back into XML.
package engine
