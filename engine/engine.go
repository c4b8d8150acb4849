// Package engine trains energy-based models: the Trainer (one epoch loop
// for every model kind and executor: data order, schedules, momentum
// warm-up, chunked uploads, cancellation with a resumable Snapshot,
// metrics, callbacks) and the model kinds it trains, each in one file
// that registers itself (kind_rbm.go, kind_grbm.go, kind_bm.go; see Kind).
// Checkpoints (SaveSnapshot, LoadSnapshot) store any kind's Snapshot;
// engine/dbn (DBN pretraining and fine-tuning) and engine/ais (AIS on any
// executor) build on the Trainer and the Backend interface.
//
// Step graphs come from package graph; the two executors that run them
// are engine/exec/tape (the reference) and engine/exec/device (the lowered
// plan of engine/lower on any kernels.Driver: CUDA, the emulator, the host
// kernels). The engine knows tensors by name only, and no executor knows a
// kind.
package engine
