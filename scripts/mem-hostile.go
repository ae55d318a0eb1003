//go:build ignore

// mem-hostile is the load generator of scripts/mem-hostile.sh (E03 of
// /work/shared/reliability.md). It talks to one `wxreply serve` on
// loopback and prints the server's memory (VmRSS, VmHWM of -pid) before and
// after each phase:
//
//  1. -pushes signed text messages at full speed, each with a MsgId and a
//     nonce of its own, so that every one is a new entry of the retry
//     store and of the replay cache;
//  2. -conns connections at once, each sending about -header-bytes of
//     headers, held open until all have been sent.
//
// Every loop is bounded and every connection has a deadline: it ends by
// itself.
package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	target := flag.String("url", "", "the callback URL, http://127.0.0.1:PORT/wechat")
	token := flag.String("token", "", "the server's token")
	pid := flag.Int("pid", 0, "the server's process id, to read its memory")
	pushes := flag.Int("pushes", 300_000, "signed pushes to send")
	workers := flag.Int("workers", 64, "pushes in flight at once")
	conns := flag.Int("conns", 300, "connections that send oversized headers")
	headerBytes := flag.Int("header-bytes", 1<<20, "bytes of headers each of them sends")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || u.Host == "" || *token == "" || *pid == 0 {
		fmt.Fprintln(os.Stderr, "usage: go run scripts/mem-hostile.go -url URL -token TOKEN -pid PID")
		os.Exit(2)
	}
	if host, _, _ := net.SplitHostPort(u.Host); net.ParseIP(host) == nil || !net.ParseIP(host).IsLoopback() {
		fmt.Fprintln(os.Stderr, "mem-hostile: loopback addresses only")
		os.Exit(2)
	}

	memory(*pid, "start")
	start := time.Now()
	status := sendPushes(*target, *token, *pushes, *workers)
	fmt.Printf("phase 1: %d pushes in %s (%.0f/s); statuses %v\n", *pushes, time.Since(start).Round(time.Millisecond),
		float64(*pushes)/time.Since(start).Seconds(), status)
	memory(*pid, "after pushes")

	start = time.Now()
	answers := sendHeaders(u.Host, u.Path, *conns, *headerBytes, func() { memory(*pid, "headers sent, connections open") })
	fmt.Printf("phase 2: %d connections × %d bytes of headers in %s; answers %v\n", *conns, *headerBytes,
		time.Since(start).Round(time.Millisecond), answers)
	memory(*pid, "after headers")
}

// memory prints VmRSS and VmHWM (the peak) of the process.
func memory(pid int, when string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		fmt.Printf("%-32s %v\n", when+":", err)
		return
	}
	var rss, hwm string
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rss = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			hwm = strings.TrimSpace(v)
		}
	}
	fmt.Printf("%-32s RSS %10s   peak (VmHWM) %10s\n", when+":", rss, hwm)
}

func sign(parts ...string) string {
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// sendPushes posts n signed text messages with workers at once and counts
// the answers by status.
func sendPushes(target, token string, n, workers int) map[string]int {
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers},
	}
	var next atomic.Int64
	var mu sync.Mutex
	status := map[string]int{}
	base := time.Now().UnixNano() % 1e9 // a fresh range of MsgIds per run
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				ts := strconv.FormatInt(time.Now().Unix(), 10)
				nonce := strconv.FormatInt(base*1_000_000+i, 10)
				body := fmt.Sprintf("<xml><ToUserName><![CDATA[gh_5e8a1c2f9b3d]]></ToUserName>"+
					"<FromUserName><![CDATA[oMemHostile%017d]]></FromUserName><CreateTime>%s</CreateTime>"+
					"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello %d]]></Content>"+
					"<MsgId>%d</MsgId></xml>", i, ts, i, 7_000_000_000_000_000_000+base*1_000_000+i)
				q := "signature=" + sign(token, ts, nonce) + "&timestamp=" + ts + "&nonce=" + nonce
				resp, err := client.Post(target+"?"+q, "text/xml", strings.NewReader(body))
				key := "error"
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					key = strconv.Itoa(resp.StatusCode)
				}
				mu.Lock()
				status[key]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return status
}

// sendHeaders opens conns connections at once; each sends a request line
// and then headers of about size bytes, ignoring write errors (the server
// may answer and close early). Once all have sent, held is called with the
// connections still open; then each reads what the server answered.
func sendHeaders(host, path string, conns, size int, held func()) map[string]int {
	line := "X-Pad: " + strings.Repeat("a", 1000) + "\r\n"
	var sent, done sync.WaitGroup
	var mu sync.Mutex
	answers := map[string]int{}
	release := make(chan struct{})
	for range conns {
		sent.Add(1)
		done.Go(func() {
			c, err := net.DialTimeout("tcp", host, 5*time.Second)
			if err != nil {
				sent.Done()
				mu.Lock()
				answers["dial error"]++
				mu.Unlock()
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			w := bufio.NewWriterSize(c, 64<<10)
			fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: %s\r\n", path, host)
			for n := 0; n < size; n += len(line) {
				if _, err := w.WriteString(line); err != nil {
					break
				}
			}
			w.Flush()
			sent.Done()
			<-release
			first, err := bufio.NewReader(c).ReadString('\n')
			answer := strings.TrimSpace(first)
			if answer == "" {
				answer = fmt.Sprintf("no answer (%v)", err)
			}
			mu.Lock()
			answers[answer]++
			mu.Unlock()
		})
	}
	sent.Wait()
	held()
	close(release)
	done.Wait()
	return answers
}
