package metricmath

import (
	"math"
	"sort"
)

// Series is a time series: period start times (Unix seconds, ascending)
// and their values.
type Series struct {
	Label string
	T     []int64
	V     []float64
}

// Kind says what a Value holds.
type Kind int

// Kinds of values.
const (
	KindScalar Kind = iota
	KindSeries
	KindArray
)

// Value is a scalar, one series, or an array of series.
type Value struct {
	Kind   Kind
	Scalar float64
	Series []Series // one for KindSeries
}

// ScalarValue, SeriesValue and ArrayValue build values.
func ScalarValue(v float64) Value  { return Value{Kind: KindScalar, Scalar: v} }
func SeriesValue(s Series) Value   { return Value{Kind: KindSeries, Series: []Series{s}} }
func ArrayValue(ss []Series) Value { return Value{Kind: KindArray, Series: ss} }

// Env is what evaluation needs from the caller.
type Env struct {
	// Lookup resolves an Id to its value.
	Lookup func(id string) (Value, error)
	// Metrics returns the series of the request's metric queries whose Id
	// contains filter ("" for all), for METRICS().
	Metrics func(filter string) []Series
	// Start, End (exclusive) and Period (seconds) define the grid FILL
	// fills and a scalar result is spread over.
	Start, End, Period int64
}

// Eval evaluates n.
func Eval(n Node, env *Env) (Value, error) {
	switch x := n.(type) {
	case Num:
		return ScalarValue(x.V), nil
	case Ref:
		return env.Lookup(x.ID)
	case Str, Keyword:
		return Value{}, errorf("A string or keyword can only be a function argument.")
	case Unary:
		v, err := Eval(x.X, env)
		if err != nil {
			return v, err
		}
		return mapValues(v, func(f float64) float64 { return -f }), nil
	case Binary:
		a, err := Eval(x.X, env)
		if err != nil {
			return a, err
		}
		b, err := Eval(x.Y, env)
		if err != nil {
			return b, err
		}
		return binary(x.Op, a, b)
	case Array:
		var out []Series
		for _, it := range x.Items {
			v, err := Eval(it, env)
			if err != nil {
				return v, err
			}
			if v.Kind == KindScalar {
				return v, errorf("An array can only contain time series.")
			}
			out = append(out, v.Series...)
		}
		return ArrayValue(out), nil
	case Call:
		return call(x, env)
	}
	return Value{}, errorf("Unsupported expression.")
}

func mapValues(v Value, f func(float64) float64) Value {
	if v.Kind == KindScalar {
		return ScalarValue(f(v.Scalar))
	}
	out := Value{Kind: v.Kind, Series: make([]Series, len(v.Series))}
	for i, s := range v.Series {
		ns := Series{Label: s.Label, T: s.T, V: make([]float64, len(s.V))}
		for j, x := range s.V {
			ns.V[j] = f(x)
		}
		out.Series[i] = ns
	}
	return out
}

func apply(op byte, a, b float64) float64 {
	switch op {
	case '+':
		return a + b
	case '-':
		return a - b
	case '*':
		return a * b
	}
	return a / b
}

func binary(op byte, a, b Value) (Value, error) {
	switch {
	case a.Kind == KindScalar && b.Kind == KindScalar:
		return ScalarValue(apply(op, a.Scalar, b.Scalar)), nil
	case b.Kind == KindScalar:
		return mapValues(a, func(x float64) float64 { return apply(op, x, b.Scalar) }), nil
	case a.Kind == KindScalar:
		return mapValues(b, func(x float64) float64 { return apply(op, a.Scalar, x) }), nil
	case a.Kind == KindSeries && b.Kind == KindSeries:
		return SeriesValue(join(op, a.Series[0], b.Series[0])), nil
	case a.Kind == KindArray && b.Kind == KindSeries:
		out := make([]Series, len(a.Series))
		for i, s := range a.Series {
			out[i] = join(op, s, b.Series[0])
		}
		return ArrayValue(out), nil
	case a.Kind == KindSeries && b.Kind == KindArray:
		out := make([]Series, len(b.Series))
		for i, s := range b.Series {
			out[i] = join(op, a.Series[0], s)
		}
		return ArrayValue(out), nil
	}
	if len(a.Series) != len(b.Series) {
		return Value{}, errorf("Arrays of different lengths (%d and %d) cannot be combined.", len(a.Series), len(b.Series))
	}
	out := make([]Series, len(a.Series))
	for i := range a.Series {
		out[i] = join(op, a.Series[i], b.Series[i])
	}
	return ArrayValue(out), nil
}

// join combines two series at the timestamps both have.
func join(op byte, a, b Series) Series {
	out := Series{Label: a.Label}
	i, j := 0, 0
	for i < len(a.T) && j < len(b.T) {
		switch {
		case a.T[i] < b.T[j]:
			i++
		case a.T[i] > b.T[j]:
			j++
		default:
			out.T = append(out.T, a.T[i])
			out.V = append(out.V, apply(op, a.V[i], b.V[j]))
			i++
			j++
		}
	}
	return out
}

