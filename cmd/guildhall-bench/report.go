package main

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"time"
)

// printMachine says what the figures were measured on.
func printMachine(cfg config) {
	fmt.Printf("machine: %s, %d CPUs (GOMAXPROCS %d), %s %s/%s\n", cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0),
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("phases: %d clients, %d rounds of %v per write phase, %v per read phase; databases in %s\n",
		cfg.clients, cfg.rounds, cfg.duration, cfg.readDuration, cfg.dir)
}

// printResults prints the table.
func printResults(results []result, cfg config) {
	fmt.Println()
	fmt.Printf("%d clients; write phases %d × %v, read phases %v each\n", cfg.clients, cfg.rounds, cfg.duration, cfg.readDuration)
	fmt.Printf("%-58s %10s %9s %9s %9s %8s %10s %10s\n", "phase [clients]", "ops/s", "p50", "p95", "p99", "non-2xx", "server RSS", "CPU µs/op")
	for _, r := range results {
		rss := "-"
		if r.rss > 0 {
			rss = fmt.Sprintf("%.1f MB", float64(r.rss)/1024)
		}
		non2xx := strconv.Itoa(r.non2xx)
		if r.errors > 0 {
			non2xx += fmt.Sprintf(" +%d err", r.errors)
		}
		cpu := "-"
		if r.cpu > 0 && r.ok > 0 {
			cpu = fmt.Sprintf("%.0f", float64(r.cpu.Microseconds())/float64(r.ok))
		}
		fmt.Printf("%-58s %10.0f %9s %9s %9s %8s %10s %10s\n", r.name, r.perSecond(),
			ms(r.quantile(0.50)), ms(r.quantile(0.95)), ms(r.quantile(0.99)), non2xx, rss, cpu)
		if r.stopNote != "" {
			fmt.Printf("  (stopped early: %s)\n", r.stopNote)
		}
	}
	fmt.Println()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// printRatios prints each round's ratios and their medians.
func printRatios(roundsA, roundsB []result, roundsInvite [][]result, modes []*serverMode) {
	for i, m := range modes {
		var vsA, vsB []float64
		for k := range roundsA {
			inv := roundsInvite[i][k].perSecond()
			vsA = append(vsA, inv/roundsA[k].perSecond())
			vsB = append(vsB, inv/roundsB[k].perSecond())
		}
		fmt.Printf("%s: %.2f× ceiling (a), %.2f× ceiling (b) (medians of rounds; (a) by round:", m.label, median(vsA), median(vsB))
		for _, v := range vsA {
			fmt.Printf(" %.2f", v)
		}
		fmt.Println(")")
	}
	fmt.Println("targets: ≥ 0.80× (a) with one commit each; ≥ 1.50× (a) for group commit to be kept; p99 < 25 ms; RSS < 100 MB; 0 non-2xx")
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
