package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

type pflagFlag = pflag.Flag

// progress shows training progress on stderr: a redrawn bar with samples/s
// and ETA on a terminal, a plain line every 10 s otherwise (logs, CI).
type progress struct {
	w        io.Writer
	tty      bool
	off      bool
	epochs   int
	start    time.Time // of the current epoch
	epoch    int
	last     time.Time
	interval time.Duration
	drawn    bool
}

func newProgress(w io.Writer, quiet bool, epochs int) *progress {
	p := &progress{w: w, off: quiet, epochs: epochs, interval: 10 * time.Second}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty, p.interval = true, 100*time.Millisecond
		}
	}
	return p
}

func (p *progress) batch(epoch, done, total int) {
	if p.off {
		return
	}
	now := time.Now()
	if epoch != p.epoch {
		p.epoch, p.start, p.last = epoch, now, now
		return
	}
	if now.Sub(p.last) < p.interval || done >= total {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	rate := float64(done) / el
	eta := time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
	frac := float64(done) / float64(total)
	if p.tty {
		const width = 30
		n := int(frac * width)
		fmt.Fprintf(p.w, "\repoch %d/%d [%s%s] %3.0f%%  %.0f samples/s  ETA %v ",
			epoch, p.epochs, strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac, rate, eta)
		p.drawn = true
		return
	}
	fmt.Fprintf(p.w, "epoch %d/%d: %.0f%% (%d/%d samples), %.0f samples/s, epoch ETA %v\n",
		epoch, p.epochs, 100*frac, done, total, rate, eta)
}

// clear erases the bar before a normal line is printed.
func (p *progress) clear() {
	if p.drawn {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 90))
		p.drawn = false
	}
}
