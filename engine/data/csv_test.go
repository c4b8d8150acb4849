package data

import (
	"strings"
	"testing"
)

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		header int
		n, d   int
		want   []float32
	}{
		{"plain", "1,2,3\n4,5,6\n", CSVNoHeader, 2, 3, []float32{1, 2, 3, 4, 5, 6}},
		{"header", "a,b\n0.5,-1\n", CSVHasHeader, 1, 2, []float32{0.5, -1}},
		{"auto header", "x1, x2\n1e-3, 2\n", CSVHeaderAuto, 1, 2, []float32{1e-3, 2}},
		{"auto no header", "1,2\n3,4", CSVHeaderAuto, 2, 2, []float32{1, 2, 3, 4}},
		{"numeric header skipped", "1,2\n3,4\n", CSVHasHeader, 1, 2, []float32{3, 4}},
		{"crlf, blank lines, spaces, quotes, bom", "\xef\xbb\xbf 1 , \"2\"\r\n\r\n3,4\r\n", CSVNoHeader, 2, 2, []float32{1, 2, 3, 4}},
		{"single column", "7\n8\n9\n", CSVNoHeader, 3, 1, []float32{7, 8, 9}},
	}
	for _, tc := range tests {
		ds, err := ReadCSV(strings.NewReader(tc.text), "t.csv", tc.header)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if ds.N != tc.n || ds.D != tc.d || !equalF32(ds.X, tc.want) || ds.Name != "t.csv" {
			t.Errorf("%s: got %+v", tc.name, ds)
		}
	}
}

func TestReadCSVErrors(t *testing.T) {
	tests := []struct {
		name   string
		text   string
		header int
		parts  []string
	}{
		{"not a number", "1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,abc\n", CSVNoHeader, []string{`train.csv: line 3, column 5: "abc" is not a number`}},
		{"empty cell", "1,,3\n", CSVNoHeader, []string{`train.csv: line 1, column 2: "" is not a number`}},
		{"header without option", "a,b\n1,2\n", CSVNoHeader, []string{`train.csv: line 1, column 1: "a" is not a number`, "header"}},
		{"nan", "1,2\n3,NaN\n", CSVNoHeader, []string{`train.csv: line 2, column 2: "NaN" is not a finite number`}},
		{"inf", "1,2\n-inf,3\n", CSVHeaderAuto, []string{`train.csv: line 2, column 1: "-inf" is not a finite number`}},
		{"range", "1e39\n", CSVNoHeader, []string{`train.csv: line 1, column 1: "1e39" is out of float32 range`}},
		{"ragged", "1,2,3\n4,5,6\n7,8\n", CSVNoHeader, []string{"train.csv: line 3: 2 columns, want 3 as on line 1"}},
		{"ragged after header", "a,b\n1,2,3\n", CSVHeaderAuto, []string{"train.csv: line 2: 3 columns, want 2 as on line 1"}},
		{"empty", "", CSVHeaderAuto, []string{"train.csv: empty file"}},
		{"blank", "\n\n", CSVNoHeader, []string{"train.csv: empty file"}},
		{"header only", "a,b\n", CSVHeaderAuto, []string{"train.csv: no data rows after the header line"}},
		{"bad quote", "1,2\n3,4\"5\n", CSVNoHeader, []string{"train.csv: line 2, byte", "bare \" in non-quoted-field"}},
		{"bad mode", "1\n", 2, []string{"train.csv: CSV header mode 2"}},
		{"long cell clipped", "1," + strings.Repeat("z", 100) + "\n", CSVNoHeader, []string{`line 1, column 2: "zzzz`, `..." is not a number`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tc.text), "train.csv", tc.header)
			wantErr(t, err, tc.parts...)
		})
	}
}

func TestLoadCSV(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "d.csv", []byte("f1,f2\n0,1\n1,0\n0.5,0.5\n"))
	lab := writeFile(t, dir, "y.csv", []byte("label\n2\n0\n1\n"))
	ds, err := Load(p, LoadOptions{CSVHeader: CSVHeaderAuto, Labels: lab})
	if err != nil {
		t.Fatal(err)
	}
	if ds.N != 3 || ds.D != 2 || !equalInts(ds.Labels, []int{2, 0, 1}) || ds.Shape != nil {
		t.Errorf("got %+v", ds)
	}
	tsv := writeFile(t, dir, "d.tsv.gz", gz(t, []byte("1\t2\n3\t4\n")))
	ds, err = Load(tsv, LoadOptions{})
	if err != nil || !equalF32(ds.X, []float32{1, 2, 3, 4}) {
		t.Errorf("tsv.gz: %+v %v", ds, err)
	}
	wide := writeFile(t, dir, "w.csv", []byte("1,2\n3,4\n5,6\n"))
	_, err = Load(p, LoadOptions{CSVHeader: CSVHeaderAuto, Labels: wide})
	wantErr(t, err, wide+": labels CSV has 2 columns, want 1")
	few := writeFile(t, dir, "few.csv", []byte("1\n2\n"))
	_, err = Load(p, LoadOptions{CSVHeader: CSVHeaderAuto, Labels: few})
	wantErr(t, err, few+": 2 labels, but data "+p+" has 3 samples")
	_, err = Load(p, LoadOptions{})
	wantErr(t, err, p+`: line 1, column 1: "f1" is not a number`)
	empty := writeFile(t, dir, "e.csv", nil)
	_, err = Load(empty, LoadOptions{})
	wantErr(t, err, empty+": empty file")
	unk := writeFile(t, dir, "d.bin", []byte("1,2\n"))
	_, err = Load(unk, LoadOptions{})
	wantErr(t, err, unk+": unknown data format")
	_, err = Load(dir, LoadOptions{})
	wantErr(t, err, dir+": is a directory")
}
