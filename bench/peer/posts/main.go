// Command posts submits exactly N operations, one after another on one keep-alive connection,
// and prints `N requests in SECONDS s, RPS req/s, p50 MS ms, p99 MS ms, NON201 not 201`. wrk
// cannot stop after a count (its run always lasts -d), which is what RSS after N retained
// operations and a sequential submit latency need. Each body is a cleanup of the small
// system_traces keyspace with its own `jobs` (Daedalus refuses a submit identical to an
// unfinished operation).
//
//	posts -url http://127.0.0.22:4634 -n 1000 -offset 0
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"time"
)

func main() {
	base := flag.String("url", "", "sidecar base URL")
	n := flag.Int("n", 1000, "submits")
	offset := flag.Int("offset", 0, "first jobs value - 1")
	flag.Parse()
	client := &http.Client{Timeout: 30 * time.Second}
	lat := make([]time.Duration, 0, *n)
	not201 := 0
	start := time.Now()
	for i := 1; i <= *n; i++ {
		body := fmt.Sprintf(`{"type":"cleanup","keyspace":"system_traces","jobs":%d}`, *offset+i)
		t := time.Now()
		resp, err := client.Post(*base+"/operations", "application/json", bytes.NewBufferString(body))
		if err != nil {
			fmt.Fprintln(os.Stderr, "posts:", err)
			os.Exit(1)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t))
		if resp.StatusCode != 201 {
			not201++
		}
	}
	wall := time.Since(start)
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	fmt.Printf("%d requests in %.3f s, %.1f req/s, p50 %.3f ms, p99 %.3f ms, %d not 201\n",
		*n, wall.Seconds(), float64(*n)/wall.Seconds(), ms(0.50), ms(0.99), not201)
}
