package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jetonhq/jeton/callback/sign"
)

// The receiver is the merchant backend: a separate process (this program
// run again with the "receiver" argument) listening on 127.0.0.1. It
// answers every call 200 at once and counts what it received.
//
// In the callbacks benchmark it counts signed POSTs (jeton's deliveries
// and the floor's raw POSTs alike), distinct delivery ids and duplicates,
// and the times of the first and last receipt.
//
// With -record (the withdrawals benchmark) it also reads each body and
// keeps, per call, when it arrived and, for approval calls and floor
// requests, when its answer was written.

// event is one call the receiver recorded (-record).
type event struct {
	Kind   string `json:"k"` // approval, status, floor
	Trade  string `json:"t,omitempty"`
	Ext    string `json:"x,omitempty"`
	Event  string `json:"e,omitempty"`
	Arrive int64  `json:"a"`           // handler entered, unix ns
	Answer int64  `json:"w,omitempty"` // answer written and flushed, unix ns
}

type recvStats struct {
	Count    int64 `json:"count"`    // signed calls received
	Distinct int64 `json:"distinct"` // distinct delivery ids among them
	Dups     int64 `json:"dups"`
	Unsigned int64 `json:"unsigned"` // test pings and other unsigned calls
	First    int64 `json:"first"`    // unix ns of the first signed receipt
	Last     int64 `json:"last"`     // unix ns of the last one
	// -record: approvals and status callbacks by event.
	Approvals int64            `json:"approvals"`
	Statuses  map[string]int64 `json:"statuses,omitempty"`
	Floor     int64            `json:"floor"`
	Conns     int64            `json:"conns"` // TCP connections accepted
}

type receiver struct {
	record bool
	prefix string // -record: count only calls whose trade's externalId starts so

	mu     sync.Mutex
	st     recvStats
	ids    map[string]struct{}
	events []event
}

func runReceiver(args []string) {
	fs := flag.NewFlagSet("receiver", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	record := fs.Bool("record", false, "record every call (withdrawals benchmark)")
	_ = fs.Parse(args)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "receiver:", err)
		os.Exit(1)
	}
	rc := &receiver{record: *record}
	rc.reset()
	fmt.Printf("listening %s\n", ln.Addr())
	// The parent holds our stdin open; when it goes away, so do we.
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 15 * time.Second, IdleTimeout: 120 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				rc.mu.Lock()
				rc.st.Conns++
				rc.mu.Unlock()
			}
		}}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "receiver:", err)
		os.Exit(1)
	}
}

func (rc *receiver) reset() {
	rc.mu.Lock()
	rc.st = recvStats{Statuses: map[string]int64{}}
	rc.ids = make(map[string]struct{}, 1<<16)
	rc.events = nil
	rc.mu.Unlock()
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// readBody reads r's body into a pooled buffer.
func readBody(r io.Reader) *[]byte {
	bp := bufPool.Get().(*[]byte)
	b := (*bp)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			break
		}
	}
	*bp = b
	return bp
}

// deliveryID reads id=… from an X-AssetPay-Signature value.
func deliveryID(h string) string {
	for _, p := range strings.Split(h, ",") {
		if id, ok := strings.CutPrefix(strings.TrimSpace(p), "id="); ok {
			return id
		}
	}
	return ""
}

var answerBody = []byte("{}")

