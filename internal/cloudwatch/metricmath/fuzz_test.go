package metricmath

import (
	"math"
	"testing"
)

// FuzzParseEval: no expression a caller sends may panic the parser or the
// evaluator, whatever it names.
func FuzzParseEval(f *testing.F) {
	for _, s := range []string{"m1 * 2 + 1", "SUM([a, b])", "FILL(m1, REPEAT)", "FILL(m1, LINEAR)", "RATE(DIFF(ABS(-m1)))",
		"AVG(METRICS(\"a\"))", "(1 + 2) / 0", "[m1, m2] / m1", "MAX(m1)", "1e3 - .5", "FILL(m1, 1", "\"x", "[]", "-(-(-1))"} {
		f.Add(s)
	}
	env := &Env{Start: 0, End: 600, Period: 60,
		Lookup: func(id string) (Value, error) {
			return SeriesValue(Series{T: []int64{0, 120, 300}, V: []float64{1, math.NaN(), 3}}), nil
		},
		Metrics: func(string) []Series { return []Series{{T: []int64{60}, V: []float64{2}}} },
	}
	f.Fuzz(func(t *testing.T, expr string) {
		if len(expr) > 2048 {
			return
		}
		n, err := Parse(expr)
		if err != nil {
			return
		}
		_, _ = Eval(n, env)
	})
}

func TestEval(t *testing.T) {
	series := map[string]Series{
		"a": {T: []int64{0, 60, 120}, V: []float64{1, 2, 4}},
		"b": {T: []int64{60, 120, 180}, V: []float64{10, 20, 30}},
	}
	env := &Env{Start: 0, End: 240, Period: 60,
		Lookup:  func(id string) (Value, error) { return SeriesValue(series[id]), nil },
		Metrics: func(string) []Series { return []Series{series["a"], series["b"]} },
	}
	cases := map[string]Series{
		"a + b":             {T: []int64{60, 120}, V: []float64{12, 24}},
		"2 * a - 1":         {T: []int64{0, 60, 120}, V: []float64{1, 3, 7}},
		"SUM([a, b])":       {T: []int64{0, 60, 120, 180}, V: []float64{1, 12, 24, 30}},
		"MAX(METRICS())":    {T: []int64{0, 60, 120, 180}, V: []float64{1, 10, 20, 30}},
		"FILL(b, 0)":        {T: []int64{0, 60, 120, 180}, V: []float64{0, 10, 20, 30}},
		"FILL(a, REPEAT)":   {T: []int64{0, 60, 120, 180}, V: []float64{1, 2, 4, 4}},
		"FILL(b, LINEAR)":   {T: []int64{60, 120, 180}, V: []float64{10, 20, 30}},
		"RATE(a)":           {T: []int64{60, 120}, V: []float64{1.0 / 60, 2.0 / 60}},
		"DIFF(b)":           {T: []int64{120, 180}, V: []float64{10, 10}},
		"ABS(-a)":           {T: []int64{0, 60, 120}, V: []float64{1, 2, 4}},
		"a / (SUM(a) - 6)":  {T: []int64{0, 60, 120}, V: []float64{1, 2, 4}},
		"AVG([a, b]) * 10":  {T: []int64{0, 60, 120, 180}, V: []float64{10, 60, 120, 300}},
		"MIN([a, b]) / 0.5": {T: []int64{0, 60, 120, 180}, V: []float64{2, 4, 8, 60}},
	}
	for expr, want := range cases {
		n, err := Parse(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		v, err := Eval(n, env)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		got := v.Series[0]
		if len(got.T) != len(want.T) {
			t.Fatalf("%s = %+v, want %+v", expr, got, want)
		}
		for i := range want.T {
			if got.T[i] != want.T[i] || math.Abs(got.V[i]-want.V[i]) > 1e-12 {
				t.Fatalf("%s = %+v, want %+v", expr, got, want)
			}
		}
	}
	for _, bad := range []string{"FOO(a)", "SUM(a, b)", "a +", "(a", "a b", "[a, 1] + 1x"} {
		if n, err := Parse(bad); err == nil {
			if _, err := Eval(n, env); err == nil {
				t.Errorf("%q: no error", bad)
			}
		}
	}
}
