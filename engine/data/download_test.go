package data

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// payload returns n pseudo-random bytes and their RemoteFile pin.
func payload(name string, n int) ([]byte, RemoteFile) {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	sum := sha256.Sum256(b)
	return b, RemoteFile{Name: name, Size: int64(n), SHA256: hex.EncodeToString(sum[:])}
}

// fileServer is a loopback server whose behaviour for each request is
// chosen by a per-request function; it records the Range headers it saw.
type fileServer struct {
	*httptest.Server
	mu     sync.Mutex
	ranges []string
	n      int
}

// newFileServer serves handle(i, w, r) for the i-th request (from 0).
func newFileServer(t *testing.T, handle func(i int, w http.ResponseWriter, r *http.Request)) *fileServer {
	fs := &fileServer{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		i := fs.n
		fs.n++
		fs.ranges = append(fs.ranges, r.Header.Get("Range"))
		fs.mu.Unlock()
		handle(i, w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fileServer) requests() (int, []string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.n, append([]string(nil), fs.ranges...)
}

// serve answers with the whole file or, for a Range request, its tail.
func serve(w http.ResponseWriter, r *http.Request, b []byte) {
	http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(b))
}

// cut declares the whole length but sends only the first k bytes, then
// ends the handler: the server closes the connection short.
func cut(w http.ResponseWriter, b []byte, k int) {
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b[:k])
}

// quickFetcher retries fast so the tests take milliseconds.
func quickFetcher() *Fetcher {
	return &Fetcher{Attempts: 3, StallTimeout: 300 * time.Millisecond, Backoff: 5 * time.Millisecond}
}

// checkDone checks dir holds exactly the verified file and no .part.
func checkDone(t *testing.T, dir, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes differ from the %d served", path, len(got), len(want))
	}
	checkNoPart(t, dir)
}

func checkNoPart(t *testing.T, dir string) {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.part"))
	if len(m) != 0 {
		t.Errorf("left behind %v", m)
	}
}

// checkAbsent checks that no data file named f.Name exists in dir.
func checkAbsent(t *testing.T, dir string, f RemoteFile) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, f.Name)); err == nil {
		t.Errorf("%s exists after a failed download", f.Name)
	}
}

func TestFetchCorrect(t *testing.T) {
	b, f := payload("a.gz", 100_000)
	srv := newFileServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { serve(w, r, b) })
	dir := filepath.Join(t.TempDir(), "cache", "set") // created by Fetch
	p, err := quickFetcher().Fetch(context.Background(), dir, []string{srv.URL + "/"}, f)
	if err != nil {
		t.Fatal(err)
	}
	checkDone(t, dir, p, b)
	// A verified file is not downloaded again.
	if _, err := quickFetcher().Fetch(context.Background(), dir, []string{srv.URL + "/"}, f); err != nil {
		t.Fatal(err)
	}
	if n, _ := srv.requests(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// A response cut short keeps the bytes it brought; the next attempt asks
// for the rest with a Range request and the file completes.
func TestFetchTruncatedResumes(t *testing.T) {
	b, f := payload("a.gz", 100_000)
	srv := newFileServer(t, func(i int, w http.ResponseWriter, r *http.Request) {
		if i == 0 {
			cut(w, b, 40_000)
			return
		}
		serve(w, r, b)
	})
	dir := t.TempDir()
	p, err := quickFetcher().Fetch(context.Background(), dir, []string{srv.URL + "/"}, f)
	if err != nil {
		t.Fatal(err)
	}
	checkDone(t, dir, p, b)
	n, ranges := srv.requests()
	if n != 2 || ranges[0] != "" || ranges[1] != "bytes=40000-" {
		t.Errorf("%d requests with Range headers %q, want 2: none, then bytes=40000-", n, ranges)
	}
}

// A server that always cuts the body short, and ignores Range: every
// attempt fails, the error is one line, no data file appears, and the
// bytes kept are only ever under the .part name.
func TestFetchAlwaysTruncated(t *testing.T) {
	b, f := payload("a.gz", 50_000)
	srv := newFileServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { cut(w, b, 20_000) })
	dir := t.TempDir()
	_, err := quickFetcher().Fetch(context.Background(), dir, []string{srv.URL + "/"}, f)
	wantErr(t, err, srv.URL+"/a.gz", "cut off at byte 20000 of 50000")
	checkAbsent(t, dir, f)
	if n, _ := srv.requests(); n != 3 {
		t.Errorf("%d requests, want 3 attempts", n)
	}
	if findFile(dir, f) != "" {
		t.Error("findFile takes a partial download for data")
	}
}

