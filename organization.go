package guildhall

import (
	"slices"
	"strings"
	"time"
)

// Limits on organization fields.
const (
	OrganizationNameMaxLen        = 100  // characters
	OrganizationDescriptionMaxLen = 2000 // characters
	// DefaultInviteTTL is how long a pending invitation stays open.
	DefaultInviteTTL = 7 * 24 * time.Hour
	// AuditLogMaxEvents is the most audit events one page lists.
	AuditLogMaxEvents = ListMaxLimit
	// MaxBulkInvitations is the most invitations one
	// invite_users_to_organization call may send.
	MaxBulkInvitations = 100
)

// Organization is a named group of members.
type Organization struct {
	ID          int64
	Name        string
	Description string
	Created     time.Time
}

// Status is where a membership stands: invited, or accepted.
type Status string

// The two membership statuses.
const (
	StatusPending Status = "pending"
	StatusActive  Status = "active"
)

// Membership is one user's place in one organization: an open invitation
// (pending) or an accepted membership (active).
type Membership struct {
	OrganizationID   int64
	OrganizationName string
	Username         string
	Role             Role
	Status           Status
	Sender           string    // who invited; empty for the founding owner or a deleted sender
	Created          time.Time // when invited (or when the organization was founded)
	Expires          time.Time // pending only: when the invitation lapses
	Accepted         time.Time // active only
}

// Open reports whether m is an invitation not yet accepted, QueryLake's
// invite_still_open.
func (m Membership) Open() bool { return m.Status == StatusPending }

// Expired reports whether m is a pending invitation past its expiry at now.
func (m Membership) Expired(now time.Time) bool {
	return m.Status == StatusPending && !m.Expires.IsZero() && !now.Before(m.Expires)
}

// Audit actions, one per kind of change to a membership.
const (
	ActionCreate  = "create_organization"
	ActionInvite  = "invite"
	ActionAccept  = "accept"
	ActionDecline = "decline"
	ActionRevoke  = "revoke"
	ActionRole    = "change_role"
	ActionRemove  = "remove"
	ActionLeave   = "leave"
	// ActionTransfer: the target became owner and the actor RoleAfterTransfer.
	ActionTransfer = "transfer_ownership"
	// ActionResend: a pending invitation got a new expiry.
	ActionResend = "resend"
	// ActionRename: the organization's name changed to the target (OldName before).
	ActionRename = "rename_organization"
	// ActionDescribe: the organization's description changed.
	ActionDescribe = "describe_organization"
)

// Invitation is one row of a bulk invitation: whom to invite, as what.
type Invitation struct {
	Username string
	Role     Role
}

// InvitationResult is how one row of a bulk invitation went: Invited, or
// refused with Err, the refusal a single invitation would have met. A row
// neither invited nor refused was held back: it would have succeeded, but
// the call was all or nothing and another row was refused.
type InvitationResult struct {
	Username string
	Invited  bool
	Err      error
}

// AuditEvent records one change to an organization's membership.
type AuditEvent struct {
	ID             int64
	OrganizationID int64
	Time           time.Time
	Actor          string
	Action         string
	Target         string
	Role           Role
	// OldRole is the role before a change (change_role, transfer_ownership);
	// empty for other actions and for events recorded before it was kept.
	OldRole Role
	// OldName is the organization's name before a rename.
	OldName string
}

// MembershipSubset selects which of a user's memberships to list.
type MembershipSubset string

// The subsets fetch_memberships accepts, as QueryLake names them.
const (
	SubsetAccepted        MembershipSubset = "accepted"
	SubsetOpenInvitations MembershipSubset = "open_invitations"
	SubsetAll             MembershipSubset = "all"
)

// MembershipSubsets are the subsets fetch_memberships accepts.
var MembershipSubsets = []MembershipSubset{SubsetAccepted, SubsetOpenInvitations, SubsetAll}

// ParseMembershipSubset validates which memberships to list.
func ParseMembershipSubset(s string) (MembershipSubset, error) {
	if v := MembershipSubset(s); slices.Contains(MembershipSubsets, v) {
		return v, nil
	}
	return "", Errorf(EINVALID, "The memberships to list must be \"accepted\", \"open_invitations\" or \"all\", not %q.", s)
}

// MembershipsQuery asks for one page of a user's own memberships.
type MembershipsQuery struct {
	Subset MembershipSubset
	// Cursor continues from a page's NextCursor ("" from the start); it
	// belongs to one user and subset.
	Cursor string
	// Limit is the rows in the page, 1 to ListMaxLimit (0: ListDefaultLimit).
	Limit int
}

// MembershipsPage is one page of a user's memberships, in the order they
// were made (oldest first), and the cursor to the next ("" on the last).
type MembershipsPage struct {
	Memberships []Membership
	NextCursor  string
}

// AuditQuery asks for one page of an organization's audit trail.
type AuditQuery struct {
	// Cursor continues from a page's NextCursor ("" from the newest event).
	Cursor string
	// Limit is the events in the page, 1 to ListMaxLimit (0: ListDefaultLimit).
	Limit int
}

// AuditPage is one page of an audit trail, newest first, and the cursor
// to the older events ("" when there are none).
type AuditPage struct {
	Events     []AuditEvent
	NextCursor string
}

// Organization texts, checked by the one TextField rule.
var (
	OrganizationNameText        = TextField{Label: "Organization name", MaxLen: OrganizationNameMaxLen, Required: true}
	OrganizationDescriptionText = TextField{Label: "Organization description", MaxLen: OrganizationDescriptionMaxLen, Multiline: true}
)

// NormalizeOrganizationName trims name and checks it: 1 to 100 characters
// of text (see TextField).
func NormalizeOrganizationName(name string) (string, error) {
	return OrganizationNameText.Normalize(name)
}

// CheckDeletionConfirmation compares the name typed to confirm a deletion
// with the organization's name: they must be equal, apart from spaces
// around what was typed. Typing the name is what makes deletion deliberate.
func CheckDeletionConfirmation(name, typed string) error {
	if strings.TrimSpace(typed) != name {
		return Errorf(EINVALID, "To delete %s, type its name exactly as it is written.", name)
	}
	return nil
}

// NormalizeOrganizationDescription trims a description and checks its length.
// It is up to 2000 characters of text, line breaks allowed (see TextField).
func NormalizeOrganizationDescription(desc string) (string, error) {
	return OrganizationDescriptionText.Normalize(desc)
}