// answer writes a complete 200 {} and flushes it to the socket, so the
// time taken after it is when the merchant's answer left.
func answer(w http.ResponseWriter) int64 {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(answerBody)
	_ = http.NewResponseController(w).Flush()
	return time.Now().UnixNano()
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrive := time.Now().UnixNano()
	switch r.URL.Path {
	case "/stats":
		rc.mu.Lock()
		st := rc.st
		st.Distinct = int64(len(rc.ids))
		b, _ := json.Marshal(st)
		rc.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
		return
	case "/reset":
		rc.reset()
		rc.mu.Lock()
		rc.prefix = r.URL.Query().Get("prefix")
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	case "/events":
		rc.mu.Lock()
		evs := rc.events
		rc.mu.Unlock()
		bw := bufio.NewWriter(w)
		enc := json.NewEncoder(bw)
		for _, e := range evs {
			_ = enc.Encode(e)
		}
		_ = bw.Flush()
		return
	case "/floor":
		bp := readBody(r.Body)
		bufPool.Put(bp)
		ans := answer(w)
		rc.mu.Lock()
		rc.st.Floor++
		rc.events = append(rc.events, event{Kind: "floor", Ext: r.Header.Get("X-Bench-Seq"), Arrive: arrive, Answer: ans})
		rc.mu.Unlock()
		return
	}
	bp := readBody(r.Body)
	defer bufPool.Put(bp)
	hdr := r.Header.Get(sign.AssetPayHeader)
	if hdr == "" {
		rc.mu.Lock()
		rc.st.Unsigned++
		rc.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		return
	}
	id := deliveryID(hdr)
	if !rc.record {
		done := time.Now().UnixNano()
		rc.mu.Lock()
		rc.count(id, done)
		rc.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		return
	}
	var body struct {
		Payload struct {
			Trade struct {
				ID         string  `json:"id"`
				Type       string  `json:"type"`
				Status     string  `json:"status"`
				ExternalID *string `json:"externalId"`
			} `json:"trade"`
			Event string `json:"event"`
		} `json:"payload"`
	}
	_ = json.Unmarshal(*bp, &body)
	t := body.Payload.Trade
	e := event{Kind: "status", Trade: t.ID, Event: body.Payload.Event, Arrive: arrive}
	if t.ExternalID != nil {
		e.Ext = *t.ExternalID
	}
	if t.Type == "WITHDRAW" && t.Status == "INITIATED" {
		e.Kind = "approval"
		e.Answer = answer(w)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	rc.mu.Lock()
	rc.count(id, arrive)
	switch {
	case !strings.HasPrefix(e.Ext, rc.prefix):
	case e.Kind == "approval":
		rc.st.Approvals++
	default:
		rc.st.Statuses[e.Event]++
	}
	rc.events = append(rc.events, e)
	rc.mu.Unlock()
}

// count records one signed receipt; rc.mu is held.
func (rc *receiver) count(id string, at int64) {
	rc.st.Count++
	if rc.st.First == 0 || at < rc.st.First {
		rc.st.First = at
	}
	if at > rc.st.Last {
		rc.st.Last = at
	}
	if _, dup := rc.ids[id]; dup {
		rc.st.Dups++
		return
	}
	rc.ids[id] = struct{}{}
}

// ------------------------------------------------------------ parent side

// recvProc is a running receiver as the parent sees it.
type recvProc struct {
	pid  int
	base string // http://127.0.0.1:port
	c    *http.Client
}

func startReceiver(p *procs, record bool, stderr io.Writer) (*recvProc, io.Closer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	args := []string{"receiver"}
	if record {
		args = append(args, "-record")
	}
	pr, pw := io.Pipe()
	stdin, err := newHeldStdin()
	if err != nil {
		return nil, nil, err
	}
	cmd, err := p.start(exe, args, cleanEnv(), stdin.r, pw, stderr)
	if err != nil {
		stdin.Close()
		return nil, nil, err
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case l, ok := <-line:
		addr, found := strings.CutPrefix(l, "listening ")
		if !ok || !found {
			stdin.Close()
			p.stop(cmd)
			return nil, nil, fmt.Errorf("receiver did not start: %q", l)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 16
		return &recvProc{pid: cmd.Process.Pid, base: "http://" + addr, c: &http.Client{Transport: tr, Timeout: 30 * time.Second}},
			closerFunc(func() error { stdin.Close(); p.stop(cmd); return nil }), nil
	case <-time.After(15 * time.Second):
		stdin.Close()
		p.stop(cmd)
		return nil, nil, fmt.Errorf("receiver did not start within 15 s")
	}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// heldStdin is a pipe whose read end is a child's stdin; the child exits
// when the write end closes (with this process, at the latest).
type heldStdin struct{ r, w *os.File }

func newHeldStdin() (*heldStdin, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	return &heldStdin{r: r, w: w}, nil
}

func (h *heldStdin) Close() { h.r.Close(); h.w.Close() }

func (rp *recvProc) stats() (recvStats, error) {
	var st recvStats
	resp, err := rp.c.Get(rp.base + "/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

func (rp *recvProc) reset() error { return rp.resetPrefix("") }

// resetPrefix clears the receiver; with -record, its approval and status
// counts then include only trades whose externalId starts with prefix.
func (rp *recvProc) resetPrefix(prefix string) error {
	resp, err := rp.c.Post(rp.base+"/reset?prefix="+url.QueryEscape(prefix), "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func (rp *recvProc) events() ([]event, error) {
	resp, err := rp.c.Get(rp.base + "/events")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []event
	dec := json.NewDecoder(resp.Body)
	for {
		var e event
		if err := dec.Decode(&e); err == io.EOF {
			return out, nil
		} else if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}

// waitCount polls until the receiver counted at least n signed calls or
// the deadline passes.
func (rp *recvProc) waitCount(n int64, deadline time.Time) (recvStats, error) {
	for {
		st, err := rp.stats()
		if err != nil {
			return st, err
		}
		if st.Count >= n {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("receiver counted %d of %d callbacks by the deadline", st.Count, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func unixNano(ns int64) time.Time { return time.Unix(0, ns) }

func itoa(i int) string { return strconv.Itoa(i) }
