package host

// ownGemm names the package's GEMM as built and detected.
func ownGemm() string {
	if useAsm {
		return "pure Go (AVX2/FMA assembly micro-kernel)"
	}
	return "pure Go (portable micro-kernel)"
}
