package regbench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints r as a table with one row per measurement.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "measurement\t%s\n", r.Registry)
	for _, row := range r.rows() {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}

// rows are the table's (measurement, value) pairs.
func (r *Result) rows() [][2]string {
	c := r.Concurrency
	return [][2]string{
		{fmt.Sprintf("small-image pushes/s (4 KiB layer, %d concurrent)", c), rate(r.SmallPushes)},
		{"  push p50 / p99", latency(r.SmallPushes)},
		{fmt.Sprintf("manifest HEADs/s (%d concurrent)", c), rate(r.Heads)},
		{"  HEAD p50 / p99", latency(r.Heads)},
		{fmt.Sprintf("large blob push MB/s (%s, one PUT)", FormatSize(r.LargePush.Bytes)), mbs(r.LargePush)},
		{fmt.Sprintf("large blob pull MB/s (%s, one GET)", FormatSize(r.LargePull.Bytes)), mbs(r.LargePull)},
		{fmt.Sprintf("large blob push MB/s (%s, %s PATCHes)", FormatSize(r.LargeChunked.Bytes), FormatSize(r.ChunkSize)), mbs(r.LargeChunked)},
		{"SHA-256 MB/s (this machine, one core)", fmt.Sprintf("%.0f", r.SHA256)},
		{"load average at start", r.LoadBefore},
		{"load average at end", r.LoadAfter},
		{"errors", fmt.Sprint(r.Errors())},
	}
}

func rate(p Phase) string {
	s := fmt.Sprintf("%.0f", p.PerSecond())
	if p.Errors > 0 {
		s += fmt.Sprintf(" (%d errors)", p.Errors)
	}
	return s
}

func latency(p Phase) string {
	return fmt.Sprintf("%s / %s", p.P50, p.P99)
}

func mbs(t Transfer) string {
	if t.Error != "" {
		return "failed"
	}
	return fmt.Sprintf("%.0f", t.MBPerSecond())
}

// WriteErrors prints the first error of each phase that had one.
func (r *Result) WriteErrors(w io.Writer) {
	for _, e := range []struct{ what, err string }{
		{"small-image pushes", r.SmallPushes.FirstError},
		{"manifest HEADs", r.Heads.FirstError},
		{"large blob push", r.LargePush.Error},
		{"large blob pull", r.LargePull.Error},
		{"large blob chunked push", r.LargeChunked.Error},
	} {
		if e.err != "" {
			fmt.Fprintf(w, "%s: %s\n", e.what, strings.TrimSpace(e.err))
		}
	}
}
