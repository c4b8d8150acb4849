package align

import (
	"bufio"
	"fmt"
	"io"
)

// WriteFASTA writes m as FASTA: for each sequence a ">name" line and the
// sequence's letters on one line (gaps as '-'), so ReadFASTA with m's
// alphabet reads it back unchanged.
func WriteFASTA(w io.Writer, m *MSA) error {
	bw := bufio.NewWriter(w)
	line := make([]byte, m.L+1)
	line[m.L] = '\n'
	for n, name := range m.Names {
		for i, c := range m.Seq(n) {
			line[i] = m.Alphabet.Letters[c]
		}
		if _, err := fmt.Fprintf(bw, ">%s\n", name); err != nil {
			return fmt.Errorf("write FASTA: %w", err)
		}
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("write FASTA: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write FASTA: %w", err)
	}
	return nil
}
