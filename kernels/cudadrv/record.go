//go:build cgo

package cudadrv

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// Record builds a CUDA graph of launches (kernels.Recorder): one kernel
// node per launch, each depending on the one before, so the graph runs
// them in order like Launch of each in turn, and instantiates it. Every
// launch is checked as Launch checks it. The Args stay the caller's:
// Replay reads their values again.
func (d *Driver) Record(launches []kernels.LaunchSpec) (kernels.Recording, error) {
	if len(launches) == 0 {
		return nil, errors.New("cudadrv: Record of no launches")
	}
	r := &recording{d: d, specs: slices.Clone(launches), kerns: make([]kernels.Kernel, len(launches))}
	for i, l := range launches {
		k, dm, err := checkLaunch(l.Grid, l.Block, l.Args)
		if err != nil {
			return nil, fmt.Errorf("cudadrv: record launch %d: %w", i, err)
		}
		fn, ok := d.prim.fns[k.Name]
		if !ok {
			return nil, fmt.Errorf("cudadrv: record launch %d: %s not loaded", i, k.Name)
		}
		r.kerns[i] = k
		r.nodes.add(fn, dm, len(k.Args))
		marshal(r.nodes.params(i), k, l.Args)
	}
	if err := d.use(); err != nil {
		return nil, err
	}
	defer d.done()
	g, err := d.ctx.buildGraph(&r.nodes)
	if err != nil {
		return nil, fmt.Errorf("cudadrv: record %d launches on device %d: %w", len(launches), d.dev.Ordinal, err)
	}
	r.graph = g
	d.rmu.Lock()
	d.recs[r] = true
	d.rmu.Unlock()
	return r, nil
}

// recording is a Driver's kernels.Recording: an instantiated graph and the
// parameter slots its nodes hold.
type recording struct {
	d     *Driver
	specs []kernels.LaunchSpec
	kerns []kernels.Kernel

	mu      sync.Mutex // guards what follows
	nodes   graphNodes // the values last given to the graph
	graph   graph
	closed  bool
	stale   bool // an update failed: set every node at the next Replay
	changed []int
	scratch [maxParams]uint64
}

// Replay reads every launch's Args again, updates the nodes whose
// parameter values changed since the last Replay (or Record)
// (cuGraphExecKernelNodeSetParams) and launches the graph on the Driver's
// stream (cuGraphLaunch), after the work queued before it.
func (r *recording) Replay() error {
	if err := r.d.use(); err != nil {
		return err
	}
	defer r.d.done()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("cudadrv: replay of a closed recording")
	}
	r.changed = r.changed[:0]
	for i, l := range r.specs {
		k := r.kerns[i]
		now := r.scratch[:len(k.Args)]
		marshal(now, k, l.Args)
		if old := r.nodes.params(i); r.stale || !slices.Equal(now, old) {
			copy(old, now)
			r.changed = append(r.changed, i)
		}
	}
	failed, err := r.d.ctx.replayGraph(r.graph, r.d.stream, r.changed, &r.nodes)
	if err != nil {
		if failed >= 0 {
			r.stale = true
			return fmt.Errorf("cudadrv: replay: update launch %d (%s): %w", failed, r.kerns[failed].Name, err)
		}
		return fmt.Errorf("cudadrv: replay of %d launches: %w", len(r.specs), err)
	}
	r.stale = false
	return nil
}

// Close destroys the graph and its instantiation. A second Close, or one
// after the Driver's Close (which destroys open recordings), returns nil.
func (r *recording) Close() error {
	if err := r.d.use(); err != nil {
		return nil // the Driver's Close destroyed it
	}
	defer r.d.done()
	r.d.rmu.Lock()
	delete(r.d.recs, r)
	r.d.rmu.Unlock()
	return r.destroy()
}

// destroy destroys the graph once.
func (r *recording) destroy() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if err := r.d.ctx.destroyGraph(r.graph); err != nil {
		return fmt.Errorf("cudadrv: closing a recording: %w", err)
	}
	return nil
}
