package main

import (
	"fmt"
	"io"
	"slices"
)

// report prints, per workload and configuration, the medians over rounds of
// rps, p50, p99 and server CPU per request, then each of our configurations'
// ratio to each peer's (by median rps).
func report(w io.Writer, cfgs []config, all []measurement, o options) {
	fmt.Fprintf(w, "\n%d rounds × %v (+%v warm-up), %d clients; medians over rounds\n\n", o.rounds, o.dur, o.warmup, o.conc)
	fmt.Fprintln(w, "| workload | config | rps | p50 ms | p99 ms | server CPU ms/req | Postgres CPU ms/req | failed |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	med := map[[2]string]float64{}
	for _, wl := range []string{"W1", "W2", "W3", "W4"} {
		for _, c := range cfgs {
			var rps, p50, p99, cpu, dbc []float64
			failed := 0
			var first, stored []float64
			for _, m := range all {
				if m.cfg != c.name || m.w != wl {
					continue
				}
				rps = append(rps, m.r.rps())
				p50 = append(p50, ms(percentile(m.r.lat, .5)))
				p99 = append(p99, ms(percentile(m.r.lat, .99)))
				cpu = append(cpu, ms(m.r.cpuPerReq()))
				dbc = append(dbc, ms(m.r.dbCPUPerReq()))
				failed += m.r.failed
				if wl == "W4" {
					first = append(first, ms(percentile(m.r.firstToken, .5)), ms(percentile(m.r.firstToken, .99)))
					stored = append(stored, ms(percentile(m.r.stored, .5)), ms(percentile(m.r.stored, .99)))
				}
			}
			if len(rps) == 0 {
				continue
			}
			med[[2]string{wl, c.name}] = median(rps)
			fmt.Fprintf(w, "| %s | %s | %.0f | %.1f | %.1f | %.2f | %.2f | %d |\n", wl, c.name, median(rps), median(p50),
				median(p99), median(cpu), median(dbc), failed)
			if wl == "W4" {
				fmt.Fprintf(w, "| W4 first token | %s | | %.1f | %.1f | | | |\n", c.name, median(every(first, 0)), median(every(first, 1)))
				fmt.Fprintf(w, "| W4 stored reply | %s | | %.1f | %.1f | | | |\n", c.name, median(every(stored, 0)), median(every(stored, 1)))
			}
		}
	}
	fmt.Fprintln(w)
	for _, ours := range cfgs {
		if ours.peer {
			continue
		}
		for _, p := range cfgs {
			if !p.peer {
				continue
			}
			fmt.Fprintf(w, "%s / %s:", ours.name, p.name)
			for _, wl := range []string{"W1", "W2", "W3"} {
				a, b := med[[2]string{wl, ours.name}], med[[2]string{wl, p.name}]
				if a > 0 && b > 0 {
					fmt.Fprintf(w, "  %s %.2f", wl, a/b)
				}
			}
			fmt.Fprintln(w)
		}
	}
}

// every returns the elements at offset, offset+2, … (pairs of p50, p99).
func every(v []float64, offset int) []float64 {
	var out []float64
	for i := offset; i < len(v); i += 2 {
		out = append(out, v[i])
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
