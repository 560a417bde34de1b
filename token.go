package guildhall

import (
	"strings"
	"time"
)

// DefaultTokenTTL is how long a sign-in token from login or add_user stays
// valid, as QueryLake's tokens do (`guildhall serve --token-ttl`).
const DefaultTokenTTL = 7 * 24 * time.Hour

// The shapes of the secrets a caller may present. Both are the prefix and
// 48 random base62 characters; the prefix is what tells an API key from a
// sign-in token where the caller does not say which it is (a bare auth
// string, or Authorization: Bearer).
const (
	APIKeyPrefix = "sk-"
	TokenPrefix  = "tk-"
)

// CredentialsFromSecret reads a secret given without saying what it is:
// an API key if it has an API key's prefix, else a sign-in token.
func CredentialsFromSecret(secret string) Credentials {
	if strings.HasPrefix(secret, APIKeyPrefix) {
		return Credentials{APIKey: secret}
	}
	return Credentials{Token: secret}
}
