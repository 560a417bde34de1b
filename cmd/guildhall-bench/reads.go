package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"guildhall/cmd/internal/fixture"
)

// readPhase is one read scenario: a request, repeated.
type readPhase struct {
	name   string
	client *http.Client
	next   func() (*http.Request, error)
}

// readPhases drive the read scenario against the big organization of the
// server m, each phase with one client and with cfg.clients.
func readPhases(ctx context.Context, client *http.Client, m *serverMode, cfg config) []result {
	fetch := func(name string, extra map[string]any) readPhase {
		args := map[string]any{"auth": map[string]string{"api_key": m.fx.APIKey}, "organization_id": m.fx.BigOrg}
		for k, v := range extra {
			args[k] = v
		}
		body, _ := json.Marshal(args)
		return readPhase{"fetch_memberships_of_organization, " + name, client, func() (*http.Request, error) {
			return fixture.NewRequest(ctx, m.srv.URL, "fetch_memberships_of_organization", body)
		}}
	}
	const search = "member012" // members 1,200 to 1,299
	phases := []readPhase{
		fetch(fmt.Sprintf("all %d", cfg.members), nil),
		fetch("first page of 50", map[string]any{"offset": 0, "limit": 50}),
		fetch("middle page of 50", map[string]any{"offset": cfg.members / 2, "limit": 50}),
		fetch("search", map[string]any{"search": search, "limit": 50}),
	}
	pageURL := fmt.Sprintf("%s/orgs/%d", m.srv.URL, m.fx.BigOrg)
	if browser, err := pageClient(ctx, client, m.srv.URL, pageURL); err != nil {
		fmt.Printf("organization page: not measured (%v)\n", err)
	} else {
		page := func(name, u string) readPhase {
			return readPhase{"organization page, " + name, browser, func() (*http.Request, error) {
				return http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			}}
		}
		phases = append(phases, page("first page", pageURL), page("search", pageURL+"?q="+url.QueryEscape(search)))
	}

	var out []result
	for _, ph := range phases {
		for _, clients := range []int{1, cfg.clients} {
			fmt.Printf("  %s, %d client(s) ...\n", ph.name, clients)
			cpu := cpuTime(m.srv.Pid())
			r := drive(ctx, ph.client, clients, cfg.readDuration, ph.next)
			r.cpu = cpuTime(m.srv.Pid()) - cpu
			r.name = fmt.Sprintf("%s [%d]", ph.name, clients)
			r.rss = peakRSS(m.srv.Pid())
			out = append(out, r)
		}
	}
	return out
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
