// Package wxpanel turns the auto-reply of the official account admin panel
// (自动回复: keyword replies, the follow reply and the default reply) into a
// rule folder: a rule file and a test file that covers every rule in it.
//
// [Parse] reads the answer of WeChat's /cgi-bin/get_current_autoreply_info,
// the only way to read the panel's rules, and [Convert] writes the folder's
// two files, with a [Warning] for each thing that cannot carry over as it is
// (a video, which the API gives as a URL; media ids, which are temporary; a
// reply type wxreply cannot send), placed where the file says what to do.
//
// Why the rules have to move: once an account enables a server URL, WeChat
// stops answering with the panel's auto-reply and forwards every message to
// the server instead.
//
// It does no I/O: calling WeChat is package wxapi's job, and writing the
// files the command's.
package wxpanel
