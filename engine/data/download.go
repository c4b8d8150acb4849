package data

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RemoteFile is a file published at one or more base URLs and pinned by its
// exact size and SHA-256, so any mirror can serve it and no mirror can
// change it.
type RemoteFile struct {
	Name   string // file name, appended to a base URL and used on disk
	Size   int64  // exact size in bytes
	SHA256 string // lower-case hex digest of the whole file
}

// Fetcher downloads RemoteFiles into a directory:
//
//   - resumable: bytes go to <dir>/<name>.part; a later attempt (in this call
//     or a later run) asks for the rest with an HTTP Range request and
//     starts over only when the server ignores it;
//   - verified: the whole .part file's size and SHA-256 must match the pins;
//   - atomic: the .part file is synced and renamed to <dir>/<name> only
//     after it matches, so <dir>/<name> is complete or absent, never half.
//
// A body that breaks off, stalls for StallTimeout or a 5xx status is
// retried (Attempts times per URL, resuming); a 4xx status, a connection
// that cannot be made or bytes that do not match move on to the next URL.
// The zero value is ready to use.
type Fetcher struct {
	Client       *http.Client  // nil: a client with 30 s connect and header timeouts
	Attempts     int           // tries per URL; 0 means 4
	StallTimeout time.Duration // give up on a body that sends nothing for this long; 0 means 30 s
	Backoff      time.Duration // pause before a retry, doubled each time; 0 means 500 ms
}

// defaultFetcher serves Fetch and named data sets.
var defaultFetcher = &Fetcher{}

// Fetch downloads f into dir with the default Fetcher, trying the base URLs
// in order, and returns the path of the verified file. See Fetcher.
func Fetch(ctx context.Context, dir string, urls []string, f RemoteFile) (string, error) {
	return defaultFetcher.Fetch(ctx, dir, urls, f)
}

var (
	defaultClientOnce sync.Once
	defaultClient     *http.Client
)

func (fx *Fetcher) client() *http.Client {
	if fx.Client != nil {
		return fx.Client
	}
	defaultClientOnce.Do(func() {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		tr.ResponseHeaderTimeout = 30 * time.Second
		tr.DisableCompression = true // the files are gzip already; keep bytes and offsets exact
		defaultClient = &http.Client{Transport: tr}
	})
	return defaultClient
}

func (fx *Fetcher) attempts() int {
	if fx.Attempts > 0 {
		return fx.Attempts
	}
	return 4
}

func (fx *Fetcher) stall() time.Duration {
	if fx.StallTimeout > 0 {
		return fx.StallTimeout
	}
	return 30 * time.Second
}

func (fx *Fetcher) backoff(attempt int) time.Duration {
	b := fx.Backoff
	if b <= 0 {
		b = 500 * time.Millisecond
	}
	return b << min(attempt-1, 6)
}

// fetchErr classifies a failed attempt.
type fetchErr struct {
	msg   string
	retry bool // worth another attempt at the same URL (resuming)
}

func (e *fetchErr) Error() string { return e.msg }

// Fetch downloads f into dir (created if needed) from the first base URL
// that delivers it and returns <dir>/<f.Name>. A verified file already
// there is returned as is. The error is one line naming the URL and what
// went wrong; the last URL's error is reported when all fail.
func (fx *Fetcher) Fetch(ctx context.Context, dir string, urls []string, f RemoteFile) (string, error) {
	final := filepath.Join(dir, f.Name)
	if ok, _ := verifyFile(final, f); ok {
		return final, nil
	}
	if len(urls) == 0 {
		return "", errorf(f.Name, "no URL to download from")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", wrapErr(dir, err)
	}
	part := final + ".part"
	var last error
	for _, base := range urls {
		u := base + f.Name
		for attempt := 1; attempt <= fx.attempts(); attempt++ {
			if attempt > 1 {
				select {
				case <-ctx.Done():
					return "", errorf(u, "%v", ctx.Err())
				case <-time.After(fx.backoff(attempt - 1)):
				}
			}
			resumed, err := fx.get(ctx, u, part, f)
			if err != nil {
				last = err
				var fe *fetchErr
				if errors.As(err, &fe) {
					last = &Error{File: u, Msg: fe.msg, Err: err}
				}
				if ctx.Err() != nil {
					return "", errorf(u, "%v", ctx.Err())
				}
				if errors.As(err, &fe) && fe.retry {
					continue
				}
				break // next URL
			}
			ok, sum := verifyFile(part, f)
			if ok {
				if err := os.Rename(part, final); err != nil {
					return "", wrapErr(final, err)
				}
				syncDir(dir)
				return final, nil
			}
			os.Remove(part)
			last = errorf(u, "SHA-256 %s, want %s; the download was discarded", sum, f.SHA256)
			if !resumed {
				break // a whole file from this URL is wrong: try the next
			}
			// The mismatch may come from bytes kept from an earlier
			// attempt; the .part is gone, so the next attempt starts over.
		}
	}
	return "", last
}