func call(c Call, env *Env) (Value, error) {
	if c.F == "METRICS" {
		filter := ""
		if len(c.Args) == 1 {
			s, ok := c.Args[0].(Str)
			if !ok {
				return Value{}, errorf("METRICS takes a string filter.")
			}
			filter = s.S
		}
		return ArrayValue(env.Metrics(filter)), nil
	}
	if c.F == "FILL" {
		return fill(c, env)
	}
	v, err := Eval(c.Args[0], env)
	if err != nil {
		return v, err
	}
	switch c.F {
	case "ABS":
		return mapValues(v, math.Abs), nil
	case "RATE", "DIFF":
		if v.Kind == KindScalar {
			return v, errorf("%s takes a time series or an array of time series.", c.F)
		}
		out := Value{Kind: v.Kind}
		for _, s := range v.Series {
			out.Series = append(out.Series, deltas(s, c.F == "RATE"))
		}
		return out, nil
	}
	// SUM, AVG, MIN, MAX: of an array, a series per timestamp; of one
	// series, a scalar over its values.
	switch v.Kind {
	case KindScalar:
		return v, nil
	case KindSeries:
		return ScalarValue(reduce(c.F, v.Series[0].V)), nil
	}
	return SeriesValue(across(c.F, v.Series)), nil
}

func reduce(f string, vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	acc := vs[0]
	sum := 0.0
	for _, x := range vs {
		sum += x
		switch f {
		case "MIN":
			acc = math.Min(acc, x)
		case "MAX":
			acc = math.Max(acc, x)
		}
	}
	switch f {
	case "SUM":
		return sum
	case "AVG":
		return sum / float64(len(vs))
	}
	return acc
}

// across reduces an array to one series, per timestamp over the series
// that have a value there.
func across(f string, ss []Series) Series {
	vals := map[int64][]float64{}
	for _, s := range ss {
		for i, t := range s.T {
			vals[t] = append(vals[t], s.V[i])
		}
	}
	out := Series{}
	for t := range vals {
		out.T = append(out.T, t)
	}
	sort.Slice(out.T, func(i, j int) bool { return out.T[i] < out.T[j] })
	for _, t := range out.T {
		out.V = append(out.V, reduce(f, vals[t]))
	}
	return out
}

func deltas(s Series, rate bool) Series {
	out := Series{Label: s.Label}
	for i := 1; i < len(s.T); i++ {
		d := s.V[i] - s.V[i-1]
		if rate {
			d /= float64(s.T[i] - s.T[i-1])
		}
		out.T = append(out.T, s.T[i])
		out.V = append(out.V, d)
	}
	return out
}

func fill(c Call, env *Env) (Value, error) {
	v, err := Eval(c.Args[0], env)
	if err != nil {
		return v, err
	}
	if v.Kind == KindScalar {
		return v, errorf("FILL takes a time series or an array of time series.")
	}
	mode, val := "", 0.0
	switch a := c.Args[1].(type) {
	case Keyword:
		mode = a.W
	default:
		w, err := Eval(a, env)
		if err != nil {
			return w, err
		}
		if w.Kind != KindScalar {
			return w, errorf("The second argument of FILL must be a number, REPEAT or LINEAR.")
		}
		val = w.Scalar
	}
	out := Value{Kind: v.Kind}
	for _, s := range v.Series {
		out.Series = append(out.Series, fillSeries(s, env.Start, env.End, env.Period, mode, val))
	}
	return out, nil
}

func fillSeries(s Series, start, end, period int64, mode string, val float64) Series {
	if period <= 0 {
		return s
	}
	out := Series{Label: s.Label}
	j := 0
	for t := start; t < end; t += period {
		for j < len(s.T) && s.T[j] < t {
			j++
		}
		if j < len(s.T) && s.T[j] == t {
			out.T, out.V = append(out.T, t), append(out.V, s.V[j])
			continue
		}
		switch mode {
		case "REPEAT":
			if j == 0 {
				continue // nothing before it to repeat
			}
			out.T, out.V = append(out.T, t), append(out.V, s.V[j-1])
		case "LINEAR":
			if j == 0 || j == len(s.T) {
				continue // no neighbour on one side
			}
			t0, t1, v0, v1 := s.T[j-1], s.T[j], s.V[j-1], s.V[j]
			out.T, out.V = append(out.T, t), append(out.V, v0+(v1-v0)*float64(t-t0)/float64(t1-t0))
		default:
			out.T, out.V = append(out.T, t), append(out.V, val)
		}
	}
	return out
}

// Broadcast spreads a scalar over the grid of env, as a series.
func Broadcast(v float64, env *Env) Series {
	var s Series
	for t := env.Start; env.Period > 0 && t < env.End; t += env.Period {
		s.T, s.V = append(s.T, t), append(s.V, v)
	}
	return s
}
