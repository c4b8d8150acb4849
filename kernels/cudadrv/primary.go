//go:build cgo

package cudadrv

import (
	"fmt"
	"sync"

	"github.com/rbmgpu/rbmgpu/kernels"
)

// primary is a device's primary context as this process holds it: retained
// once (cuDevicePrimaryCtxRetain) when the first Driver of the device opens,
// with the embedded PTX modules loaded into it, and released
// (cuDevicePrimaryCtxRelease) when the last one closes. Drivers share it, so
// a process makes one context per device whatever the number of Drivers,
// which a GPU in EXCLUSIVE_PROCESS compute mode requires, and JIT-compiles
// the PTX once.
type primary struct {
	ordinal int
	cdev    int // the CUdevice handle
	dev     Device
	ctx     context
	refs    int                 // open Drivers; guarded by primaries.mu
	mods    []module            // immutable while refs > 0
	fns     map[string]function // launch-table kernel → entry point; immutable while refs > 0
}

// primaries holds the retained primary contexts by device ordinal.
var primaries = struct {
	mu sync.Mutex
	m  map[int]*primary
}{m: map[int]*primary{}}

// retain returns the primary context of device ordinal with its modules,
// retaining it and loading the modules if no Driver holds it, and counts
// one more holder.
func retain(ordinal, cdev int, dev Device) (*primary, error) {
	primaries.mu.Lock()
	defer primaries.mu.Unlock()
	if p := primaries.m[ordinal]; p != nil {
		p.refs++
		return p, nil
	}
	ctx, err := retainPrimary(cdev)
	if err != nil {
		return nil, fmt.Errorf("cudadrv: device %d (%s): %w", ordinal, dev.Name, err)
	}
	p := &primary{ordinal: ordinal, cdev: cdev, dev: dev, ctx: ctx, refs: 1, fns: map[string]function{}}
	if err := p.load(); err != nil {
		if uerr := p.unload(); uerr != nil {
			err = fmt.Errorf("%w; %w", err, uerr)
		}
		return nil, err
	}
	primaries.m[ordinal] = p
	return p, nil
}

// release counts one holder less; the last unloads the modules and
// releases the primary context. It returns the first error.
func (p *primary) release() error {
	primaries.mu.Lock()
	defer primaries.mu.Unlock()
	if p.refs <= 0 {
		return fmt.Errorf("cudadrv: device %d: primary context released more often than retained", p.ordinal)
	}
	if p.refs--; p.refs > 0 {
		return nil
	}
	delete(primaries.m, p.ordinal)
	return p.unload()
}

// unload unloads the modules and releases the context; it returns the
// first error.
func (p *primary) unload() error {
	var first error
	for _, m := range p.mods {
		if err := p.ctx.unload(m); err != nil && first == nil {
			first = err
		}
	}
	p.mods, p.fns = nil, nil
	if err := releasePrimary(p.cdev); err != nil && first == nil {
		first = err
	}
	if first != nil {
		return fmt.Errorf("cudadrv: device %d: %w", p.ordinal, first)
	}
	return nil
}

// load loads the embedded PTX and looks up every launch-table kernel.
func (p *primary) load() error {
	for _, name := range kernels.PTXModules() {
		src, err := kernels.PTX(name)
		if err != nil {
			return err
		}
		mod, err := p.ctx.loadModule(src)
		if err != nil {
			v, _ := driverVersion()
			return fmt.Errorf("cudadrv: loading PTX module %s on device %d (%s, sm_%d%d, driver CUDA %d.%d): %w",
				name, p.dev.Ordinal, p.dev.Name, p.dev.Major, p.dev.Minor, v/1000, v%1000/10, err)
		}
		p.mods = append(p.mods, mod)
	}
	for _, k := range kernels.Kernels {
		i := indexOf(kernels.PTXModules(), k.Module)
		if i < 0 {
			return fmt.Errorf("cudadrv: kernel %s: no PTX module %s", k.Name, k.Module)
		}
		fn, err := p.ctx.function(p.mods[i], k.Name)
		if err != nil {
			return fmt.Errorf("cudadrv: kernel %s in PTX module %s: %w", k.Name, k.Module, err)
		}
		p.fns[k.Name] = fn
	}
	return nil
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
