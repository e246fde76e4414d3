// Command load is the soak test's traffic: a server (-serve) of short TCP
// exchanges (port 8000), long slow TCP streams (8001) and UDP echoes (8053),
// and a client (-client) that makes RATE short connections and RATE/10 UDP
// exchanges a second and holds LONG long connections, for DURATION, then
// prints what it made: "short N udp N long N failed N udpconns N ambiguous N".
// A UDP exchange from a local port used less than a minute before is the same
// connection (the UDP inactivity timeout), so udpconns counts the exchanges
// from a port unused for over 65 s, and ambiguous those between 55 and 65 s.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	serve := flag.String("serve", "", "serve on `ADDR`")
	client := flag.String("client", "", "load the server at `ADDR`")
	rate := flag.Int("rate", 2000, "short connections a second")
	long := flag.Int("long", 4, "long connections held")
	duration := flag.Duration("duration", time.Minute, "how long the client runs")
	flag.Parse()
	switch {
	case *serve != "":
		// The server runs until it is killed, or fails.
		fmt.Fprintln(os.Stderr, "load:", runServer(*serve))
		os.Exit(1)
	case *client != "":
		runClient(*client, *rate, *long, *duration)
	default:
		flag.Usage()
		os.Exit(2)
	}
}

// runServer serves until a listener fails, and returns why.
func runServer(addr string) error {
	short, err := net.Listen("tcp", net.JoinHostPort(addr, "8000"))
	if err != nil {
		return err
	}
	long, err := net.Listen("tcp", net.JoinHostPort(addr, "8001"))
	if err != nil {
		return err
	}
	udp, err := net.ListenPacket("udp", net.JoinHostPort(addr, "8053"))
	if err != nil {
		return err
	}
	reply := make([]byte, 1024)
	go accept(short, func(c net.Conn) {
		buf := make([]byte, 512)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, buf[:100]); err == nil {
			c.Write(reply)
		}
	})
	go accept(long, func(c net.Conn) {
		for {
			if _, err := c.Write(reply[:100]); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	buf := make([]byte, 2048)
	for {
		n, from, err := udp.ReadFrom(buf)
		if err != nil {
			return err
		}
		udp.WriteTo(buf[:n], from)
	}
}

func accept(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}

func runClient(addr string, rate, long int, duration time.Duration) {
	var short, udp, failed atomic.Int64
	var mu sync.Mutex
	lastUsed := map[int]time.Time{}
	var udpConns, ambiguous int
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var longs []net.Conn
	for range long {
		if c, err := net.Dial("tcp", net.JoinHostPort(addr, "8001")); err == nil {
			longs = append(longs, c)
			go io.Copy(io.Discard, c)
		} else {
			failed.Add(1)
		}
	}
	req := make([]byte, 100)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.After(duration)
	n := 0
loop:
	for {
		select {
		case <-end:
			break loop
		case <-tick.C:
		}
		n++
		wg.Add(1)
		go func(udpToo bool) {
			defer wg.Done()
			if c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "8000"), 5*time.Second); err == nil {
				c.SetDeadline(time.Now().Add(10 * time.Second))
				_, werr := c.Write(req)
				_, rerr := io.ReadFull(c, make([]byte, 1024))
				c.Close()
				if werr == nil && rerr == nil {
					short.Add(1)
				} else {
					failed.Add(1)
				}
			} else {
				failed.Add(1)
			}
			if udpToo {
				if c, err := net.Dial("udp", net.JoinHostPort(addr, "8053")); err == nil {
					c.SetDeadline(time.Now().Add(5 * time.Second))
					now := time.Now()
					c.Write(req[:60])
					if _, err := c.Read(make([]byte, 100)); err == nil {
						udp.Add(1)
						port := c.LocalAddr().(*net.UDPAddr).Port
						mu.Lock()
						last, seen := lastUsed[port]
						switch gap := now.Sub(last); {
						case !seen || gap > 65*time.Second:
							udpConns++
						case gap > 55*time.Second:
							ambiguous++
						}
						lastUsed[port] = time.Now()
						mu.Unlock()
					} else {
						failed.Add(1)
					}
					c.Close()
				}
			}
		}(n%10 == 0)
	}
	wg.Wait()
	close(stop)
	for _, c := range longs {
		c.Close()
	}
	fmt.Printf("short %d udp %d long %d failed %d udpconns %d ambiguous %d\n", short.Load(), udp.Load(), len(longs), failed.Load(), udpConns, ambiguous)
}
