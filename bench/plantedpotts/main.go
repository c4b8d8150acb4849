// Command plantedpotts writes an alignment sampled from a planted sparse
// Potts model (models.NewPlantedPotts: a ring through the sites in random
// order plus random chords, couplings on those contacts only) and the
// planted contacts, for measuring how well `rbmgpu train --model potts`
// and `rbmgpu contacts` recover a known contact graph
// (bench/potts_planted.sh).
//
// The sequences are n independent chains of the model, each started from
// uniform random states and run for -sweeps sequential Gibbs sweeps
// (models.Potts.Sample), so they are n independent draws once the chains
// have mixed. States are written with the letters of -alphabet (protein:
// the gap, then the 20 amino acids, q = 21; rna: "-ACGU", q = 5; dna), so
// the file reads back with the same --alphabet of rbmgpu; a q smaller
// than the alphabet uses its first q letters (states the rest never take).
//
//	go run ./bench/plantedpotts -L 50 -q 5 -alphabet rna -chords 50 -coupling 1.5 -n 2000 -fasta planted.fasta -contacts planted.tsv
//
// The contacts file has one line "i<TAB>j<TAB>score" per planted contact,
// 1-based sites i < j, score the Frobenius norm of the planted block,
// strongest first.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/rbmgpu/rbmgpu/engine/align"
	"github.com/rbmgpu/rbmgpu/models"
)

func main() {
	var (
		c            models.PlantedConfig
		n, sweeps    int
		fasta, conts string
		alphabet     string
	)
	flag.IntVar(&c.L, "L", 50, "sites")
	flag.IntVar(&c.Q, "q", 21, "states per site (at most the alphabet's size)")
	flag.StringVar(&alphabet, "alphabet", "protein", "letters of the states: protein, rna or dna")
	flag.IntVar(&c.Chords, "chords", 25, "random chords added to the ring of contacts")
	flag.Float64Var(&c.Coupling, "coupling", 0.5, "standard deviation of J_ij(a,b) on a contact")
	flag.Float64Var(&c.Field, "field", 0.5, "standard deviation of h_i(a)")
	flag.Uint64Var(&c.Seed, "seed", 1, "seed of the model (the chains use seed+1)")
	flag.IntVar(&n, "n", 2000, "sequences (independent chains)")
	flag.IntVar(&sweeps, "sweeps", 200, "Gibbs sweeps per chain")
	flag.StringVar(&fasta, "fasta", "planted.fasta", "alignment output (FASTA)")
	flag.StringVar(&conts, "contacts", "planted.tsv", "planted contacts output (TSV)")
	flag.Parse()
	if err := run(c, alphabet, n, sweeps, fasta, conts); err != nil {
		fmt.Fprintln(os.Stderr, "plantedpotts:", err)
		os.Exit(1)
	}
}

func run(c models.PlantedConfig, alphabet string, n, sweeps int, fasta, conts string) error {
	a, err := align.ParseAlphabet(alphabet)
	if err != nil {
		return err
	}
	letters := a.Letters
	if c.Q > len(letters) {
		return fmt.Errorf("-q %d: at most %d states (alphabet %s)", c.Q, len(letters), a)
	}
	start := time.Now()
	m, contacts, err := models.NewPlantedPotts(c)
	if err != nil {
		return err
	}
	seqs, err := m.Sample(n, sweeps, c.Seed+1)
	if err != nil {
		return err
	}
	names := make([]string, n)
	for k := range names {
		names[k] = fmt.Sprintf("planted_%d", k+1)
	}
	msa := &align.MSA{Name: fasta, Alphabet: &align.Alphabet{Name: "planted", Letters: letters[:c.Q]}, Names: names, L: c.L, Seqs: seqs}
	if err := writeFile(fasta, func(w *bufio.Writer) error { return align.WriteFASTA(w, msa) }); err != nil {
		return err
	}
	if err := writeFile(conts, func(w *bufio.Writer) error {
		for _, ct := range contacts {
			if _, err := fmt.Fprintf(w, "%d\t%d\t%.6g\n", ct.I+1, ct.J+1, ct.Score); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	fmt.Printf("plantedpotts: L=%d q=%d (%s), %d contacts (ring + %d chords), coupling sd %g, field sd %g, seed %d; %d sequences × %d sweeps in %.1f s → %s, %s\n",
		c.L, c.Q, letters[:c.Q], len(contacts), c.Chords, c.Coupling, c.Field, c.Seed, n, sweeps, time.Since(start).Seconds(), fasta, conts)
	return nil
}

func writeFile(path string, write func(*bufio.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := write(w); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
