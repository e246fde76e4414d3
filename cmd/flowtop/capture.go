package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/flowtop/flowtop/tracker"
	"github.com/flowtop/flowtop/units"
)

// snaplenFlag is -s and --snaplen: 1..tracker.DefaultSnaplen bytes.
type snaplenFlag struct{ v *int }

func (f snaplenFlag) String() string {
	if f.v == nil || *f.v == 0 {
		return ""
	}
	return strconv.Itoa(*f.v)
}

func (f snaplenFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > tracker.DefaultSnaplen {
		return fmt.Errorf("want a number of bytes from 1 to %d", tracker.DefaultSnaplen)
	}
	*f.v = n
	return nil
}

// bufferFlag is --buffer: a size with an optional unit, at least tracker.MinBuffer.
type bufferFlag struct{ v *int }

func (f bufferFlag) String() string {
	if f.v == nil || *f.v == 0 {
		return ""
	}
	return units.FormatBytes(uint64(*f.v))
}

func (f bufferFlag) Set(s string) error {
	n, err := units.ParseSize(s)
	if err != nil {
		return err
	}
	if n < tracker.MinBuffer || n > 1<<40 {
		return fmt.Errorf("%s is outside %dMiB..1TiB", s, tracker.MinBuffer>>20)
	}
	*f.v = int(n)
	return nil
}

// openSource opens the file, the named interface or the default interface, with
// the capture filter if one was given.
func openSource(o *options) (tracker.Source, string, error) {
	filter := o.compiled
	if o.read != "" {
		src, err := tracker.OpenFile(o.read)
		if err != nil {
			return nil, "", err
		}
		if filter != nil {
			src = tracker.FilterSource(src, filter)
		}
		return src, o.read, nil
	}
	iface := o.iface
	if iface == "" {
		var err error
		if iface, err = tracker.DefaultInterface(); err != nil {
			return nil, "", fmt.Errorf("no interface to capture on: %v (name one with -i)", err)
		}
	}
	src, err := tracker.OpenLive(iface, tracker.LiveOptions{
		Promisc: !o.noPromisc,
		Snaplen: o.snaplen,
		Buffer:  o.buffer,
		Filter:  filter,
	})
	return src, iface, err
}

// openCapture opens the source and then, with -Z, drops privileges: the output
// files are created afterwards, as the user named, as tcpdump does.
// Process attribution is opened here too, before the drop; its resolver is nil
// when off, and msgs say what it lacks.
func openCapture(o *options) (src tracker.Source, name string, ps *procSource, msgs []string, err error) {
	if o.collect != "" {
		// Flow records, fed to the tracker by the collector (startCollect);
		// no local processes: the sockets are elsewhere.
		return tracker.NewIdleSource(), "flow records on " + o.collect, nil, nil, nil
	}
	src, name, err = openSource(o)
	if err != nil {
		return nil, "", nil, nil, err
	}
	ps, msgs = openProcSource(o, name)
	if o.user != "" {
		if err := dropPrivileges(o.user); err != nil {
			src.Close()
			ps.close()
			return nil, "", nil, nil, err
		}
	}
	return src, name, ps, msgs, nil
}

// reportCapture prints a live capture's kernel counters, as tcpdump does at exit.
func reportCapture(stderr io.Writer, iface string, st tracker.CaptureStats) {
	fmt.Fprintf(stderr, "flowtop: %s: %d packets received, %d dropped by the kernel\n", iface, st.Received, st.Dropped)
}
