package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/wxreply/wxreply/server/wxapi"
)

// Defaults for RedisOptions' zero fields.
const (
	// DefaultRedisPrefix starts every key, so that one Redis can serve
	// other programs too; accounts are told apart by the keys themselves.
	DefaultRedisPrefix = "wxreply:"
	// DefaultRedisTimeout bounds each operation on Redis, connecting
	// included: past it the operation is served from memory. WeChat waits
	// 5 s for an answer, and a push makes three or four operations.
	DefaultRedisTimeout = 200 * time.Millisecond
	// DefaultProbeInterval is how often a degraded store asks Redis
	// whether it is back.
	DefaultProbeInterval = time.Second
	// DefaultPollInterval is how often a retry asks whether the first
	// delivery is answered, and a locker whether the lock is free.
	DefaultPollInterval = 25 * time.Millisecond
)

// RedisOptions configures OpenRedis.
type RedisOptions struct {
	// Prefix starts every key; DefaultRedisPrefix when empty.
	Prefix string
	// Timeout bounds each operation; DefaultRedisTimeout when 0.
	Timeout time.Duration
	// Logger gets one line each time Redis fails or answers again; no logs
	// when nil.
	Logger *slog.Logger
	// Fallback keeps the state while Redis fails; a NewMemory with
	// RetryTTL when nil.
	Fallback *Memory
	// RetryTTL is how long a push is remembered; DefaultRetryTTL when 0.
	RetryTTL time.Duration
	// ProbeInterval is DefaultProbeInterval when 0, and PollInterval
	// DefaultPollInterval.
	ProbeInterval, PollInterval time.Duration
	// PoolSize caps the connections to Redis; 8 when 0. An operation
	// takes one for a millisecond or so: a few serve hundreds of pushes a
	// second.
	PoolSize int
}

// Redis is a Store that every process of an account shares, so that a
// retry answered by another instance gets the first delivery's reply, a
// session set by one instance is seen by the next, and the processes fetch
// one access_token, not one each.
//
// Redis trouble never holds up a push: each operation gives up after the
// timeout and is served by the fallback Memory instead, and the store turns
// degraded. While degraded, operations go straight to the fallback (this
// process acts alone, as one instance with Memory would) and a probe asks
// Redis every ProbeInterval whether it is back. Each change of state is
// logged once.
//
// Keys, under the prefix:
//
//	retry:msg\x00ACCOUNT\x00...  a push: "" while answered, then "=" and the reply; RetryTTL
//	user:ACCOUNT/OPENID          a hash: s:NAME session values, exp the session's end,
//	                             c:RULE each cooldown's end (Unix ms); lives until the latest
//	token:APPID                  a hash: v the access_token, exp (Unix ms) when clients stop using it
//	lock:APPID                   the token refresh lock: its holder's random value; the lock's ttl
type Redis struct {
	client   *redis.Client
	prefix   string
	timeout  time.Duration
	retryTTL time.Duration
	poll     time.Duration
	log      *slog.Logger
	fallback *Memory
	password string // never logged
	addr     string

	mu       sync.Mutex
	degraded bool
	since    time.Time
	lastErr  string
	errors   map[string]uint64

	stopProbe context.CancelFunc
	probeDone chan struct{}
}

var _ Store = (*Redis)(nil)

// ops are the operations Health counts errors of.
var ops = []string{"claim", "finish", "wait", "load_user", "save_user", "token_get", "token_set", "token_delete", "token_lock"}

