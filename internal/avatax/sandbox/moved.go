// Package sandbox is where the AvaTax emulator lived before it moved to
// internal/avataxsim. It keeps only the constant that internal/worker's
// tests still import from here, so that they build until they import
// avataxsim themselves; then this package is deleted.
//
// Deprecated: use github.com/taxbridge/taxbridge/internal/avataxsim.
package sandbox

import "github.com/taxbridge/taxbridge/internal/avataxsim"

// HeaderFault is avataxsim.HeaderFault.
//
// Deprecated: use avataxsim.HeaderFault.
const HeaderFault = avataxsim.HeaderFault
