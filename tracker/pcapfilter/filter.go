package pcapfilter

import (
	"fmt"

	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"
)

// Filter is a parsed capture filter expression.
type Filter struct {
	expr string
	root node // nil: accept everything
}

// Parse parses expr, resolving host, port, protocol and network names.
// The error, if any, is one line naming the offending token.
func Parse(expr string) (*Filter, error) {
	root, err := parse(expr)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	return &Filter{expr: expr, root: root}, nil
}

// String returns the expression as given to Parse.
func (f *Filter) String() string { return f.expr }

// Compile returns the BPF program of f for packets of the given link type.
// Accepted packets make the program return snaplen, rejected ones 0.
func (f *Filter) Compile(link layers.LinkType, snaplen uint32) ([]bpf.RawInstruction, error) {
	prog, err := f.program(link, snaplen)
	if err != nil {
		return nil, err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, f.errorf("%v", err)
	}
	return raw, nil
}

// program compiles f into instructions.
func (f *Filter) program(link layers.LinkType, snaplen uint32) ([]bpf.Instruction, error) {
	if snaplen == 0 {
		return nil, f.errorf("snaplen of 0 rejects all packets")
	}
	c, err := newCompiler(link)
	if err != nil {
		return nil, f.errorf("%v", err)
	}
	var root cond
	if f.root != nil {
		if root, err = c.gen(f.root); err != nil {
			return nil, f.errorf("%v", err)
		}
	}
	prog, err := assemble(root, snaplen)
	if err != nil {
		return nil, f.errorf("%v", err)
	}
	return prog, nil
}

func (f *Filter) errorf(format string, args ...any) error {
	return fmt.Errorf("filter %q: %s", f.expr, fmt.Sprintf(format, args...))
}