// OpenRedis connects to the Redis at rawURL, redis://[:password@]host:port/db
// (rediss:// for TLS). A malformed URL is an error; a Redis that does not
// answer is not: the store starts degraded, serving from memory, and shares
// state as soon as Redis answers.
func OpenRedis(ctx context.Context, rawURL string, opts RedisOptions) (*Redis, error) {
	o, err := ParseRedisURL(rawURL)
	if err != nil {
		return nil, err
	}
	quietRedis.Do(func() { redis.SetLogger(quiet{}) })
	if opts.Prefix == "" {
		opts.Prefix = DefaultRedisPrefix
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultRedisTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RetryTTL <= 0 {
		opts.RetryTTL = DefaultRetryTTL
	}
	if opts.Fallback == nil {
		opts.Fallback = NewMemory(MemoryOptions{RetryTTL: opts.RetryTTL})
	}
	if opts.ProbeInterval <= 0 {
		opts.ProbeInterval = DefaultProbeInterval
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.PoolSize <= 0 {
		opts.PoolSize = 8
	}
	// Every wait is bounded by the timeout: a dial, a read, a write, a
	// turn for a connection. go-redis' retries, of a command and of a dial,
	// would spend the timeout again: the fallback is the retry.
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = opts.Timeout, opts.Timeout, opts.Timeout, opts.Timeout
	o.ContextTimeoutEnabled = true
	o.MaxRetries = -1
	o.DialerRetries = 1
	o.PoolSize = opts.PoolSize
	o.MaxIdleConns = opts.PoolSize
	// RESP2 and none of the newer handshakes: Debian's Redis 7.0 answers
	// every command used here, and has no maintenance notifications.
	o.Protocol = 2
	o.DisableIdentity = true
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	r := &Redis{
		client:   redis.NewClient(o),
		prefix:   opts.Prefix,
		timeout:  opts.Timeout,
		retryTTL: opts.RetryTTL,
		poll:     opts.PollInterval,
		log:      opts.Logger,
		fallback: opts.Fallback,
		password: o.Password,
		addr:     o.Addr,
		errors:   map[string]uint64{},
	}
	for _, op := range ops {
		r.errors[op] = 0
	}
	pctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	err = r.client.Ping(pctx).Err()
	cancel()
	if err != nil {
		r.fail("", err)
	} else {
		r.log.Info("store: sharing state through redis", "addr", r.addr, "db", o.DB, "prefix", r.prefix)
	}
	probeCtx, stop := context.WithCancel(context.Background())
	r.stopProbe, r.probeDone = stop, make(chan struct{})
	go r.probe(probeCtx, opts.ProbeInterval)
	return r, nil
}

// quietRedis silences go-redis' own log, process-wide: it logs each failed
// dial, which while Redis is down is every probe, every second. The store
// logs each change of state instead.
var quietRedis sync.Once

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// redactedURL is u to show: its password and its query's values hidden
// (?password=… is no option of go-redis, and would be shown refused).
func redactedURL(u *url.URL) string {
	shown := *u
	if q := u.Query(); len(q) > 0 {
		for name := range q {
			q.Set(name, "xxxxx")
		}
		shown.RawQuery = q.Encode()
	}
	return shown.Redacted()
}

// ParseRedisURL reads redis://[:password@]host:port/db into go-redis'
// options. Its errors never show the password.
func ParseRedisURL(rawURL string) (*redis.Options, error) {
	const want = "want redis://[:password@]host:port/db, such as redis://127.0.0.1:6379/0"
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse's error quotes the URL, password and all.
		return nil, fmt.Errorf("the Redis URL does not parse: %s", want)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		// Without the scheme, what the URL holds is anyone's guess: in
		// user:password@host, url.Parse reads "user" as the scheme.
		return nil, fmt.Errorf("the Redis URL does not start with redis:// or rediss://: %s", want)
	}
	shown := redactedURL(u)
	switch {
	case u.Hostname() == "":
		return nil, fmt.Errorf("the Redis URL %s has no host: %s", shown, want)
	case u.Port() != "":
		if p, err := strconv.Atoi(u.Port()); err != nil || p <= 0 || p > 65535 {
			return nil, fmt.Errorf("the Redis URL %s: port %q: %s", shown, u.Port(), want)
		}
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		msg := err.Error()
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
		return nil, fmt.Errorf("the Redis URL %s: %s: %s", shown, strings.TrimPrefix(msg, "redis: "), want)
	}
	return o, nil
}

// try runs fn on Redis within the timeout. It reports false when the store
// is degraded or fn failed, and the caller should ask the fallback instead;
// err is ctx's error when the caller's own context ended first.
func (r *Redis) try(ctx context.Context, op string, fn func(ctx context.Context) error) (ok bool, err error) {
	if r.Degraded() {
		return false, nil
	}
	octx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	err = fn(octx)
	if err == nil {
		return true, nil
	}
	// The caller gave up, or its deadline came before the timeout: not
	// Redis' fault. The clock decides, not ctx.Err(): octx's timer, or the
	// connection's deadline, can fire a moment before ctx's own.
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return false, context.DeadlineExceeded
	}
	r.fail(op, err)
	return false, nil
}

