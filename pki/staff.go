package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ronghe/ronghe"
)

// staffURIPrefix starts the URI SAN of a staff certificate: a person on the
// operator's (the central-bank branch's) staff, who reaches the lake's
// catalog and governed SQL. A staff certificate names no institution,
// enterprise or node, so it opens none of their endpoints; theirs name no
// staff member, so they open none of the staff's.
const staffURIPrefix = "urn:ronghe:staff:"

// StaffOwnerPrefix starts the owner under which the store records a staff
// certificate ("staff:<name>"), apart from institution codes and USCCs.
const StaffOwnerPrefix = "staff:"

// staffOU marks the subject of a staff certificate; the role follows it in
// a second organizational unit.
const staffOU = "staff"

// validStaffName is what a staff member's name may look like: it travels in
// a URI SAN (ASCII only) and in the query log, so it is a login name.
var validStaffName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,62}$`)

// validStaffRole is what a role name may look like; which roles exist is
// the lake's business (lakesql.Roles), checked when issuing and on every
// request.
var validStaffRole = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ValidStaffName reports whether name can name a staff member.
func ValidStaffName(name string) bool { return validStaffName.MatchString(name) }

// Staff is the identity a staff certificate carries.
type Staff struct {
	// Name is the person's login name, recorded in the query log.
	Name string `json:"name"`
	// Role is the lake role the certificate grants (analyst, supervisor,
	// admin).
	Role string `json:"role"`
}

// IssueStaff issues a client certificate to the staff member name in the
// given role, valid for validity. The person is named by the URI SAN
// urn:ronghe:staff:<name>; the role by the subject, OU=staff and OU=<role>,
// signed by the CA like the rest: a role claimed anywhere else is never
// believed. Changing a person's role is issuing a new certificate and
// revoking the old one.
func (ca *CA) IssueStaff(name, role string, validity time.Duration) (*Issued, error) {
	if !ValidStaffName(name) {
		return nil, ronghe.Errorf(ronghe.EINVALID, "invalid staff name %q: 1-63 characters A-Z a-z 0-9 . _ @ -, starting with a letter or digit", name)
	}
	if !validStaffRole.MatchString(role) || role == staffOU {
		return nil, ronghe.Errorf(ronghe.EINVALID, "invalid staff role %q", role)
	}
	u, err := url.Parse(staffURIPrefix + name)
	if err != nil {
		return nil, ronghe.WrapError(ronghe.EINVALID, err, "invalid staff name "+name)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: name, OrganizationalUnit: []string{staffOU, role}, Organization: []string{"Ronghe"}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		URIs:        []*url.URL{u},
	}
	return ca.issue(tmpl, StaffOwnerPrefix+name, validity)
}

// StaffOf returns the staff identity a verified client certificate was
// issued to, or EUNAUTHORIZED when it names no staff member (an
// institution's, an enterprise's or a node's certificate).
func StaffOf(cert *x509.Certificate) (Staff, error) {
	var name string
	for _, u := range cert.URIs {
		if s := u.String(); strings.HasPrefix(s, staffURIPrefix) {
			if n := strings.TrimPrefix(s, staffURIPrefix); ValidStaffName(n) {
				name = n
			}
		}
	}
	if name == "" {
		return Staff{}, ronghe.Errorf(ronghe.EUNAUTHORIZED, "client certificate names no member of the operator's staff")
	}
	// The two units are one DER SET, sorted: either may come first.
	ou := cert.Subject.OrganizationalUnit
	var role string
	if len(ou) == 2 && ou[0] == staffOU {
		role = ou[1]
	} else if len(ou) == 2 && ou[1] == staffOU {
		role = ou[0]
	}
	if !validStaffRole.MatchString(role) || role == staffOU {
		return Staff{}, ronghe.Errorf(ronghe.EUNAUTHORIZED, "staff certificate of %s carries no role", name)
	}
	return Staff{Name: name, Role: role}, nil
}

// IsPartyCertificate reports whether cert names an institution, an
// enterprise or a node: a certificate the platform issued to someone who
// is not on the operator's staff.
func IsPartyCertificate(cert *x509.Certificate) bool {
	for _, u := range cert.URIs {
		s := u.String()
		if strings.HasPrefix(s, institutionURIPrefix) || strings.HasPrefix(s, enterpriseURIPrefix) || strings.HasPrefix(s, nodeURIPrefix) {
			return true
		}
	}
	return false
}
