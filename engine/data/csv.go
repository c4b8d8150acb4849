package data

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
)

// CSVHeader values for ReadCSV and LoadOptions.CSVHeader.
const (
	CSVHeaderAuto = -1 // a first row with any non-numeric cell is a header
	CSVNoHeader   = 0  // every row is data
	CSVHasHeader  = 1  // the first row is a header and is skipped
)

// ReadCSV reads comma-separated numbers from r as a Dataset: one sample per
// row, one feature per column, N rows × D columns (D from the first data
// row; every row must have D cells). header is CSVHeaderAuto,
// CSVNoHeader or CSVHasHeader. Cells may be quoted and padded with spaces;
// every cell must parse as a finite float32. Empty lines and a leading UTF-8
// byte-order mark are skipped. name is used as Dataset.Name and in errors,
// which give the line and the 1-based column (cell index).
func ReadCSV(r io.Reader, name string, header int) (*Dataset, error) {
	return readCSV(r, name, header, ',')
}

func readCSV(r io.Reader, name string, header int, comma rune) (*Dataset, error) {
	if header < CSVHeaderAuto || header > CSVHasHeader {
		return nil, errorf(name, "CSV header mode %d, want -1 (auto), 0 (no header) or 1 (header)", header)
	}
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comma = comma
	cr.FieldsPerRecord = -1 // ragged rows get our own message, with both counts
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true // so `1, "2"` is read as two numbers
	var (
		x         []float32
		n, d      int
		firstLine int
	)
	for row := 0; ; row++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, errorf(name, "line %d, byte %d: %v", pe.Line, pe.Column, pe.Err)
			}
			return nil, wrapErr(name, err)
		}
		line, _ := cr.FieldPos(0)
		if row == 0 {
			isHeader := header == CSVHasHeader
			if header == CSVHeaderAuto {
				for _, c := range rec {
					if _, err := strconv.ParseFloat(strings.TrimSpace(c), 32); err != nil && !errors.Is(err, strconv.ErrRange) {
						isHeader = true
						break
					}
				}
			}
			d, firstLine = len(rec), line
			if isHeader {
				continue
			}
		}
		if len(rec) != d {
			return nil, errorf(name, "line %d: %d columns, want %d as on line %d", line, len(rec), d, firstLine)
		}
		for j, c := range rec {
			v, err := parseCell(c)
			if err != nil {
				l, _ := cr.FieldPos(j)
				hint := ""
				if row == 0 && header == CSVNoHeader {
					hint = " (if line 1 is a header, set the CSV header option to 1 or -1 for auto)"
				}
				return nil, errorf(name, "line %d, column %d: %v%s", l, j+1, err, hint)
			}
			x = append(x, v)
		}
		n++
	}
	if n == 0 {
		if d > 0 {
			return nil, errorf(name, "no data rows after the header line")
		}
		return nil, errorf(name, "empty file, want rows of comma-separated numbers")
	}
	return &Dataset{Name: name, N: n, D: d, X: x}, nil
}

// parseCell parses one CSV cell as a finite float32.
func parseCell(c string) (float32, error) {
	s := strings.TrimSpace(c)
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, errors.New(strconv.Quote(clip(s)) + " is out of float32 range")
		}
		return 0, errors.New(strconv.Quote(clip(s)) + " is not a number")
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New(strconv.Quote(clip(s)) + " is not a finite number")
	}
	return float32(v), nil
}
