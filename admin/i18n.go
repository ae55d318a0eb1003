package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The languages of the page.
const (
	english = "en"
	chinese = "zh"
)

// langCookie keeps the language picked with the switch.
const langCookie = "wxreply_lang"

// language picks the page's language: the switch (?lang=), then the cookie
// the switch left, then the browser's Accept-Language; English otherwise.
// picked is true when the switch chose it, so that the cookie is set.
func language(r *http.Request) (lang string, picked bool) {
	if l := r.URL.Query().Get("lang"); l == english || l == chinese {
		return l, true
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == english || c.Value == chinese) {
		return c.Value, false
	}
	return fromAcceptLanguage(r.Header.Get("Accept-Language")), false
}

// fromAcceptLanguage is the language the header prefers among ours: the
// one of highest weight, the first of equal weights.
func fromAcceptLanguage(header string) string {
	best, bestQ := english, -1.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		tag = strings.ToLower(strings.TrimSpace(tag))
		var l string
		switch {
		case tag == "zh" || strings.HasPrefix(tag, "zh-"):
			l = chinese
		case tag == "en" || strings.HasPrefix(tag, "en-"):
			l = english
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// switchURL is the request's URL in the other language.
func switchURL(r *http.Request, lang string) string {
	q := r.URL.Query()
	q.Set("lang", map[string]string{english: chinese, chinese: english}[lang])
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	return u.String()
}

// words is the page's words in one language; templates call {{.L.T "key"}}.
type words struct{ lang string }

// T returns the words of key in the page's language, formatted with args
// as fmt.Sprintf does. A key without words is shown as it is, so that a
// missing translation shows rather than breaking the page.
func (l words) T(key string, args ...any) string {
	w, ok := dictionary[key]
	s := key
	if ok {
		s = w[0]
		if l.lang == chinese && w[1] != "" {
			s = w[1]
		}
	}
	if len(args) > 0 {
		s = fmt.Sprintf(s, args...)
	}
	return s
}

// Lang is the page's language, for <html lang>.
func (l words) Lang() string {
	if l.lang == chinese {
		return "zh-CN"
	}
	return "en"
}

// dictionary holds, by key, the English and the Chinese.
var dictionary = map[string][2]string{
	"title":            {"wxreply admin", "wxreply 管理"},
	"nav.overview":     {"Overview", "概览"},
	"nav.rules":        {"Rules", "规则"},
	"nav.try":          {"Try a message", "试发消息"},
	"nav.tests":        {"Tests", "测试"},
	"switch":           {"中文", "English"},
	"logout":           {"Log out", "退出"},
	"account":          {"Account", "公众号"},
	"account.none":     {"any (not set)", "不限（未设置）"},
	"mode":             {"Mode", "加密模式"},
	"version":          {"Rules version", "规则版本"},
	"loaded":           {"Loaded", "加载时间"},
	"rules.count":      {"Rules answering", "生效规则"},
	"rules.disabled":   {"%d disabled", "%d 条已停用"},
	"builtin":          {"the examples built into wxreply: they do not reload", "wxreply 内置的示例规则：不会重新加载"},
	"folder":           {"Rule folder", "规则目录"},
	"started":          {"Server started", "服务启动"},
	"banner.failed":    {"The last reload failed: the files on disk have errors", "上次重新加载失败：磁盘上的规则文件有错误"},
	"banner.keep":      {"The previous rules (version %s, loaded %s) keep answering since %s. Fix the errors above and save: the rules reload by themselves.", "之前的规则（版本 %s，加载于 %s）自 %s 起继续回复。请修正上述错误并保存，规则会自动重新加载。"},
	"banner.missing":   {"The rule folder, or every rule file in it, is gone.", "规则目录或其中所有规则文件都不见了。"},
	"banner.warning":   {"Warning", "警告"},
	"reload":           {"Reload now", "立即重新加载"},
	"reload.ok":        {"Reloaded: version %s is answering.", "已重新加载：版本 %s 正在回复。"},
	"reload.same":      {"Nothing changed on disk: version %s keeps answering.", "磁盘上没有变化：版本 %s 继续回复。"},
	"reload.failed":    {"The reload failed; the previous rules keep answering. The errors are above.", "重新加载失败，之前的规则继续回复。错误见上方。"},
	"reload.builtin":   {"The rules are built into the binary: start wxreply with --rules DIR to reload them.", "规则内置于程序中：用 --rules DIR 启动 wxreply 才能重新加载。"},
	"pushes":           {"Pushes", "推送"},
	"pushes.minute":    {"Pushes in the last minute", "最近一分钟推送"},
	"pushes.hour":      {"Pushes per minute, last hour", "最近一小时每分钟推送"},
	"pushes.total":     {"Pushes since start", "启动以来推送"},
	"outcomes":         {"Replies by outcome since start", "启动以来按结果统计的回复"},
	"outcomes.none":    {"No push yet.", "还没有推送。"},
	"outcome":          {"Outcome", "结果"},
	"count":            {"Count", "次数"},
	"outcome.replied":  {"a rule answered", "规则已回复"},
	"outcome.no_rule":  {"no rule matched (answered \"success\")", "无规则匹配（回复 success）"},
	"outcome.retry":    {"WeChat's retry, answered as the first", "微信重试，与首次回复相同"},
	"outcome.deadline": {"rules too slow (answered \"success\")", "规则超时（回复 success）"},
	"outcome.shed":     {"too busy (answered \"success\")", "过于繁忙（回复 success）"},
	"outcome.shutdown": {"server stopping (answered \"success\")", "服务停止中（回复 success）"},
	"outcome.error":    {"error (answered \"success\")", "出错（回复 success）"},
	"filter":           {"Filter rules", "筛选规则"},
	"filter.button":    {"Filter", "筛选"},
	"filter.shown":     {"%d of %d rules", "%d / %d 条规则"},
	"col.rule":         {"Rule", "规则"},
	"col.matches":      {"Matches", "匹配条件"},
	"col.reply":        {"Reply", "回复"},
	"col.hits":         {"Hits", "命中"},
	"priority":         {"priority %d", "优先级 %d"},
	"disabled":         {"disabled (enabled: false)", "已停用（enabled: false）"},
	"never":            {"never answered", "从未回复"},
	"last":             {"last %s", "最近 %s"},
	"any":              {"any message", "任何消息"},
	"alternatives":     {"one of %d, at random", "%d 条中随机一条"},
	"rules.order":      {"In match order: higher priority first, then file name, then position in the file. The first rule that matches answers.", "按匹配顺序排列：优先级高的在前，其次按文件名、文件内位置。第一条匹配的规则回复。"},
	"try.intro":        {"What would a user get? The rules answer as for a user with an empty session and no cooldown; nothing is sent to anyone.", "用户会收到什么？规则按一个会话为空、没有冷却的用户来回复；不会发送给任何人。"},
	"try.text":         {"Text message", "文本消息"},
	"try.event":        {"Event", "事件"},
	"try.key":          {"EventKey (menu key)", "EventKey（菜单 key）"},
	"try.scene":        {"QR scene", "二维码场景值"},
	"try.time":         {"Time (optional)", "时间（可选）"},
	"try.time.hint":    {"2024-06-12 22:30, in the account's time zone", "如 2024-06-12 22:30，公众号时区"},
	"try.openid":       {"OpenID (optional)", "OpenID（可选）"},
	"try.send":         {"Try", "试一试"},
	"try.or":           {"or", "或"},
	"try.message":      {"Message", "消息"},
	"try.rule":         {"Answered by", "回复规则"},
	"try.none":         {"No rule matched: the server answers \"success\", and the user gets no reply.", "没有规则匹配：服务器回复 success，用户收不到回复。"},
	"try.phone":        {"What the user sees", "用户看到的"},
	"try.then":         {"Then", "然后"},
	"try.notmatched":   {"Not matched, in order", "未匹配的规则（按顺序）"},
	"try.other":        {"Not tried: %d rules for other message types or events.", "未尝试：%d 条规则针对其他消息类型或事件。"},
	"try.link":         {"Link to this result", "此结果的链接"},
	"try.at":           {"at %s", "时间 %s"},
	"try.pick":         {"reply %d of %d, picked at random", "随机选中第 %d 条（共 %d 条）"},
	"try.pickall":      {"all %d replies, in order (pick: all): the first as the reply, the others through the customer-service API", "全部 %d 条回复依次发送（pick: all）：第一条被动回复，其余通过客服消息接口"},
	"try.backend":      {"Answered by the account's service at %s: the page does not call it. If it is late, the user gets the reply below; if it fails, the on_error reply.", "由公众号的服务 %s 回复：本页面不会调用它。若它超时，用户收到下面的回复；若它出错，收到 on_error 回复。"},
	"try.late":         {"if the service is late", "服务超时时"},
	"try.onerror":      {"if the service fails (on_error)", "服务出错时（on_error）"},
	"try.nolate":       {"Nothing while the service answers late: it answers through the customer-service API.", "服务迟到时不回复：由它通过客服消息接口回复。"},
	"all":              {"all %d, in order", "全部 %d 条，依次"},
	"media.image":      {"Image", "图片"},
	"media.voice":      {"Voice message", "语音"},
	"media.video":      {"Video", "视频"},
	"media.music":      {"Music", "音乐"},
	"media.thumb":      {"thumbnail", "缩略图"},
	"media.transfer":   {"Handed to customer service: a staff member answers in the WeChat customer-service tool.", "转接客服：由客服人员在微信客服工具中回复。"},
	"media.picture":    {"picture", "图片"},
	"tests.intro":      {"The folder's rule tests (*_test.yaml), run against the files on disk, as `wxreply test` runs them.", "目录中的规则测试（*_test.yaml），针对磁盘上的文件运行，与 `wxreply test` 相同。"},
	"tests.run":        {"Run the tests", "运行测试"},
	"tests.never":      {"Not run yet.", "尚未运行。"},
	"tests.ran":        {"Ran %s: %d passed, %d failed.", "运行于 %s：%d 个通过，%d 个失败。"},
	"tests.coverage":   {"Coverage: %.0f%% of %d rules answered at least one case.", "覆盖率：%[2]d 条规则中 %.0[1]f%% 至少回复了一个用例。"},
	"tests.uncovered":  {"Rules no case is answered by", "没有用例覆盖的规则"},
	"tests.none":       {"This folder has no test files.", "该目录没有测试文件。"},
	"tests.output":     {"Full output", "完整输出"},
	"pass":             {"pass", "通过"},
	"fail":             {"FAIL", "失败"},
	"login.title":      {"Log in", "登录"},
	"login.intro":      {"This admin page needs the admin token (--admin-token).", "此管理页面需要管理令牌（--admin-token）。"},
	"login.token":      {"Admin token", "管理令牌"},
	"login.button":     {"Log in", "登录"},
	"login.wrong":      {"That is not the admin token.", "管理令牌不正确。"},
	"denied.title":     {"Only on the server's machine", "仅限服务器本机访问"},
	"denied.body":      {"Without --admin-token, this page answers only browsers on the server's own machine, not through a proxy. Open it there (or through an SSH tunnel: ssh -L 9091:127.0.0.1:9091 HOST), or start wxreply with --admin-token.", "未设置 --admin-token 时，此页面只回应服务器本机、且未经代理的浏览器。请在本机打开（或通过 SSH 隧道：ssh -L 9091:127.0.0.1:9091 HOST），或用 --admin-token 启动 wxreply。"},
	"csrf.title":       {"The form has expired", "表单已失效"},
	"csrf.body":        {"The form was stale or came from another site. Go back, reload the page and try again.", "表单已过期或来自其他网站。请返回并刷新页面后重试。"},
	"notfound":         {"No such page.", "没有这个页面。"},
	"back":             {"Back to the overview", "返回概览"},
	"ago":              {"%s ago", "%s前"},
	"never.short":      {"never", "从未"},
}
