package config_test

import (
	"fmt"

	"github.com/flowtop/flowtop/config"
	"github.com/flowtop/flowtop/tracker"
)

func ExampleParse() {
	file := `
[tracker]
ignore_checksums = true
local_nets = ["10.0.0.0/8", "2001:db8::/32"]
tcp_inactivity_timeout = "10m"

[tracker.port_inactivity]
"3389/tcp" = "30m"
"23/tcp" = 0
`
	c, err := config.Parse("config.toml", []byte(file))
	if err != nil {
		fmt.Println(err)
		return
	}
	tc := c.TrackerConfig(tracker.Config{})
	fmt.Println(tc.IgnoreChecksums, tc.LocalNets, tc.Timeouts.TCPInactivity)
	fmt.Println(tc.PortInactivity[tracker.PortProto{Port: 3389, Proto: tracker.ProtoTCP}], len(tc.PortInactivity))

	_, err = config.Parse("config.toml", []byte("[tracker]\nlikely_server_ports = [\"80/tcpx\"]\n"))
	fmt.Println(err)
	// Output:
	// true [10.0.0.0/8 2001:db8::/32] 10m0s
	// 30m0s 4
	// config.toml:2: tracker.likely_server_ports: port "80/tcpx": protocol must be tcp, udp or icmp
}
