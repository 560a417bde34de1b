package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"

	"guildhall/db"
	"guildhall/handlers"
)

// sessionKeysEnv names the environment variable with the keys that sign
// session cookies: several, separated by commas or spaces, newest first
// (it signs; the others still verify, for rotation). Each is at least
// handlers.SessionKeyMinBytes long, e.g. from `openssl rand -base64 48`.
const sessionKeysEnv = "GUILDHALL_SESSION_KEYS"

// sessionKeys returns the cookie-signing keys: from GUILDHALL_SESSION_KEYS
// when it is set, else generated once and kept in the database, so that a
// restart keeps people signed in.
func sessionKeys(ctx context.Context, store *db.DB) ([][]byte, error) {
	if v := strings.TrimSpace(os.Getenv(sessionKeysEnv)); v != "" {
		return parseSessionKeys(v)
	}
	return store.SessionKeys(ctx)
}

// parseSessionKeys splits the environment variable's value into keys.
func parseSessionKeys(v string) ([][]byte, error) {
	var keys [][]byte
	for _, k := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		if len(k) < handlers.SessionKeyMinBytes {
			return nil, fmt.Errorf("%s: each key must be at least %d characters long (try `openssl rand -base64 48`)", sessionKeysEnv, handlers.SessionKeyMinBytes)
		}
		keys = append(keys, []byte(k))
	}
	return keys, nil
}

// cidrList is a repeatable flag of networks, such as --trusted-proxy.
type cidrList []*net.IPNet

func (l *cidrList) String() string {
	parts := make([]string, len(*l))
	for i, n := range *l {
		parts[i] = n.String()
	}
	return strings.Join(parts, ",")
}

// Set parses one CIDR (or a bare address, taken as a single host).
func (l *cidrList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			ip := net.ParseIP(part)
			if ip == nil {
				return fmt.Errorf("%q is not an address or CIDR", part)
			}
			bits := 128
			if ip.To4() != nil {
				bits = 32
			}
			part = fmt.Sprintf("%s/%d", part, bits)
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			return fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", part)
		}
		*l = append(*l, n)
	}
	return nil
}