// Degraded implements Store.
func (r *Redis) Degraded() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.degraded
}

// fail counts a failed operation (none at start-up) and turns the store
// degraded, saying so once.
func (r *Redis) fail(op string, err error) {
	msg := r.redact(err)
	r.mu.Lock()
	defer r.mu.Unlock()
	if op != "" {
		r.errors[op]++
	}
	r.lastErr = msg
	if r.degraded {
		return
	}
	r.degraded, r.since = true, time.Now()
	if op == "" {
		r.log.Warn("store: redis does not answer; keeping state in this process's memory until it does (retries, sessions and the access_token are not shared meanwhile)", "addr", r.addr, "error", msg)
		return
	}
	r.log.Warn("store: redis failed; keeping state in this process's memory until it answers again (retries, sessions and the access_token are not shared meanwhile)", "addr", r.addr, "op", op, "error", msg)
}

// redact is err's text without the password.
func (r *Redis) redact(err error) string {
	msg := err.Error()
	if r.password != "" {
		msg = strings.ReplaceAll(msg, r.password, "xxxxx")
	}
	return msg
}

// probe asks Redis every interval, while the store is degraded, whether it
// answers again.
func (r *Redis) probe(ctx context.Context, interval time.Duration) {
	defer close(r.probeDone)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !r.Degraded() {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, r.timeout)
		err := r.client.Ping(pctx).Err()
		cancel()
		r.mu.Lock()
		if err != nil {
			if ctx.Err() == nil {
				r.lastErr = r.redact(err)
			}
		} else {
			r.log.Info("store: redis answers again; sharing state through it", "addr", r.addr, "degraded_for", time.Since(r.since).Round(time.Millisecond).String())
			r.degraded, r.since = false, time.Time{}
		}
		r.mu.Unlock()
	}
}

// Health implements Store.
func (r *Redis) Health() Health {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := Health{Backend: "redis", Degraded: r.degraded, Since: r.since, LastError: r.lastErr, Errors: make(map[string]uint64, len(r.errors))}
	for op, n := range r.errors {
		h.Errors[op] = n
	}
	return h
}

// Close implements Store: it stops the probe and closes the connections.
// The fallback is the caller's to close.
func (r *Redis) Close() error {
	r.stopProbe()
	<-r.probeDone
	return r.client.Close()
}

// Stats says how full the fallback is: what this process holds in memory.
func (r *Redis) Stats() MemoryStats { return r.fallback.Stats() }

// Retry entries. A claimed push is "": claimed, being answered. Its reply is
// stored behind a "=" so that a push answered with nothing is told apart.

const answered = "="

// finishScript stores the reply of a push claimed and not yet answered,
// keeping its TTL: a second Finish changes nothing, as in Memory.
var finishScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == '' then
  redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
  return 1
