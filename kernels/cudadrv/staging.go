//go:build cgo

package cudadrv

import (
	"errors"
	"sync"
)

// Staging of host↔device copies: a few pinned host buffers, each with an
// event recorded after the last copy that used it. A copy is cut into
// pieces of at most stagePiece bytes that take the buffers in turn.
// Host→device: the piece is copied into the buffer (after waiting for its
// event, so the buffer's previous copy is done) and an asynchronous copy
// from it is queued, so the caller's slice is free on return and the host
// does not wait for the stream unless every buffer is still in flight.
// Device→host: the asynchronous copies are queued, and each piece is
// copied out once its event completes.
const stageBuffers = 4

// stagePiece is the size of a staging buffer in bytes (tests make it
// small to exercise the piecing).
var stagePiece = 8 << 20

type stageBuf struct {
	buf      []byte // pinned, stagePiece bytes; nil until first used
	ev       event
	recorded bool // ev was recorded since the buffer's last wait
}

// staging holds a Driver's staging buffers; mu serialises the copies that
// use them.
type staging struct {
	mu   sync.Mutex
	bufs [stageBuffers]stageBuf
	next int
}

// take returns the next buffer, allocated if new and idle (its last copy
// done).
func (s *staging) take(x context) (*stageBuf, error) {
	b := &s.bufs[s.next]
	s.next = (s.next + 1) % stageBuffers
	if b.buf == nil {
		ev, err := x.newEvent()
		if err != nil {
			return nil, err
		}
		buf, err := x.hostAlloc(stagePiece)
		if err != nil {
			return nil, errors.Join(err, x.eventDestroy(ev))
		}
		b.buf, b.ev = buf, ev
	}
	if err := b.wait(x); err != nil {
		return nil, err
	}
	return b, nil
}

// wait waits for the buffer's last copy.
func (b *stageBuf) wait(x context) error {
	if !b.recorded {
		return nil
	}
	if err := x.eventSync(b.ev); err != nil {
		return err
	}
	b.recorded = false
	return nil
}

// queued marks the buffer in flight: its event is recorded on st after
// the copy just queued.
func (b *stageBuf) queued(x context, st stream) error {
	if err := x.record(b.ev, st); err != nil {
		return err
	}
	b.recorded = true
	return nil
}

// htod copies src to device address dst through the staging buffers.
func (s *staging) htod(x context, st stream, dst uint64, src []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for off := 0; off < len(src); off += stagePiece {
		n := min(stagePiece, len(src)-off)
		b, err := s.take(x)
		if err != nil {
			return err
		}
		copy(b.buf, src[off:off+n])
		if err := x.htodAsync(dst+uint64(off), b.buf[:n], st); err != nil {
			return err
		}
		if err := b.queued(x, st); err != nil {
			return err
		}
	}
	return nil
}

// dtoh copies device memory at src to dst through the staging buffers,
// keeping up to stageBuffers pieces in flight.
func (s *staging) dtoh(x context, st stream, dst []byte, src uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	type piece struct {
		b        *stageBuf
		off, len int
	}
	var inflight []piece
	// drain copies out the oldest piece once its copy is done.
	drain := func() error {
		p := inflight[0]
		inflight = inflight[1:]
		if err := p.b.wait(x); err != nil {
			return err
		}
		copy(dst[p.off:p.off+p.len], p.b.buf[:p.len])
		return nil
	}
	for off := 0; off < len(dst); off += stagePiece {
		if len(inflight) == stageBuffers {
			if err := drain(); err != nil {
				return err
			}
		}
		n := min(stagePiece, len(dst)-off)
		b, err := s.take(x)
		if err != nil {
			return err
		}
		if err := x.dtohAsync(b.buf[:n], src+uint64(off), st); err != nil {
			return err
		}
		if err := b.queued(x, st); err != nil {
			return err
		}
		inflight = append(inflight, piece{b, off, n})
	}
	for len(inflight) > 0 {
		if err := drain(); err != nil {
			return err
		}
	}
	return nil
}

// free waits for and releases the staging buffers; the stream has been
// synchronised.
func (s *staging) free(x context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for i := range s.bufs {
		b := &s.bufs[i]
		if b.buf == nil {
			continue
		}
		errs = append(errs, b.wait(x), x.hostFree(b.buf), x.eventDestroy(b.ev))
		*b = stageBuf{}
	}
	return errors.Join(errs...)
}
