package analyzer

// Services that no parser of this package confirms: the labels Zeek's scripts add
// to expected data connections, and the tunnel packet analyzers, which the tracker
// runs on the outer UDP connection (service-detection.md §4 and §6).
func init() {
	for _, l := range []*Analyzer{
		{Name: "ftp-data", With: "ftp"},
		{Name: "irc-dcc-data", With: "irc"},
		{Name: "gridftp", With: "ftp"},
		{Name: "gridftp-data", With: "ftp"},
		{Name: "vxlan"},
		{Name: "geneve"},
		{Name: "teredo"},
		{Name: "ayiya"},
		{Name: "gtpv1"},
	} {
		register(l)
	}
}
