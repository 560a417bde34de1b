package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"guildhall/cmd/internal/fixture"
)

// readPhase is one read scenario: a request, repeated.
type readPhase struct {
	name   string
	client *http.Client
	next   func() (*http.Request, error)
	// alone: measured with one client only (it costs what it skips, and
	// many clients would only queue behind it).
	alone bool
}

// readPhases drive the read scenarios against each seeded organization of
// the server m, each phase with one client and with cfg.clients, in
// cfg.readRounds rounds: a round measures the phase at every size back to
// back, smallest first, so that a neighbour's load on a shared machine
// weighs on the sizes alike and the growth table can take its ratios
// within a round. It returns each round's result.
func readPhases(ctx context.Context, client *http.Client, m *serverMode, cfg config) ([]result, error) {
	pageURL := func(org int64) string { return fmt.Sprintf("%s/orgs/%d", m.srv.URL, org) }
	browser, err := pageClient(ctx, client, m.srv.URL, pageURL(m.orgs[cfg.sizes[0]]))
	if err != nil {
		return nil, fmt.Errorf("sign in for the organization's page: %w", err)
	}
	bySize := make([][]readPhase, len(cfg.sizes)) // the same phases, in the same order, for each size
	for i, size := range cfg.sizes {
		if bySize[i], err = sizePhases(ctx, client, browser, m, m.orgs[size], size, pageURL(m.orgs[size])); err != nil {
			return nil, fmt.Errorf("the organization of %d members: %w", size, err)
		}
	}
	var out []result
	for p, first := range bySize[0] {
		for _, clients := range []int{1, cfg.clients} {
			if first.alone && clients > 1 {
				continue
			}
			fmt.Printf("  %s, %d client(s), %d round(s) over %v ...\n", first.name, clients, cfg.readRounds, cfg.sizes)
			for round := 1; round <= cfg.readRounds; round++ {
				for i, size := range cfg.sizes {
					ph := bySize[i][p]
					wait := func() {}
					if i == len(cfg.sizes)-1 && clients > 1 && round == cfg.readRounds {
						wait = m.prof.during(ctx, profileName(ph.name), cfg.readDuration)
					}
					cpu := m.cpuTime()
					r := drive(ctx, ph.client, clients, cfg.readDuration, ph.next)
					r.cpu = m.cpuTime() - cpu
					wait()
					r.phase, r.size, r.clients, r.round = ph.name, size, clients, round
					r.name = fmt.Sprintf("%s, %s [%d]", ph.name, sizeText(size), clients)
					r.rss = m.peakRSS()
					out = append(out, r)
				}
			}
		}
	}
	return out, nil
}

// mergeReads merges the rounds of each read phase, for the main table:
// every size's phases in turn, smallest first, as the phases are listed.
func mergeReads(reads []result, sizes []int) []result {
	type key struct {
		phase         string
		size, clients int
	}
	rounds := map[key][]result{}
	var order []key
	for _, r := range reads {
		k := key{r.phase, r.size, r.clients}
		if rounds[k] == nil {
			order = append(order, k)
		}
		rounds[k] = append(rounds[k], r)
	}
	var out []result
	for _, size := range sizes {
		for _, k := range order {
			if k.size == size {
				out = append(out, merge(rounds[k]))
			}
		}
	}
	return out
}

// sizePhases are the read scenarios of one organization: pages of
// fetch_memberships_of_organization and of the organization's page. The
// deep pages start at cursors taken once, before the phases, from the
// middle of the list.
func sizePhases(ctx context.Context, client, browser *http.Client, m *serverMode, org int64, size int, pageURL string) ([]readPhase, error) {
	fetch := func(name string, extra map[string]any) readPhase {
		args := map[string]any{"auth": map[string]string{"api_key": m.fx.APIKey}, "organization_id": org}
		for k, v := range extra {
			args[k] = v
		}
		body, _ := json.Marshal(args)
		return readPhase{name: "API " + name, client: client, next: func() (*http.Request, error) {
			return fixture.NewRequest(ctx, m.srv.URL, "fetch_memberships_of_organization", body)
		}}
	}
	page := func(name, u string) readPhase {
		return readPhase{name: "org page, " + name, client: browser, next: func() (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		}}
	}
	// A cursor to the middle of the list the API answers by default, and
	// of the page's (which shows an owner expired invitations too).
	middle := func(status string) (string, error) {
		args := map[string]any{"auth": map[string]string{"api_key": m.fx.APIKey}, "organization_id": org, "offset": size / 2, "limit": 1}
		if status != "" {
			args["status"] = status
		}
		var r struct {
			NextCursor string `json:"next_cursor"`
		}
		if err := fixture.CallResult(ctx, client, m.srv.URL, "fetch_memberships_of_organization", args, &r); err != nil {
			return "", fmt.Errorf("a cursor to the middle: %w", err)
		}
		return r.NextCursor, nil
	}
	apiCursor, err := middle("")
	if err != nil {
		return nil, err
	}
	pageCursor, err := middle("all")
	if err != nil {
		return nil, err
	}
	offset := fetch("middle page by offset (costs the rows it skips)", map[string]any{"offset": size / 2, "limit": 100})
	offset.alone = true
	return []readPhase{
		fetch("first page", nil),
		fetch("deep page by cursor", map[string]any{"cursor": apiCursor}),
		fetch("search", map[string]any{"search": fixture.MembersSearch}),
		fetch("status active", map[string]any{"status": "active"}),
		fetch("status invited", map[string]any{"status": "invited"}),
		fetch("status expired", map[string]any{"status": "expired"}),
		fetch("role viewer", map[string]any{"role": "viewer"}),
		fetch("sort by name", map[string]any{"sort": "name"}),
		fetch("sort by date joined", map[string]any{"sort": "joined"}),
		offset,
		page("first page", pageURL),
		page("deep page by cursor", pageURL+"?cursor="+url.QueryEscape(pageCursor)),
		page("search", pageURL+"?q="+url.QueryEscape(fixture.MembersSearch)),
	}, nil
}

// profileName names the profile of a read phase: "read-org-page-first-page".
func profileName(phase string) string {
	var b strings.Builder
	b.WriteString("read")
	for _, word := range strings.FieldsFunc(phase, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		b.WriteString("-" + strings.ToLower(word))
	}
	return b.String()
}

// sizeText writes a size as the report shows it: "1,000,000 members".
func sizeText(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s + " members"
}

// pageClient signs the owner in and returns their browser, once it has
// fetched pageURL with it.
func pageClient(ctx context.Context, client *http.Client, baseURL, pageURL string) (*http.Client, error) {
	browser, err := fixture.SignIn(ctx, client, baseURL, fixture.Owner, fixture.OwnerPassword)
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil)
	resp, err := browser.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d", resp.Request.URL.Path, resp.StatusCode)
	}
	return browser, nil
}
