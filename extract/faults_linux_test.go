package extract

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// mountTmpfs mounts a tmpfs with opts on a new directory, or skips the test.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		t.Skipf("skipping: cannot mount a tmpfs (%v); needs root", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// TestReadOnlyDir: files cannot be created. Each extraction stops with an alert that
// names its file and the error; the capture is read to its end.
func TestReadOnlyDir(t *testing.T) {
	feature := contentsFeature(t)
	var dir string
	if os.Geteuid() == 0 {
		dir = mountTmpfs(t, "size=1m")
		if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			t.Skipf("skipping: cannot remount read-only: %v", err)
		}
	} else {
		dir = t.TempDir()
		os.Chmod(dir, 0o500)
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
	}
	alerts := extractTrace(t, filepath.Join(feature, "trace.pcap"), Config{Dir: dir})
	if len(alerts) == 0 {
		t.Fatal("no alert")
	}
	for _, a := range alerts {
		msg := a.Error()
		if !strings.Contains(msg, filepath.Join(dir, "contents_")) ||
			!(strings.Contains(msg, "read-only file system") || strings.Contains(msg, "permission denied")) {
			t.Errorf("alert %q does not name the file and the error", msg)
		}
	}
}

// TestDiskFull: a 16 KiB file system fills up during the extraction. The connection
// whose write failed stops with an alert naming its file; the others go on.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to mount a small tmpfs")
	}
	dir := mountTmpfs(t, "size=16k")
	alerts := extractTrace(t, ordinaryPcap, Config{Dir: dir})
	if len(alerts) == 0 {
		t.Fatal("no alert although the file system is full")
	}
	for _, a := range alerts {
		if !strings.Contains(a.Error(), "no space left on device") || !strings.Contains(a.File, "contents_") {
			t.Errorf("alert %q", a.Error())
		}
	}
}
