package host

// ownGemm names the package's GEMM as built and detected.
func ownGemm() string {
	if useAsm {
		return "pure Go (AVX2/FMA assembly kernels; sparse left operands skip their zeros)"
	}
	return "pure Go (portable kernels; sparse left operands skip their zeros)"
}