end
return 0`)

// Claim implements Retries.
func (r *Redis) Claim(ctx context.Context, key string) (bool, error) {
	var claimed bool
	ok, err := r.try(ctx, "claim", func(ctx context.Context) (err error) {
		claimed, err = r.client.SetNX(ctx, r.prefix+"retry:"+key, "", r.retryTTL).Result()
		return err
	})
	if ok || err != nil {
		return claimed, err
	}
	return r.fallback.Claim(ctx, key)
}

// Finish implements Retries.
func (r *Redis) Finish(ctx context.Context, key string, reply []byte) error {
	// A push claimed while Redis failed is in the fallback, with
	// retries of it waiting there, whatever Redis does now.
	r.fallback.Finish(ctx, key, reply)
	_, err := r.try(ctx, "finish", func(ctx context.Context) error {
		return finishScript.Run(ctx, r.client, []string{r.prefix + "retry:" + key}, answered+string(reply)).Err()
	})
	return err
}

// Wait implements Retries: it asks Redis every PollInterval until the push
// is answered or ctx ends.
func (r *Redis) Wait(ctx context.Context, key string) ([]byte, error) {
	for {
		var v string
		var found bool
		ok, err := r.try(ctx, "wait", func(ctx context.Context) error {
			var err error
			v, err = r.client.Get(ctx, r.prefix+"retry:"+key).Result()
			found = err == nil
			if errors.Is(err, redis.Nil) {
				return nil
			}
			return err
		})
		switch {
		case err != nil:
			return nil, err
		case !ok:
			return r.fallback.Wait(ctx, key)
		case !found:
			return nil, nil
		case strings.HasPrefix(v, answered):
			return []byte(v[len(answered):]), nil
		}
		if err := r.pause(ctx); err != nil {
			return nil, err
		}
	}
}

// pause waits for the next poll, or for ctx to end.
func (r *Redis) pause(ctx context.Context) error {
	timer := time.NewTimer(r.poll)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Users. A user is one hash; Redis 7.0 has no expiry per field, so the
// hash carries the times itself and lives as long as the latest of them.

const (
	sessionField  = "s:"
	cooldownField = "c:"
	expiresField  = "exp"
)

// LoadUser implements Users.
func (r *Redis) LoadUser(ctx context.Context, user string, now time.Time) (User, error) {
	var fields map[string]string
	ok, err := r.try(ctx, "load_user", func(ctx context.Context) (err error) {
		fields, err = r.client.HGetAll(ctx, r.prefix+"user:"+user).Result()
		return err
	})
	if err != nil {
		return User{}, err
	}
	if !ok {
		return r.fallback.LoadUser(ctx, user, now)
	}
	ms := now.UnixMilli()
	sessionUntil, _ := strconv.ParseInt(fields[expiresField], 10, 64)
	var u User
	for f, v := range fields {
		switch {
		case strings.HasPrefix(f, sessionField) && ms < sessionUntil:
			if u.Session == nil {
				u.Session = map[string]string{}
			}
			u.Session[f[len(sessionField):]] = v
		case strings.HasPrefix(f, cooldownField):
			if until, err := strconv.ParseInt(v, 10, 64); err == nil && ms < until {
				if u.Cooldowns == nil {
					u.Cooldowns = map[string]time.Time{}
				}
				u.Cooldowns[f[len(cooldownField):]] = time.UnixMilli(until)
			}
		}
	}
	return u, nil
}

// saveUserScript applies a UserChange in one round trip. KEYS[1] is the
// user; ARGV: now (ms), the session's new end (ms; 0 when the session does
// not change), the cooldown's rule ("" for none) and end (ms), the number of
// names to unset, those names, then name, value pairs to set. It drops the
// values of a session that ended and the cooldowns that ran out, and makes
// the hash live until the latest time left in it, counted from now: the
// callers' clock, not Redis'.
var saveUserScript = redis.NewScript(`
local key, now = KEYS[1], tonumber(ARGV[1])
local sessionUntil = tonumber(ARGV[2])
local unset = tonumber(ARGV[5])
if sessionUntil > 0 then
  if tonumber(redis.call('HGET', key, 'exp') or '0') <= now then
    for _, f in ipairs(redis.call('HKEYS', key)) do
      if string.sub(f, 1, 2) == 's:' then redis.call('HDEL', key, f) end
    end
  end
  for i = 6, 5 + unset do redis.call('HDEL', key, ARGV[i]) end
  for i = 6 + unset, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
  redis.call('HSET', key, 'exp', sessionUntil)
end
if ARGV[3] ~= '' then redis.call('HSET', key, 'c:' .. ARGV[3], ARGV[4]) end
local latest = 0
local fields = redis.call('HGETALL', key)
for i = 1, #fields, 2 do
  local f, v = fields[i], tonumber(fields[i + 1])
  if f == 'exp' then
    latest = math.max(latest, v)
  elseif string.sub(f, 1, 2) == 'c:' then
    if v <= now then redis.call('HDEL', key, f) else latest = math.max(latest, v) end
  end
end
if latest <= now then
  redis.call('DEL', key)
  return 0
