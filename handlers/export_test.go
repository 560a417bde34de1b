package handlers

import (
	"maps"
	"slices"
)

// ConfirmationRoutes lists the routes of the actions that ask first (their
// GET answers with the question), as the router registers them.
func ConfirmationRoutes() []string {
	return slices.Sorted(maps.Keys((&Server{}).destructiveActions()))
}
