package handlers

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestMethodsOnEveryRoute walks every registered route and holds the
// server to what docs/API.md says: OPTIONS answers 204 with an Allow
// header naming exactly the route's methods; any other method gets 405
// with the same Allow; every route that answers GET answers HEAD with the
// same status, except /api/<function>, whose GET may change data.
func TestMethodsOnEveryRoute(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, promise := range []string{
		"`OPTIONS` on any route answers\n  204 with an `Allow` header naming the methods it takes; any other method gets 405 with the\n  same `Allow`.",
		"| 405 | `invalid_request` | a method the route does not take (`Allow` names those it does) |",
		"`/api/ping` and `/api/help` also answer `HEAD`",
	} {
		if !strings.Contains(string(doc), promise) {
			t.Errorf("docs/API.md no longer says %q; change this test with it", promise)
		}
	}

	s := newServerWithPages(t, io.Discard)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	routes := map[string][]string{} // path → methods registered
	for _, r := range s.echo.Routes() {
		routes[r.Path] = append(routes[r.Path], r.Method)
	}
	param := regexp.MustCompile(`:[a-z]+|\*`)
	send := func(method, path string) *http.Response {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for route, methods := range routes {
		path := param.ReplaceAllString(route, "x1")
		if route == "/api/:function" || route == "/api/help/:function" {
			path = strings.Replace(route, ":function", "login", 1)
		}
		allow := append([]string{http.MethodOptions}, methods...)
		slices.Sort(allow)
		gotAllow := func(resp *http.Response) []string {
			got := strings.Split(resp.Header.Get("Allow"), ", ")
			slices.Sort(got)
			return got
		}
		if resp := send(http.MethodOptions, path); resp.StatusCode != http.StatusNoContent || !slices.Equal(gotAllow(resp), allow) {
			t.Errorf("OPTIONS %s: %d Allow %q, want 204 and %v", route, resp.StatusCode, resp.Header.Get("Allow"), allow)
		}
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if slices.Contains(methods, m) {
				continue
			}
			if resp := send(m, path); resp.StatusCode != http.StatusMethodNotAllowed || !slices.Equal(gotAllow(resp), allow) {
				t.Errorf("%s %s: %d Allow %q, want 405 and %v", m, route, resp.StatusCode, resp.Header.Get("Allow"), allow)
			}
		}
		if !slices.Contains(methods, http.MethodGet) || route == "/api/:function" {
			continue
		}
		if !slices.Contains(methods, http.MethodHead) {
			t.Errorf("%s answers GET but not HEAD", route)
			continue
		}
		if get, head := send(http.MethodGet, path), send(http.MethodHead, path); head.StatusCode != get.StatusCode {
			t.Errorf("%s: HEAD %d, GET %d", route, head.StatusCode, get.StatusCode)
		}
	}
	if len(routes) < 15 {
		t.Fatalf("only %d routes found: %v", len(routes), routes)
	}
}
