package tsdb

import (
	"math"
	"sort"
)

// Bin is one cell of a value distribution: C values whose log-scale index
// is K. Indexes grow with the value (negative values have negative
// indexes, zero is 0), so sorted bins are sorted values. A bin spans a
// factor of binGamma, so a percentile read from bins is within 1% of the
// true value.
type Bin struct {
	K int32
	C float64
}

const (
	binGamma  = 1.02
	binOffset = 20000 // |log_γ(v)| ≤ ~12,700 for CloudWatch's value range
)

var lnGamma = math.Log(binGamma)

// binOf returns the index of v's bin.
func binOf(v float64) int32 {
	if v == 0 {
		return 0
	}
	k := int32(1 + binOffset + int32(math.Floor(math.Log(math.Abs(v))/lnGamma)))
	if v < 0 {
		return -k
	}
	return k
}

// binValue is the value a bin stands for: the middle of its span.
func binValue(k int32) float64 {
	if k == 0 {
		return 0
	}
	a := k
	if a < 0 {
		a = -a
	}
	v := math.Pow(binGamma, float64(a-1-binOffset)) * (1 + binGamma) / 2
	if k < 0 {
		return -v
	}
	return v
}

// Observe adds c occurrences of v to the statistic set, distribution
// included.
func (s *Stats) Observe(v, c float64) {
	s.Merge(Stats{Count: c, Sum: v * c, Min: v, Max: v})
	s.addBin(binOf(v), c)
}

func (s *Stats) addBin(k int32, c float64) {
	i := sort.Search(len(s.Hist), func(i int) bool { return s.Hist[i].K >= k })
	if i < len(s.Hist) && s.Hist[i].K == k {
		s.Hist[i].C += c
		return
	}
	s.Hist = append(s.Hist, Bin{})
	copy(s.Hist[i+1:], s.Hist[i:])
	s.Hist[i] = Bin{K: k, C: c}
}

// clone returns s with a distribution of its own.
func (s Stats) clone() Stats {
	if len(s.Hist) > 0 {
		s.Hist = append([]Bin(nil), s.Hist...)
	}
	return s
}

// Percentile returns the p-th percentile (0–100) of the values with a
// known distribution, clamped to [Min, Max]; NaN when the set has none
// (data sent only as statistic sets).
func (s *Stats) Percentile(p float64) float64 {
	total := 0.0
	for _, b := range s.Hist {
		total += b.C
	}
	if total == 0 {
		return math.NaN()
	}
	if p <= 0 {
		return s.Min
	}
	if p >= 100 {
		return s.Max
	}
	rank := p / 100 * total
	cum := 0.0
	for _, b := range s.Hist {
		cum += b.C
		if cum >= rank {
			return math.Min(math.Max(binValue(b.K), s.Min), s.Max)
		}
	}
	return s.Max
}
