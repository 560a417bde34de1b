package main

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// printMachine says what the figures were measured on.
func printMachine(cfg config) {
	fmt.Printf("machine: %s, %d CPUs (GOMAXPROCS %d), %s %s/%s\n", cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0),
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("phases: %d clients, %d rounds of %v per write phase, %d rounds of %v per read phase at %v members; databases in %s\n",
		cfg.clients, cfg.rounds, cfg.duration, cfg.readRounds, cfg.readDuration, cfg.sizes, cfg.dir)
}

// printResults prints the table.
func printResults(results []result, cfg config) {
	fmt.Println()
	fmt.Printf("%d clients; write phases %d × %v, read phases %d × %v\n", cfg.clients, cfg.rounds, cfg.duration, cfg.readRounds, cfg.readDuration)
	fmt.Printf("%-72s %10s %9s %9s %9s %8s %10s %10s\n", "phase [clients]", "ops/s", "p50", "p95", "p99", "non-2xx", "server RSS", "CPU µs/op")
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
		if r.cpuPerOp() > 0 {
			cpu = fmt.Sprintf("%.0f", r.cpuPerOp())
		}
		fmt.Printf("%-72s %10.0f %9s %9s %9s %8s %10s %10s\n", r.name, r.perSecond(),
			ms(r.quantile(0.50)), ms(r.quantile(0.95)), ms(r.quantile(0.99)), non2xx, rss, cpu)
		if r.stopNote != "" {
			fmt.Printf("  (stopped early: %s)\n", r.stopNote)
		}
	}
	fmt.Println()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// printRatios prints each round's ratios of the invite rate to the
// ceilings, and their medians.
func printRatios(roundsA, roundsNormal, roundsB []result, roundsInvite [][]result, modes []*serverMode) {
	for i, m := range modes {
		var vsA, vsNormal, vsB []float64
		for k := range roundsA {
			inv := roundsInvite[i][k].perSecond()
			vsA = append(vsA, inv/roundsA[k].perSecond())
			vsNormal = append(vsNormal, inv/roundsNormal[k].perSecond())
			vsB = append(vsB, inv/roundsB[k].perSecond())
		}
		fmt.Printf("%s: %.2f× ceiling (a) synchronous=FULL, %.2f× ceiling (a') synchronous=NORMAL, %.2f× ceiling (b) (medians of rounds; by round (a) %s, (a') %s)\n",
			m.label, median(vsA), median(vsNormal), median(vsB), byRound(vsA), byRound(vsNormal))
	}
	fmt.Println("targets: group commit ≥ 1.0× (a') while Guildhall stays at synchronous=FULL; p99 < 25 ms; RSS < 100 MB; 0 non-2xx; ≤ 120 µs of server CPU per invitation")
}

// byRound lists ratios, one per round.
func byRound(v []float64) string {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.2f", x)
	}
	return b.String()
}

// printGrowth prints, for each read phase and number of clients, its
// server CPU per request and its median latency at each size, and the
// ratios of the largest size's to the smallest's: how a page's cost grows
// with the organization. Each figure is the median of the read rounds',
// and each ratio the median of the ratios taken within a round.
func printGrowth(reads []result, sizes []int) {
	if len(sizes) < 2 || len(reads) == 0 {
		return
	}
	type key struct {
		phase   string
		clients int
	}
	var order []key
	cells := map[key]map[int]map[int]result{} // by size, then by round
	for _, r := range reads {
		k := key{r.phase, r.clients}
		if cells[k] == nil {
			cells[k] = map[int]map[int]result{}
			order = append(order, k)
		}
		if cells[k][r.size] == nil {
			cells[k][r.size] = map[int]result{}
		}
		cells[k][r.size][r.round] = r
	}
	smallest, largest := sizes[0], sizes[len(sizes)-1]
	fmt.Printf("growth: server CPU µs per request / p50 latency, by organization size (medians of rounds); ratios of %s to %s (medians of each round's)\n", sizeText(largest), sizeText(smallest))
	fmt.Printf("%-62s", "phase [clients]")
	for _, n := range sizes {
		fmt.Printf(" %20s", sizeText(n))
	}
	fmt.Printf(" %9s %9s %9s\n", "CPU ratio", "p50 ratio", "ops/s ratio")
	for _, k := range order {
		fmt.Printf("%-62s", fmt.Sprintf("%s [%d]", k.phase, k.clients))
		for _, n := range sizes {
			var cpu, p50 []float64
			for _, r := range cells[k][n] {
				cpu, p50 = append(cpu, r.cpuPerOp()), append(p50, float64(r.quantile(0.5)))
			}
			fmt.Printf(" %20s", fmt.Sprintf("%.0f µs / %s", median(cpu), ms(time.Duration(median(p50)))))
		}
		var cpuRatios, p50Ratios, opsRatios []float64
		for round, s := range cells[k][smallest] {
			l, ok := cells[k][largest][round]
			if !ok {
				continue
			}
			if s.cpuPerOp() > 0 {
				cpuRatios = append(cpuRatios, l.cpuPerOp()/s.cpuPerOp())
			}
			if s.quantile(0.5) > 0 {
				p50Ratios = append(p50Ratios, float64(l.quantile(0.5))/float64(s.quantile(0.5)))
			}
			if l.perSecond() > 0 {
				opsRatios = append(opsRatios, s.perSecond()/l.perSecond())
			}
		}
		fmt.Printf(" %9s %9s %9s\n", medianRatio(cpuRatios), medianRatio(p50Ratios), medianRatio(opsRatios))
	}
	fmt.Println("targets at the largest size: org page and API first page ≤ 500 µs of server CPU per request; every ratio ≤ 1.3 (ops/s ratio: the smallest's over the largest's); org page ≥ 2,000 pages/s at 64 clients")
	fmt.Println()
}

// medianRatio is the median of ratios to two places, or "-" when none
// was measured.
func medianRatio(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", median(v))
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