// get brings part up to f.Size bytes from url u, resuming from its current
// length with a Range request. It reports whether it resumed (kept bytes
// from before). The bytes are synced to disk before it returns.
func (fx *Fetcher) get(ctx context.Context, u, part string, f RemoteFile) (resumed bool, err error) {
	pf, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return false, wrapErr(part, err)
	}
	defer func() {
		if serr := pf.Sync(); serr != nil && err == nil {
			err = wrapErr(part, serr)
		}
		fi, serr := pf.Stat()
		if cerr := pf.Close(); cerr != nil && err == nil {
			err = wrapErr(part, cerr)
		}
		if serr == nil && fi.Size() == 0 {
			os.Remove(part) // nothing to resume: leave no empty .part behind
		}
	}()
	fi, err := pf.Stat()
	if err != nil {
		return false, wrapErr(part, err)
	}
	off := fi.Size()
	if off > f.Size {
		if err := pf.Truncate(0); err != nil {
			return false, wrapErr(part, err)
		}
		off = 0
	}
	if off == f.Size {
		return true, nil // complete from an earlier run; the caller verifies it
	}

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return false, errorf(u, "%v", err)
	}
	if off > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-")
	}
	resp, err := fx.client().Do(req)
	if err != nil {
		// No connection or no response headers: offline, a bad host or a
		// dead server. Not retried here; the next URL may work.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is named by the caller
		}
		return false, &fetchErr{msg: oneLine(err.Error())}
	}
	defer resp.Body.Close()

	switch {
	case resp.StatusCode == http.StatusOK:
		off = 0 // the server sent the whole file
	case resp.StatusCode == http.StatusPartialContent:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != off {
			pf.Truncate(0)
			return false, &fetchErr{msg: fmt.Sprintf("Content-Range %q does not start at byte %d; starting over", resp.Header.Get("Content-Range"), off), retry: true}
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		pf.Truncate(0)
		return false, &fetchErr{msg: fmt.Sprintf("HTTP %s for bytes %d-; starting over", resp.Status, off), retry: true}
	case resp.StatusCode >= 500:
		return false, &fetchErr{msg: fmt.Sprintf("HTTP %s", resp.Status), retry: true}
	default:
		return false, &fetchErr{msg: fmt.Sprintf("HTTP %s", resp.Status)}
	}
	if off == 0 {
		if err := pf.Truncate(0); err != nil {
			return false, wrapErr(part, err)
		}
	}
	if _, err := pf.Seek(off, io.SeekStart); err != nil {
		return false, wrapErr(part, err)
	}

	// A watchdog cancels the request when no byte arrives for the stall
	// timeout; every read that delivers bytes pushes it back.
	stall := fx.stall()
	var stalled atomic.Bool
	timer := time.AfterFunc(stall, func() {
		stalled.Store(true)
		cancel()
	})
	defer timer.Stop()
	body := readerFunc(func(p []byte) (int, error) {
		n, err := resp.Body.Read(p)
		if n > 0 {
			timer.Reset(stall)
		}
		return n, err
	})
	// Read one byte more than wanted so an over-long body is noticed.
	n, cerr := io.Copy(pf, io.LimitReader(body, f.Size-off+1))
	got := off + n
	switch {
	case got > f.Size:
		pf.Truncate(0)
		return false, &fetchErr{msg: fmt.Sprintf("longer than the expected %d bytes; discarded", f.Size)}
	case cerr != nil:
		timer.Stop()
		var pe *os.PathError
		if errors.As(cerr, &pe) {
			return false, wrapErr(part, cerr) // a local write error: disk full, ...
		}
		why := oneLine(cerr.Error())
		if stalled.Load() {
			why = fmt.Sprintf("no data for %v", stall)
		}
		return false, &fetchErr{msg: fmt.Sprintf("cut off at byte %d of %d (%s); kept for resuming", got, f.Size, why), retry: true}
	case got < f.Size:
		return false, &fetchErr{msg: fmt.Sprintf("cut off at byte %d of %d; kept for resuming", got, f.Size), retry: true}
	}
	return off > 0, nil
}

// readerFunc adapts a function to io.Reader.
type readerFunc func([]byte) (int, error)

func (r readerFunc) Read(p []byte) (int, error) { return r(p) }

// contentRangeStart parses the first byte position of "bytes START-END/TOTAL".
func contentRangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, false
	}
	s, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return v, err == nil && v >= 0
}

// verifyFile reports whether path is a regular file of f's size and
// SHA-256; sum is the digest it has ("" when unreadable or the wrong size).
func verifyFile(path string, f RemoteFile) (ok bool, sum string) {
	fl, err := os.Open(path)
	if err != nil {
		return false, ""
	}
	defer fl.Close()
	fi, err := fl.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false, ""
	}
	h := sha256.New()
	n, err := io.Copy(h, fl)
	if err != nil {
		return false, ""
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if n != f.Size {
		return false, fmt.Sprintf("%s (%d bytes, want %d)", sum, n, f.Size)
	}
	return sum == strings.ToLower(f.SHA256), sum
}

// syncDir makes a rename in dir durable; errors are ignored because some
// file systems cannot sync directories and the rename itself succeeded.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
