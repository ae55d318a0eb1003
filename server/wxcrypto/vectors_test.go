package wxcrypto_test

// The official test vectors of /work/shared/wechat/crypto-vector.md, copied
// exactly. Messages are Go literals rather than testdata files so that every
// byte, the "\n" between elements above all, is visible and no editor can add
// a trailing newline.

const (
	// Vectors 1, 2 and 5: Tencent's WXBizMsgCrypt samples.
	sampleToken = "spamtest"
	sampleKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	sampleAppID = "wx2c2769f8efd9abc2"

	// Vectors 3 and 4: the 2024 official docs ("debug_demo"). 43 × 'A'
	// decodes to 32 zero bytes.
	docsToken = "AAAAA"
	docsKey   = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	docsAppID = "wxba5fad812f8e6fb9"
)

// decryptVector is an encrypted push: URL parameters, the <Encrypt> text and
// what it decrypts to.
type decryptVector struct {
	name                        string
	token, key, appID           string
	timestamp, nonce            string
	signature                   string // 3-part; "" if the source gives none
	msgSignature                string // 4-part
	encrypt                     string
	random                      string // recovered prefix, to re-encrypt
	msg                         string
	ciphertextLen, plaintextLen int
}

var decryptVectors = []decryptVector{
	{
		name:  "1 python sample",
		token: sampleToken, key: sampleKey, appID: sampleAppID,
		timestamp: "1409735669", nonce: "1320562132",
		msgSignature: "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
		encrypt:      "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=",
		random:       "89465c840c5f116f",
		msg: "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n" +
			"<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n" +
			"<CreateTime>1409735668</CreateTime>\n" +
			"<MsgType><![CDATA[text]]></MsgType>\n" +
			"<Content><![CDATA[abcdteT]]></Content>\n" +
			"<MsgId>6054768590064713728</MsgId>\n" +
			"</xml>",
		ciphertextLen: 320, plaintextLen: 318,
	},
	{
		name:  "3c docs safe mode",
		token: docsToken, key: docsKey, appID: docsAppID,
		timestamp: "1714112445", nonce: "415670741",
		signature:     "6c5c811b55cc85e0e1b54100749188c20beb3f5d",
		msgSignature:  "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
		encrypt:       "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04=",
		random:        "a8eedb185eb2fecf",
		msg:           `{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}`,
		ciphertextLen: 224, plaintextLen: 205,
	},
	{
		name:  "4 third-party platform xml",
		token: docsToken, key: docsKey, appID: "wx134c8103faa5a59e",
		timestamp: "1715943329", nonce: "1590219412",
		signature:    "cc0c594499c1634947d5b502f158ee518947db27",
		msgSignature: "6c12a4205838198b8fa631b3220723bb07f1015c",
		encrypt:      "D7yzvUNAL930rd28wf21s4hvXhz0L6Uit/p2Di6C5DHyYGpEgdBRnKjBec34JwoQXicwaZC7fOVihW80F4VtsdvE//1vr7oAbqjDv8KenVp+ajKYpJnyQ4zMRhIC+a31fCVOMC03FfzV/QuC94kBP55a+Za3sJgvAn+ZbsNqZI5DkyuzkhQN8OBqCzFhizGmy0xpM0MEA4agpvE+RuNO1rhHTtuJB5yltw1FiYzecSXJ+y/D2r81VkRn2eYjh2ltsoyfbDR7Is6ookXIFxTfyeNyeHxMeT4KN5WpCDmSbTcUYrbBUlkGLJ9n/rU8YOywma6G7aTb7KZKOqCxgfoUlYEZPk4FUL/TK7ShriFDMVCLyjQJ15Ob++agDWtcxhfUfe6HIoIpRW8mKNBQiY/Jd1svvuskA1wLef1RTtzKfMpagSCX/laZINmdnX4zrF6kIaR9P4xQrWXbsTFHTYe0Mg==",
		random:       "1205899eaf019bbd",
		msg: "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>\n" +
			"<FromUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></FromUserName>\n" +
			"<CreateTime>1715943329</CreateTime>\n" +
			"<MsgType><![CDATA[event]]></MsgType>\n" +
			"<Event><![CDATA[debug_demo]]></Event>\n" +
			"<debug_str><![CDATA[hello world]]></debug_str>\n" +
			"</xml>",
		ciphertextLen: 352, plaintextLen: 330,
	},
	{
		name:  "5 c++ sample",
		token: sampleToken, key: sampleKey, appID: sampleAppID,
		timestamp: "1410349438", nonce: "298025754",
		msgSignature: "003fee52ecc56afb46c00b5c7721be87860ce785",
		encrypt:      "mfBCs65c67CeJw22u4VT2TD73q5H06+ocrAIxswCaeZ/d/Lw0msSZFHY0teqgSYiI1zR2gD2DKrB3TIrmX/liNSDrGqS8jSI/WPeKB5VPr7Ezr7gomZAyGCwJSgT1TRFWPfONGJMxuj2nk4faTuspAuVIFQ6SHwZuJBZC7mcJp7Cgr9cUhATQWDbOPaE7ukZBTV2YqyzH+UI2AK+J1S47cE79k1RX8t0hcTz/O0hlK8DGXKnvYv88qKQcI7z4iaajqHfRVZKBNyOODabs+It+ZfM3dWTeFcPgDbGtIEnpt/EDtuuA/zMvtkaKdHdswPnVZQ+xdwbYr3ldGvfT8HlEYEgkgKaThxTFobVlwzu2ZkXCjicbP3xdr15Iq48ObgzPpqYuZ3IEoyggZDKClquk0u0orMck4GTF/XyE8yGzc4=",
		random:       "78b55f1d91440c6b",
		msg: "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n" +
			"<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n" +
			"<CreateTime>1410349438</CreateTime>\n" +
			"<MsgType><![CDATA[text]]></MsgType>\n" +
			"<Content><![CDATA[abcdteT]]></Content>\n" +
			"<MsgId>6057404712141979648</MsgId>\n" +
			"</xml>",
		ciphertextLen: 320, plaintextLen: 318, // 16+4+280+18, padded to 320
	},
}

