// Package gpu holds the GPU kit (build.sh, run.sh, table.py: see
// bench/README.md) and, in kit_test.go, a test of run.sh's call sequence on
// a machine without a GPU: the fake libcuda.so.1 of kernels/cudadrv, a fake
// nvidia-smi, stand-ins for the test binaries and the PyTorch peer.
package gpu
