package ecs

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"

	"github.com/wharfhq/wharf/api/ecsapi"
	"github.com/wharfhq/wharf/internal/agentproto"
	"github.com/wharfhq/wharf/internal/ptr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// This file is the awsvpc address manager: every awsvpc task (EC2 and
// FARGATE) gets a private IPv4 address and a MAC address of the server's
// task subnet, unique on the server, from its creation until it is
// STOPPED.
//
// Table "ecs.ipam" (store.System):
//
//	addr/<ipv4>   ipamRec (who holds the address)
//	cursor        ipamCursor (where the next search starts)
//
// Allocation and release are parts of the transactions that create and
// stop the task, so an address is never handed out twice nor leaked.

var tblIPAM = store.Table{Name: "ecs.ipam", Scope: store.System}

// DefaultTaskSubnet is the awsvpc task subnet when Options.TaskSubnet is
// not set.
var DefaultTaskSubnet = netip.MustParsePrefix("10.213.0.0/16")

// AwsvpcNetwork is the name of the runtime network agents attach awsvpc
// tasks to.
const AwsvpcNetwork = "wharf-awsvpc"

type ipamRec struct {
	Owner string `json:"owner"` // account/region/cluster/taskID
}

type ipamCursor struct {
	Next uint32 `json:"next"`
}

// subnetPool is the usable part of a task subnet: from the address after
// the gateway (network+1) to the one before broadcast.
type subnetPool struct {
	prefix  netip.Prefix
	gateway netip.Addr
	first   uint32
	size    uint32
}

func newSubnetPool(p netip.Prefix) (subnetPool, error) {
	p = p.Masked()
	if !p.Addr().Is4() || p.Bits() > 29 || p.Bits() < 8 {
		return subnetPool{}, fmt.Errorf("task subnet %s: need an IPv4 prefix between /8 and /29", p)
	}
	base := addrU32(p.Addr())
	total := uint32(1) << (32 - p.Bits())
	return subnetPool{prefix: p, gateway: u32Addr(base + 1), first: base + 2, size: total - 3}, nil
}

func addrU32(a netip.Addr) uint32 { b := a.As4(); return binary.BigEndian.Uint32(b[:]) }

func u32Addr(n uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], n)
	return netip.AddrFrom4(b)
}

