package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/server/wxcrypto"
)

// Client plays WeChat's side of the callback protocol: it signs a push,
// encrypts it when given a Key, posts it, and checks and opens the reply.
// `wxreply send` and the end-to-end tests use it.
type Client struct {
	URL   string // the callback URL
	Token string
	// Key and AppID encrypt pushes as safe mode does; nil Key sends plaintext.
	Key   *wxcrypto.Key
	AppID string
	HTTP  *http.Client     // nil means a client with a 10 s timeout
	Now   func() time.Time // nil means time.Now
}

// Response is the server's answer to one push.
type Response struct {
	Status int
	// Raw is the body as received; Body is the reply XML, decrypted when the
	// reply was encrypted.
	Raw, Body []byte
	// Reply is Body parsed; nil when the server answered "success".
	Reply *engine.Reply
	// Outcome is how the server says it answered (OutcomeHeader), when
	// it says so: to a client on its own machine.
	Outcome string
}

// ErrRefused is returned for a push the server did not accept: a
// *RefusedError, which says how.
var ErrRefused = errors.New("refused")

// RefusedError is a push or URL check the server answered with another
// status than 200.
type RefusedError struct {
	StatusCode int
	Status     string // "403 Forbidden"
}

func (e *RefusedError) Error() string { return "refused: " + e.Status }

// Is makes a RefusedError ErrRefused to errors.Is.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// signedQuery is what WeChat adds to the callback URL.
func (c *Client) signedQuery() (url.Values, error) {
	// WeChat's nonces are 10 digits or so; 18 make it unlikely that two
	// pushes of a busy second share one, which the server would refuse as
	// a replayed query.
	n, err := rand.Int(rand.Reader, big.NewInt(1e18))
	if err != nil {
		return nil, err
	}
	timestamp := strconv.FormatInt(c.now().Unix(), 10)
	nonce := n.String()
	return url.Values{
		"timestamp": {timestamp},
		"nonce":     {nonce},
		"signature": {wxcrypto.Sign(c.Token, timestamp, nonce)},
	}, nil
}

func (c *Client) endpoint(q url.Values) (string, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return "", err
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Verify does WeChat's check of the callback URL: a signed GET whose echostr
// must come back unchanged.
func (c *Client) Verify(ctx context.Context) error {
	q, err := c.signedQuery()
	if err != nil {
		return err
	}
	echostr := q.Get("nonce") + "1"
	q.Set("echostr", echostr)
	u, err := c.endpoint(q)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return &RefusedError{StatusCode: resp.StatusCode, Status: resp.Status}
	}
	if string(body) != echostr {
		return fmt.Errorf("the server answered %q, not the echostr %q", body, echostr)
	}
	return nil
}

// Send posts one push, given as its plaintext XML.
func (c *Client) Send(ctx context.Context, push []byte) (*Response, error) {
	q, err := c.signedQuery()
	if err != nil {
		return nil, err
	}
	body := push
	if c.Key != nil {
		encrypt, err := c.Key.Encrypt(push, c.AppID, nil)
		if err != nil {
			return nil, err
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", wxcrypto.Sign(c.Token, q.Get("timestamp"), q.Get("nonce"), encrypt))
		body, err = xml.Marshal(struct {
			XMLName xml.Name `xml:"xml"`
			Encrypt cdata    `xml:"Encrypt"`
		}{Encrypt: cdata{encrypt}})
		if err != nil {
			return nil, err
		}
	}
	u, err := c.endpoint(q)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	r := &Response{Status: resp.StatusCode, Raw: raw, Body: raw, Outcome: resp.Header.Get(OutcomeHeader)}
	if resp.StatusCode != http.StatusOK {
		return r, &RefusedError{StatusCode: resp.StatusCode, Status: resp.Status}
	}
	if c.Key != nil && !bytes.Equal(raw, Success) && len(raw) > 0 {
		if r.Body, err = c.open(raw); err != nil {
			return r, err
		}
	}
	r.Reply, err = ParseReply(r.Body)
	return r, err
}

// open checks an encrypted reply's signature and decrypts it.
func (c *Client) open(raw []byte) ([]byte, error) {
	var env struct {
		Encrypt      string `xml:"Encrypt"`
		MsgSignature string `xml:"MsgSignature"`
		TimeStamp    string `xml:"TimeStamp"`
		Nonce        string `xml:"Nonce"`
	}
	if err := xml.Unmarshal(raw, &env); err != nil || env.Encrypt == "" {
		return nil, fmt.Errorf("the reply is not encrypted as safe mode requires: %.200q", raw)
	}
	if !wxcrypto.Verify(env.MsgSignature, c.Token, env.TimeStamp, env.Nonce, env.Encrypt) {
		return nil, errors.New("the reply's MsgSignature does not verify")
	}
	return c.Key.Decrypt(env.Encrypt, c.AppID)
}
