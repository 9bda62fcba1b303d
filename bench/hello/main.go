// Command hello is the floor of jeton's whole-server load benchmarks: a
// plain net/http server answering every request with a small JSON body.
// bench/run.sh measures it with the same load generator, on the same
// machine, in the same run as jeton, and reports jeton's figures as
// ratios against it.
//
// With -body-size N the body is padded to N bytes (still one JSON
// object), so the floor can also be measured with a response as large as
// the jeton route's.
//
// It logs "hello listening on ADDR" on stderr once it accepts
// connections; with -addr 127.0.0.1:0 ADDR names the port it picked.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
)

const (
	head = `{"success":true,"data":{"message":"hello, world"`
	tail = "}}\n"
)

// makeBody returns the JSON body, padded with a "pad" member to size
// bytes when size is larger than the plain body.
func makeBody(size int) []byte {
	plain := head + tail
	const padMember = `,"pad":""`
	if size < len(plain)+len(padMember) {
		return []byte(plain)
	}
	pad := strings.Repeat("x", size-len(plain)-len(padMember))
	return []byte(head + `,"pad":"` + pad + `"` + tail)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to listen on")
	size := flag.Int("body-size", 0, "pad the JSON body to this many bytes (0: the plain body)")
	flag.Parse()
	body := makeBody(*size)
	clen := strconv.Itoa(len(body))
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Content-Length", clen)
		_, _ = w.Write(body)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("hello listening on %s (body %d bytes)", ln.Addr(), len(body))
	log.Fatal(http.Serve(ln, mux))
}
