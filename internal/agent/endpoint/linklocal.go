package endpoint

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
)

// ErrNotRoot: EnsureAddress needs root to add an address and the address
// is not there.
var ErrNotRoot = errors.New("adding an address to the loopback interface needs root")

// loopback is the interface the link-local address goes on.
const loopback = "lo"

// geteuid is os.Geteuid; tests replace it to see the error a non-root
// agent gets.
var geteuid = os.Geteuid

// EnsureAddress makes addr (an IPv4 address, normally LinkLocalAddress) a
// local address of the host by adding it to the loopback interface, if it
// is not one already. Containers on Docker bridge networks (the default
// bridge and user-defined ones) route it to their gateway, the host, which
// delivers packets for a local address to its own sockets: no NAT rule is
// needed. It runs `ip addr add ADDR/32 dev lo` (iproute2) and needs root;
// without root it returns an error that Is ErrNotRoot.
func EnsureAddress(ctx context.Context, addr string) error {
	ip := net.ParseIP(addr)
	if ip == nil || ip.To4() == nil {
		return fmt.Errorf("ensure address %q: not an IPv4 address", addr)
	}
	if has, err := hasAddress(ip); err != nil {
		return fmt.Errorf("ensure address %s: %w", addr, err)
	} else if has {
		return nil
	}
	if geteuid() != 0 {
		return fmt.Errorf("ensure address %s on %s: %w", addr, loopback, ErrNotRoot)
	}
	out, err := exec.CommandContext(ctx, "ip", "addr", "add", ip.String()+"/32", "dev", loopback).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "File exists") { // added concurrently: fine
		return fmt.Errorf("ensure address %s: ip addr add: %v: %s", addr, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// hasAddress reports whether ip is already an address of the loopback
// interface.
func hasAddress(ip net.IP) (bool, error) {
	ifc, err := net.InterfaceByName(loopback)
	if err != nil {
		return false, err
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true, nil
		}
	}
	return false, nil
}
