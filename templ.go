// Package guildhall is the domain of an organization-membership server:
// roles and their ranks, the permission rules as pure functions, the
// membership types and a coded error. It imports none of the project's other
// packages; db implements the service over SQLite, handlers serves it over
// HTTP, views renders its pages.
package guildhall

import "embed"

//go:generate go tool templ generate

// Static holds the files under static/ (stylesheets, vendored htmx),
// embedded so the binary serves its own assets.
//
//go:embed static
var Static embed.FS
