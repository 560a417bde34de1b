package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"guildhall"
	"guildhall/handlers"
)

// processCPU is the CPU time this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInviteThroughAPI sends invite_user_to_organization through the
// real router to a database opened as `guildhall serve` opens it (group
// commit, synchronous=FULL), from many goroutines with an API key in the
// body, as the benchmark's clients do, but without the network: it reports
// the CPU each invitation costs the process (cpu-µs/op), which is what
// make bench's invite phase spends per request, minus the sockets. Compare
// runs with benchstat; the CPU figure hardly moves with the machine's load.
func BenchmarkInviteThroughAPI(b *testing.B) {
	ctx := context.Background()
	opts := testOptions(time.Now)
	opts.MaxPendingInvites, opts.InviteRate, opts.OrganizationRate = 0, 0, 0 // as make bench runs it
	store, _ := openStore(b, opts)
	owner, err := store.CreateUser(ctx, "olivia", "password-olivia", false)
	if err != nil {
		b.Fatal(err)
	}
	a := guildhall.Actor{UserID: owner.ID, Username: owner.Username, Auth: guildhall.AuthPassword}
	_, key, err := store.CreateAPIKey(ctx, a, "bench")
	if err != nil {
		b.Fatal(err)
	}
	// Distinct invitations without hashing a password per invitation:
	// users × organizations pairs, each user invited fewer times than the
	// per-user cap on open invitations, and as many users as b.N needs (the
	// benchmark runs again, set up anew, for each b.N).
	const orgs = 80
	users := max(250, b.N/orgs+1)
	for i := range users {
		if _, err := store.CreateUser(ctx, fmt.Sprintf("invitee%03d", i), "password-invitee", false); err != nil {
			b.Fatal(err)
		}
	}
	orgIDs := make([]int64, orgs)
	for i := range orgIDs {
		o, err := store.CreateOrganization(ctx, a, fmt.Sprintf("Org %d", i), "")
		if err != nil {
			b.Fatal(err)
		}
		orgIDs[i] = o.ID
	}
	srv := handlers.New(store, handlers.Config{})
	var next atomic.Int64
	b.SetParallelism(32) // 64 clients on two cores, as make bench's
	b.ResetTimer()
	cpu := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1) - 1
			if n >= int64(users*orgs) {
				b.Error("out of invitations; raise users or orgs")
				return
			}
			body := fmt.Sprintf(`{"auth": {"api_key": %q}, "username_to_invite": "invitee%03d", "organization_id": %d, "member_class": "member"}`,
				key, n%int64(users), orgIDs[n/int64(users)])
			req := httptest.NewRequest(http.MethodPost, "/api/invite_user_to_organization", bytes.NewReader([]byte(body)))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("%d %s", rec.Code, rec.Body)
				return
			}
		}
	})
	b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}