// A body of the right length with a flipped byte fails the SHA-256 check:
// the error names the URL and both digests, and nothing is left behind.
func TestFetchCorrupt(t *testing.T) {
	b, f := payload("a.gz", 30_000)
	bad := bytes.Clone(b)
	bad[12345] ^= 0x40
	srv := newFileServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { serve(w, r, bad) })
	dir := t.TempDir()
	_, err := quickFetcher().Fetch(context.Background(), dir, []string{srv.URL + "/"}, f)
	wantErr(t, err, srv.URL+"/a.gz", "SHA-256", f.SHA256, "discarded")
	checkAbsent(t, dir, f)
	checkNoPart(t, dir)
	// Longer than pinned: discarded too.
	srv2 := newFileServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { serve(w, r, append(bytes.Clone(b), 0)) })
	_, err = quickFetcher().Fetch(context.Background(), dir, []string{srv2.URL + "/"}, f)
	wantErr(t, err, "longer than the expected 30000 bytes")
	checkAbsent(t, dir, f)
	checkNoPart(t, dir)
}

// Bytes kept from an earlier run that are wrong make the resumed file fail
// its digest; the download then starts over and succeeds.
func TestFetchBadPartStartsOver(t *testing.T) {
	b, f := payload("a.gz", 30_000)
	dir := t.TempDir()
	writeFile(t, dir, "a.gz.part", bytes.Repeat([]byte{0xEE}, 10_000))
	srv := newFileServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { serve(w, r, b) })
	p, err := quickFetcher().Fetch(context.Background(), dir, []string{srv.URL + "/"}, f)
	if err != nil {
		t.Fatal(err)
	}
	checkDone(t, dir, p, b)
	if _, ranges := srv.requests(); len(ranges) != 2 || ranges[0] != "bytes=10000-" || ranges[1] != "" {
		t.Errorf("Range headers %q, want bytes=10000- then none", ranges)
	}
}

// A slow response that stops sending is abandoned after the stall timeout
// and resumed with Range; so is one whose connection is dropped.
func TestFetchStallAndDropResume(t *testing.T) {
	b, f := payload("a.gz", 200_000)
	for _, mode := range []string{"stall", "drop"} {
		t.Run(mode, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			srv := newFileServer(t, func(i int, w http.ResponseWriter, r *http.Request) {
				if i > 0 {
					serve(w, r, b)
					return
				}
				w.Header().Set("Content-Length", fmt.Sprint(len(b)))
				w.WriteHeader(http.StatusOK)
				for k := 0; k < 5; k++ { // slow: 5 × 10 kB, 10 ms apart
					w.Write(b[k*10_000 : (k+1)*10_000])
					w.(http.Flusher).Flush()
					time.Sleep(10 * time.Millisecond)
				}
				if mode == "stall" {
					select { // send nothing more until the client gives up
					case <-r.Context().Done():
					case <-release:
					}
					return
				}
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
			})
			dir := t.TempDir()
			start := time.Now()
			p, err := quickFetcher().Fetch(context.Background(), dir, []string{srv.URL + "/"}, f)
			if err != nil {
				t.Fatal(err)
			}
			checkDone(t, dir, p, b)
			n, ranges := srv.requests()
			if n != 2 || ranges[1] != "bytes=50000-" {
				t.Errorf("%d requests with Range headers %q, want a second one with bytes=50000-", n, ranges)
			}
			t.Logf("%s: resumed at byte 50000, done in %v", mode, time.Since(start).Round(time.Millisecond))
		})
	}
}

// 404 is not retried at the same URL; the next base URL is tried, and
// when every one fails the error names the last URL and its status.
func TestFetch404AndFallback(t *testing.T) {
	b, f := payload("a.gz", 10_000)
	missing := newFileServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	dir := t.TempDir()
	_, err := quickFetcher().Fetch(context.Background(), dir, []string{missing.URL + "/x/"}, f)
	wantErr(t, err, missing.URL+"/x/a.gz", "HTTP 404 Not Found")
	checkAbsent(t, dir, f)
	checkNoPart(t, dir)
	if n, _ := missing.requests(); n != 1 {
		t.Errorf("%d requests for a 404, want 1 (no retries)", n)
	}
	good := newFileServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { serve(w, r, b) })
	p, err := quickFetcher().Fetch(context.Background(), dir, []string{missing.URL + "/x/", good.URL + "/"}, f)
	if err != nil {
		t.Fatal(err)
	}
	checkDone(t, dir, p, b)
}

// offlineURL returns the base URL of a loopback port nothing listens on.
func offlineURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/"
}

// With no server to reach the error is immediate and one line.
func TestFetchOffline(t *testing.T) {
	_, f := payload("a.gz", 1000)
	dir := t.TempDir()
	u := offlineURL(t)
	start := time.Now()
	_, err := quickFetcher().Fetch(context.Background(), dir, []string{u}, f)
	wantErr(t, err, u+"a.gz", "connection refused")
	if strings.Count(err.Error(), u) != 1 {
		t.Errorf("error names the URL more than once: %q", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("offline failure took %v", d)
	}
	checkAbsent(t, dir, f)
	checkNoPart(t, dir)
}

func TestContentRangeStart(t *testing.T) {
	for h, want := range map[string]int64{"bytes 100-199/200": 100, "bytes 0-9/10": 0, "bytes */10": -1, "": -1, "items 1-2/3": -1} {
		got, ok := contentRangeStart(h)
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("contentRangeStart(%q) = %d, want %d", h, got, want)
		}
	}
}
