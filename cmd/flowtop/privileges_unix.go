//go:build unix

package main

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// dropPrivileges makes the process run as the user name (-Z), with that user's
// groups, once the capture is open: tcpdump's -Z. The change applies to every
// thread and leaves no capability behind.
func dropPrivileges(name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("-Z %s: no such user", name)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("-Z %s: user has a non-numeric uid or gid", name)
	}
	gids := []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil && g != gid {
				gids = append(gids, g)
			}
		}
	}
	if err := syscall.Setgroups(gids); err != nil {
		return fmt.Errorf("-Z %s: set groups: %v (dropping privileges needs root)", name, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("-Z %s: set gid %d: %v", name, gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("-Z %s: set uid %d: %v", name, uid, err)
	}
	return nil
}
