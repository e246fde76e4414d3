//go:build !unix

package main

import "fmt"

// dropPrivileges is -Z, which needs a Unix system.
func dropPrivileges(name string) error {
	return fmt.Errorf("-Z %s: dropping privileges is not supported on this system", name)
}