end
redis.call('PEXPIRE', key, latest - now)
return 1`)

// SaveUser implements Users.
func (r *Redis) SaveUser(ctx context.Context, user string, c UserChange) error {
	if c.Empty() {
		return nil
	}
	now := c.Now.UnixMilli()
	var sessionUntil int64
	if len(c.Set) > 0 || len(c.Unset) > 0 {
		sessionUntil = c.Now.Add(sessionTTL(c.SessionTTL)).UnixMilli()
	}
	var cooldownUntil int64
	if c.CooldownRule != "" {
		cooldownUntil = c.CooldownUntil.UnixMilli()
	}
	args := make([]any, 0, 5+len(c.Unset)+2*len(c.Set))
	args = append(args, now, sessionUntil, c.CooldownRule, cooldownUntil, len(c.Unset))
	for _, name := range c.Unset {
		args = append(args, sessionField+name)
	}
	for name, v := range c.Set {
		args = append(args, sessionField+name, v)
	}
	ok, err := r.try(ctx, "save_user", func(ctx context.Context) error {
		return saveUserScript.Run(ctx, r.client, []string{r.prefix + "user:" + user}, args...).Err()
	})
	if ok || err != nil {
		return err
	}
	return r.fallback.SaveUser(ctx, user, c)
}

// Tokens.

// deleteTokenScript deletes the token if its value is ARGV[1].
var deleteTokenScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'v') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`)

// unlockScript deletes the lock if it is still the caller's.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// Get implements wxapi.TokenStore.
func (r *Redis) Get(ctx context.Context, key string) (tok wxapi.Token, found bool, err error) {
	ok, err := r.try(ctx, "token_get", func(ctx context.Context) error {
		vals, err := r.client.HMGet(ctx, r.prefix+"token:"+key, "v", expiresField).Result()
		if err != nil {
			return err
		}
		v, _ := vals[0].(string)
		exp, _ := vals[1].(string)
		ms, perr := strconv.ParseInt(exp, 10, 64)
		if v == "" || perr != nil {
			return nil // none, or not one of ours: fetch another
		}
		tok, found = wxapi.Token{Value: v, ExpiresAt: time.UnixMilli(ms)}, true
		return nil
	})
	if ok || err != nil {
		return tok, found, err
	}
	return r.fallback.Get(ctx, key)
}

// Set implements wxapi.TokenStore. Redis keeps the token until ExpiresAt,
// or a minute when that has passed (the clocks may differ).
func (r *Redis) Set(ctx context.Context, key string, tok wxapi.Token) error {
	ttl := max(time.Until(tok.ExpiresAt), time.Minute)
	k := r.prefix + "token:" + key
	ok, err := r.try(ctx, "token_set", func(ctx context.Context) error {
		_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, k, "v", tok.Value, expiresField, tok.ExpiresAt.UnixMilli())
			p.PExpire(ctx, k, ttl)
			return nil
		})
		return err
	})
	if ok || err != nil {
		return err
	}
	return r.fallback.Set(ctx, key, tok)
}

// CompareAndDelete implements wxapi.TokenStore. The fallback's token goes
// too, if it is the refused one.
func (r *Redis) CompareAndDelete(ctx context.Context, key, value string) (bool, error) {
	deletedHere, _ := r.fallback.CompareAndDelete(ctx, key, value)
	var deleted bool
	ok, err := r.try(ctx, "token_delete", func(ctx context.Context) error {
		n, err := deleteTokenScript.Run(ctx, r.client, []string{r.prefix + "token:" + key}, value).Int()
		deleted = n == 1
		return err
	})
	if ok || err != nil {
		return deleted, err
	}
	return deletedHere, nil
}

// Lock implements wxapi.TokenStore across every process that shares the
// Redis: SET NX with a random value, asked again every PollInterval until
// ctx ends, and released only by its holder.
func (r *Redis) Lock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	var b [16]byte
	rand.Read(b[:])
	mine := hex.EncodeToString(b[:])
	k := r.prefix + "lock:" + key
	for {
		var taken bool
		ok, err := r.try(ctx, "token_lock", func(ctx context.Context) (err error) {
			taken, err = r.client.SetNX(ctx, k, mine, ttl).Result()
			return err
		})
		switch {
		case err != nil:
			return nil, fmt.Errorf("waiting for the lock %q: %w", key, err)
		case !ok:
			return r.fallback.Lock(ctx, key, ttl)
		case taken:
			var once sync.Once
			return func() { once.Do(func() { r.unlock(k, mine) }) }, nil
		}
		if err := r.pause(ctx); err != nil {
			return nil, fmt.Errorf("waiting for the lock %q: %w", key, err)
		}
	}
}

// unlock releases the lock k if it is still mine; when Redis fails, the
// lock runs out by its ttl.
func (r *Redis) unlock(k, mine string) {
	r.try(context.Background(), "token_lock", func(ctx context.Context) error {
		return unlockScript.Run(ctx, r.client, []string{k}, mine).Err()
	})
}
