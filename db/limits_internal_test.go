package db

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// TestRateLimiterIsBounded: a rate limiter tracks at most maxKeys keys
// (lowered here from rateLimiterMaxKeys, which works the same way). When
// all of them still count, a new key is refused rather than an old one
// forgotten; a key whose allowance has refilled is swept out to make room.
func TestRateLimiterIsBounded(t *testing.T) {
	ctx := context.Background()
	l := newRateLimiter(2, time.Hour) // one event per 30 minutes, a burst of 2
	l.maxKeys, l.sweepAt = 5, 5
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i := range l.maxKeys {
		if wait, _ := l.allow(ctx, "k"+strconv.Itoa(i), now); wait != 0 {
			t.Fatalf("key %d refused for %v", i, wait)
		}
	}
	if wait, _ := l.allow(ctx, "newcomer", now); wait <= 0 {
		t.Fatal("a new key was let into a full limiter")
	}
	if len(l.tat) != l.maxKeys {
		t.Fatalf("%d keys, want %d", len(l.tat), l.maxKeys)
	}
	// Each old key is still limited as before: one more, then a wait.
	if wait, _ := l.allow(ctx, "k0", now); wait != 0 {
		t.Fatalf("k0's second event refused for %v", wait)
	}
	if wait, _ := l.allow(ctx, "k0", now); wait <= 0 {
		t.Fatal("k0 was forgotten")
	}
	// Once the other keys' allowances have refilled, they make room.
	now = now.Add(30 * time.Minute)
	if wait, _ := l.allow(ctx, "newcomer", now); wait != 0 {
		t.Fatalf("after the others refilled, a new key refused for %v", wait)
	}
	if _, kept := l.tat["k0"]; !kept || len(l.tat) != 2 {
		t.Fatalf("after the sweep: %v; want k0, still counting, and the newcomer", l.tat)
	}
}
