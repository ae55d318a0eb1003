package engine

import "time"

// SampleFields holds one realistic push of each message and event type, keyed
// by a name such as "text" or "event.CLICK". Rule checks render every reply
// against each of them, so that a template reading a missing key fails when
// rules load, not when a user writes; tools use them as defaults.
var SampleFields = map[string]map[string]string{
	"text":       {"MsgType": "text", "MsgId": "7382914650123456701", "Content": "你好，请问周末营业时间是几点？"},
	"image":      {"MsgType": "image", "MsgId": "7382914650123456703", "PicUrl": "http://mmbiz.qpic.cn/mmbiz_jpg/sample/0", "MediaId": "sample-media-id"},
	"voice":      {"MsgType": "voice", "MsgId": "7382914650123456705", "MediaId": "sample-media-id", "Format": "amr", "Recognition": "明天上海天气怎么样？"},
	"video":      {"MsgType": "video", "MsgId": "7382914650123456706", "MediaId": "sample-media-id", "ThumbMediaId": "sample-thumb-id"},
	"shortvideo": {"MsgType": "shortvideo", "MsgId": "7382914650123456707", "MediaId": "sample-media-id", "ThumbMediaId": "sample-thumb-id"},
	"location":   {"MsgType": "location", "MsgId": "7382914650123456708", "Location_X": "31.230416", "Location_Y": "121.473701", "Scale": "15", "Label": "上海市黄浦区人民大道200号"},
	"link":       {"MsgType": "link", "MsgId": "7382914650123456709", "Title": "公众号开发入门指南", "Description": "从零开始搭建自动回复服务器", "Url": "https://mp.weixin.qq.com/s/sample"},

	"event.subscribe":             {"MsgType": "event", "Event": "subscribe", "EventKey": "qrscene_100023", "Ticket": "sample-ticket"},
	"event.unsubscribe":           {"MsgType": "event", "Event": "unsubscribe", "EventKey": ""},
	"event.SCAN":                  {"MsgType": "event", "Event": "SCAN", "EventKey": "100023", "Ticket": "sample-ticket"},
	"event.LOCATION":              {"MsgType": "event", "Event": "LOCATION", "Latitude": "31.230416", "Longitude": "121.473701", "Precision": "65.000000"},
	"event.CLICK":                 {"MsgType": "event", "Event": "CLICK", "EventKey": "SAMPLE_KEY"},
	"event.VIEW":                  {"MsgType": "event", "Event": "VIEW", "EventKey": "https://example.com/", "MenuId": "421357896"},
	"event.scancode_push":         {"MsgType": "event", "Event": "scancode_push", "EventKey": "SAMPLE_KEY", "ScanCodeInfo/ScanType": "qrcode", "ScanCodeInfo/ScanResult": "https://example.com/coupon/8848"},
	"event.scancode_waitmsg":      {"MsgType": "event", "Event": "scancode_waitmsg", "EventKey": "SAMPLE_KEY", "ScanCodeInfo/ScanType": "barcode", "ScanCodeInfo/ScanResult": "EAN_13,6901234567892"},
	"event.pic_sysphoto":          {"MsgType": "event", "Event": "pic_sysphoto", "EventKey": "SAMPLE_KEY", "SendPicsInfo/Count": "1", "SendPicsInfo/PicList/item[0]/PicMd5Sum": "46db78df94f91d366709232d36470c19"},
	"event.location_select":       {"MsgType": "event", "Event": "location_select", "EventKey": "SAMPLE_KEY", "SendLocationInfo/Location_X": "39.908823", "SendLocationInfo/Location_Y": "116.397470", "SendLocationInfo/Scale": "15", "SendLocationInfo/Label": "北京市东城区东长安街", "SendLocationInfo/Poiname": "天安门广场"},
	"event.view_miniprogram":      {"MsgType": "event", "Event": "view_miniprogram", "EventKey": "pages/index/index", "MenuId": "421357897"},
	"event.TEMPLATESENDJOBFINISH": {"MsgType": "event", "Event": "TEMPLATESENDJOBFINISH", "MsgID": "2843910385725915136", "Status": "success"},
}

// SampleEvent returns the sample push of the given name (see SampleFields),
// completed with the common header, or nil when there is no such sample.
func SampleEvent(name string, loc *time.Location) *Event {
	fields, ok := SampleFields[name]
	if !ok {
		return nil
	}
	all := map[string]string{
		"ToUserName":   "gh_5e8a1c2f9b3d",
		"FromUserName": "oWx7Tb2LkQ9mZr5pYc3NvH8sDf1A",
		"CreateTime":   "1718170001",
	}
	for k, v := range fields {
		all[k] = v
	}
	ev, err := NewEvent(all, loc)
	if err != nil {
		panic("engine: bad sample " + name + ": " + err.Error())
	}
	return ev
}