// encryptVector is an encryption with a fixed random prefix, optionally
// signed as an encrypted reply.
type encryptVector struct {
	name              string
	token, key, appID string
	random, msg       string
	encrypt           string
	timestamp, nonce  string // "" if the source does not sign it
	msgSignature      string
}

var encryptVectors = []encryptVector{
	{
		name: "2a java sample utf-8",
		key:  sampleKey, appID: "wxb11529c136998cb6", random: "aaaabbbbccccdddd",
		msg:     "我是中文abcd123",
		encrypt: "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==",
	},
	{
		name: "2b java sample xml",
		key:  sampleKey, appID: "wxb11529c136998cb6", random: "aaaabbbbccccdddd",
		msg:     "<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName><FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime><MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Title><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>",
		encrypt: "jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb",
	},
	{
		name:  "3d docs encrypted reply",
		token: docsToken, key: docsKey, appID: docsAppID, random: "707722b803182950",
		msg:       `{"demo_resp":"good luck"}`,
		encrypt:   "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==",
		timestamp: "1713424427", nonce: "415670741",
		msgSignature: "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1",
	},
	{
		// The msg is verbatim from the page, including its missing "<!".
		name:  "4 third-party platform reply",
		token: docsToken, key: docsKey, appID: "wx134c8103faa5a59e", random: "999951349e8ee746",
		msg:       "<xml><demo_resp>[CDATA[good luck]]</demo_resp></xml>",
		encrypt:   "hE8R6mGXHkJJjU72KxzKUd1GEkKJaEZq7vRL8XgK3o+00k8JGq6+pZJUIlTSyhsX+bxIBQ72g3GyvDdIZcr6+3HAZbSvPT9t/o11MI7d6WELwqrGd7jMnV0zv3Zc9Nq7",
		timestamp: "1713424427", nonce: "415670741",
		msgSignature: "03e0812039325c2712ef5f0f980fd14c70d6e307",
	},
}