// macFor derives a task's MAC address from its IPv4 address: locally
// administered (02), then 0x77 ('w'), then the four address bytes, so two
// tasks never share one.
func macFor(ip netip.Addr) string {
	b := ip.As4()
	return fmt.Sprintf("02:77:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}

// privateDNSName is the name EC2 gives an address: ip-10-0-0-5.ec2.internal
// in us-east-1, ip-10-0-0-5.REGION.compute.internal elsewhere.
func privateDNSName(ip netip.Addr, region string) string {
	host := "ip-" + strings.ReplaceAll(ip.String(), ".", "-")
	if region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + region + ".compute.internal"
}

// allocAddr takes the next free address of the pool for owner.
func (p subnetPool) allocAddr(tx store.Tx, owner string) (netip.Addr, error) {
	var cur ipamCursor
	if it, err := tx.Get(tblIPAM, "cursor"); err == nil {
		_ = json.Unmarshal(it.Value, &cur)
	} else if !isNotFound(err) {
		return netip.Addr{}, err
	} else {
		// A fresh pool starts at a random place: servers that share one
		// Docker network (a test machine, a re-created data dir whose old
		// tasks still run) then rarely hand out the same address.
		cur.Next = rand.Uint32N(p.size)
	}
	for i := uint32(0); i < p.size; i++ {
		off := (cur.Next + i) % p.size
		ip := u32Addr(p.first + off)
		_, err := tx.Get(tblIPAM, "addr/"+ip.String())
		if err == nil {
			continue
		}
		if !isNotFound(err) {
			return netip.Addr{}, err
		}
		b, _ := json.Marshal(ipamRec{Owner: owner})
		if _, err := tx.Put(tblIPAM, "addr/"+ip.String(), b); err != nil {
			return netip.Addr{}, err
		}
		b, _ = json.Marshal(ipamCursor{Next: (off + 1) % p.size})
		_, err = tx.Put(tblIPAM, "cursor", b)
		return ip, err
	}
	return netip.Addr{}, clientErr("The awsvpc task subnet %s has no free address: stop some awsvpc tasks and try again.", p.prefix)
}

// releaseAddr frees ip if owner holds it.
func releaseAddr(tx store.Tx, ip, owner string) error {
	it, err := tx.Get(tblIPAM, "addr/"+ip)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var r ipamRec
	if err := json.Unmarshal(it.Value, &r); err == nil && r.Owner != owner {
		return nil
	}
	return tx.Delete(tblIPAM, "addr/"+ip)
}

func addrOwner(ctx context.Context, t *taskRec) string {
	acct, _ := tenancy.Account(ctx)
	region, _ := tenancy.Region(ctx)
	return acct + "/" + region + "/" + t.Cluster + "/" + t.ID
}

// eniAttachment returns the task's ElasticNetworkInterface attachment.
func eniAttachment(t *taskRec) *ecsapi.Attachment {
	for i := range t.Attachments {
		if ptr.Value(t.Attachments[i].Type) == "ElasticNetworkInterface" {
			return &t.Attachments[i]
		}
	}
	return nil
}

func detail(a *ecsapi.Attachment, name string) string {
	for _, d := range a.Details {
		if ptr.Value(d.Name) == name {
			return ptr.Value(d.Value)
		}
	}
	return ""
}

// assignENI allocates the address of an awsvpc task and writes it into
// the task's attachment details, as ECS shows them.
func (s *Service) assignENI(ctx context.Context, tx store.Tx, t *taskRec) error {
	a := eniAttachment(t)
	if a == nil || detail(a, "privateIPv4Address") != "" {
		return nil
	}
	ip, err := s.pool.allocAddr(tx, addrOwner(ctx, t))
	if err != nil {
		return err
	}
	region, _ := tenancy.Region(ctx)
	subnet := detail(a, "subnetId")
	kv := func(n, v string) ecsapi.KeyValuePair { return ecsapi.KeyValuePair{Name: ptr.To(n), Value: ptr.To(v)} }
	a.Details = []ecsapi.KeyValuePair{
		kv("subnetId", subnet),
		kv("networkInterfaceId", "eni-"+newID()[:17]),
		kv("macAddress", macFor(ip)),
		kv("privateDnsName", privateDNSName(ip, region)),
		kv("privateIPv4Address", ip.String()),
	}
	return nil
}

// releaseENI frees a stopped task's address and marks its attachment
// DELETED.
func releaseENI(ctx context.Context, tx store.Tx, t *taskRec) error {
	a := eniAttachment(t)
	if a == nil {
		return nil
	}
	a.Status = ptr.To("DELETED")
	if ip := detail(a, "privateIPv4Address"); ip != "" {
		return releaseAddr(tx, ip, addrOwner(ctx, t))
	}
	return nil
}

// agentENI is the task's network interface as an assignment carries it.
func (s *Service) agentENI(t *taskRec, securityGroups []string) *agentproto.ENI {
	a := eniAttachment(t)
	if a == nil {
		return nil
	}
	return &agentproto.ENI{AttachmentID: ptr.Value(a.Id), SubnetID: detail(a, "subnetId"), SecurityGroups: securityGroups,
		Network: AwsvpcNetwork, SubnetCIDR: s.pool.prefix.String(), Gateway: s.pool.gateway.String(),
		PrivateIPv4: detail(a, "privateIPv4Address"), MACAddress: detail(a, "macAddress"), PrivateDNSName: detail(a, "privateDnsName")}
}

// containerInterfaces is what DescribeTasks shows in each container's
// networkInterfaces for an awsvpc task.
func containerInterfaces(t *taskRec) []ecsapi.NetworkInterface {
	a := eniAttachment(t)
	if a == nil || detail(a, "privateIPv4Address") == "" {
		return []ecsapi.NetworkInterface{}
	}
	return []ecsapi.NetworkInterface{{AttachmentId: a.Id, PrivateIpv4Address: ptr.To(detail(a, "privateIPv4Address"))}}
}
