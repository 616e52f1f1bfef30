package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	netlisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// The NetworkPolicy agent of one node. It runs in the node's network namespace and keeps
// iptables' filter table there in step with the NetworkPolicies that select the pods on
// this node:
//
//	FORWARD -> STAGESET-NETPOL: established/related traffic returns at once; then every
//	  egress-isolated local pod's traffic (-s podIP) goes to its SSNP-E-* chain and every
//	  ingress-isolated local pod's traffic (-d podIP) to its SSNP-I-* chain. Those chains
//	  RETURN what a policy allows and DROP the rest. Peers with ipBlock.except get a small
//	  SSNP-X-* chain that sets a mark bit when the peer matches.
//
// Traffic from the node itself (kubelet probes) does not pass FORWARD and stays allowed.
// Only IPv4 is handled. It is a test cluster's enforcer, written for clarity, not scale.

const (
	mainChain = "STAGESET-NETPOL"
	chainPre  = "SSNP-"
	allowMark = "0x10000/0x10000"
)

type netpolAgent struct {
	node     string
	pods     corelisters.PodLister
	nss      corelisters.NamespaceLister
	policies netlisters.NetworkPolicyLister
	last     string
}

func runNetpol(args []string) error {
	fs := flag.NewFlagSet("netpol", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the cluster")
	node := fs.String("node", "", "name of this node")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *kubeconfig == "" || *node == "" {
		return fmt.Errorf("usage: netpol -kubeconfig FILE -node NAME")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()

	factory := informers.NewSharedInformerFactory(client, 0)
	poke := make(chan struct{}, 1)
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { nudge(poke) },
		UpdateFunc: func(any, any) { nudge(poke) },
		DeleteFunc: func(any) { nudge(poke) },
	}
	a := &netpolAgent{
		node:     *node,
		pods:     factory.Core().V1().Pods().Lister(),
		nss:      factory.Core().V1().Namespaces().Lister(),
		policies: factory.Networking().V1().NetworkPolicies().Lister(),
	}
	for _, inf := range []cache.SharedIndexInformer{
		factory.Core().V1().Pods().Informer(),
		factory.Core().V1().Namespaces().Informer(),
		factory.Networking().V1().NetworkPolicies().Informer(),
	} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return err
		}
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("cache for %v did not sync", typ)
		}
	}
	log.Printf("netpol: caches synced for node %s", a.node)
	nudge(poke)
	retry := time.NewTicker(10 * time.Second)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			a.cleanup()
			return nil
		case <-poke:
			time.Sleep(50 * time.Millisecond) // let a burst of events settle
		case <-retry.C:
		}
		if err := a.sync(); err != nil {
			log.Printf("netpol: sync failed: %v", err)
			a.last = ""
		}
	}
}

func nudge(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// portMatch is one protocol and optionally one port or "from:to" range ("" = every port).
type portMatch struct{ proto, port string }

// peerMatch is a peer address range: "" is any address; excepts carve holes into it.
type peerMatch struct {
	cidr    string
	excepts []string
}

type allowEntry struct {
	peer peerMatch
	port *portMatch // nil: every protocol and port
}

func (a *netpolAgent) sync() error {
	pods, err := a.pods.List(labels.Everything())
	if err != nil {
		return err
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].UID < pods[j].UID })
	var out strings.Builder
	chains := []string{mainChain}
	var rules, jumpsOut, jumpsIn []string
	for _, pod := range pods {
		ip := podIPv4(pod)
		if pod.Spec.NodeName != a.node || ip == "" || pod.Spec.HostNetwork || podFinished(pod) {
			continue
		}
		var ingress, egress []allowEntry
		isoIn, isoOut := false, false
		nps, err := a.policies.NetworkPolicies(pod.Namespace).List(labels.Everything())
		if err != nil {
			return err
		}
		for _, np := range nps {
			sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
				continue
			}
			hasIn, hasOut := policyTypes(np)
			if hasIn {
				isoIn = true
				for _, r := range np.Spec.Ingress {
					ingress = append(ingress, a.allowed(np.Namespace, r.From, r.Ports, pod, true, pods)...)
				}
			}
			if hasOut {
				isoOut = true
				for _, r := range np.Spec.Egress {
					egress = append(egress, a.allowed(np.Namespace, r.To, r.Ports, pod, false, pods)...)
				}
			}
		}
		// One chain per isolated direction: the main chain jumps there on the pod's address
		// (-s for its egress, -d for its ingress), and the chain matches the peers' side.
		podChain := func(dir, podSide, peerSide string, allowed []allowEntry) string {
			name := chainName(dir, string(pod.UID))
			chains = append(chains, name)
			sub, rs := renderPodChain(name, peerSide, allowed, string(pod.UID)+"/"+dir)
			chains = append(chains, sub...)
			rules = append(rules, rs...)
			return fmt.Sprintf("-A %s %s %s/32 -j %s", mainChain, podSide, ip, name)
		}
		if isoOut {
			jumpsOut = append(jumpsOut, podChain("E", "-s", "-d", egress))
		}
		if isoIn {
			jumpsIn = append(jumpsIn, podChain("I", "-d", "-s", ingress))
		}
	}
	existing, err := existingChains()
	if err != nil {
		return err
	}
	want := map[string]bool{}
	out.WriteString("*filter\n")
	for _, c := range chains {
		want[c] = true
		fmt.Fprintf(&out, ":%s - [0:0]\n", c)
	}
	var stale []string
	for _, c := range existing {
		if strings.HasPrefix(c, chainPre) && !want[c] {
			stale = append(stale, c)
			fmt.Fprintf(&out, ":%s - [0:0]\n", c)
		}
	}
	fmt.Fprintf(&out, "-A %s -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN\n", mainChain)
	for _, r := range append(append(jumpsOut, jumpsIn...), rules...) {
		out.WriteString(r + "\n")
	}
	for _, c := range stale {
		fmt.Fprintf(&out, "-X %s\n", c)
	}
	out.WriteString("COMMIT\n")
	payload := out.String()
	if payload == a.last && len(stale) == 0 {
		return nil
	}
	cmd := exec.Command("iptables-restore", "-w", "--noflush")
	cmd.Stdin = strings.NewReader(payload)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables-restore: %v: %s\n%s", err, msg, payload)
	}
	if err := exec.Command("iptables", "-w", "-C", "FORWARD", "-j", mainChain).Run(); err != nil {
		if msg, err := exec.Command("iptables", "-w", "-I", "FORWARD", "1", "-j", mainChain).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables -I FORWARD: %v: %s", err, msg)
		}
	}
	a.last = payload
	log.Printf("netpol: programmed %d isolated directions, %d chains", len(jumpsIn)+len(jumpsOut), len(chains))
	return nil
}

// renderPodChain writes a local pod's chain for one direction: peerFlag is "-s" for
// ingress (the peer is the source) and "-d" for egress.
func renderPodChain(name, peerFlag string, entries []allowEntry, seed string) (subChains, rules []string) {
	needsMark := false
	for _, e := range entries {
		if len(e.peer.excepts) > 0 {
			needsMark = true
		}
	}
	if needsMark {
		rules = append(rules, fmt.Sprintf("-A %s -j MARK --set-xmark 0x0/0x10000", name))
	}
	for i, e := range entries {
		ports := portArgs(e.port)
		if len(e.peer.excepts) == 0 {
			peer := ""
			if e.peer.cidr != "" {
				peer = fmt.Sprintf(" %s %s", peerFlag, e.peer.cidr)
			}
			rules = append(rules, fmt.Sprintf("-A %s%s%s -j RETURN", name, peer, ports))
			continue
		}
		sub := chainName("X", fmt.Sprintf("%s/%d", seed, i))
		subChains = append(subChains, sub)
		for _, ex := range e.peer.excepts {
			rules = append(rules, fmt.Sprintf("-A %s %s %s -j RETURN", sub, peerFlag, ex))
		}
		rules = append(rules, fmt.Sprintf("-A %s%s -j MARK --set-xmark %s", sub, ports, allowMark))
		peer := ""
		if e.peer.cidr != "" {
			peer = fmt.Sprintf(" %s %s", peerFlag, e.peer.cidr)
		}
		rules = append(rules, fmt.Sprintf("-A %s%s -j %s", name, peer, sub))
		rules = append(rules, fmt.Sprintf("-A %s -m mark --mark %s -j RETURN", name, allowMark))
	}
	rules = append(rules, fmt.Sprintf("-A %s -j DROP", name))
	return subChains, rules
}

func portArgs(p *portMatch) string {
	if p == nil {
		return ""
	}
	proto := strings.ToLower(p.proto)
	if p.port == "" {
		return " -p " + proto
	}
	return fmt.Sprintf(" -p %s -m %s --dport %s", proto, proto, p.port)
}

// allowed turns one ingress or egress rule of a policy in namespace ns into allow entries
// for the local pod. peers empty means every peer; ports empty means every port.
func (a *netpolAgent) allowed(ns string, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort,
	local *corev1.Pod, ingress bool, all []*corev1.Pod) []allowEntry {
	type candidate struct {
		peer peerMatch
		pod  *corev1.Pod
	}
	var cands []candidate
	if len(peers) == 0 {
		cands = append(cands, candidate{})
	}
	for _, p := range peers {
		if p.IPBlock != nil {
			cands = append(cands, candidate{peer: peerMatch{cidr: p.IPBlock.CIDR, excepts: p.IPBlock.Except}})
			continue
		}
		for _, pod := range a.selectPods(ns, p, all) {
			cands = append(cands, candidate{peer: peerMatch{cidr: podIPv4(pod) + "/32"}, pod: pod})
		}
	}
	var out []allowEntry
	if len(ports) == 0 {
		for _, c := range cands {
			out = append(out, allowEntry{peer: c.peer})
		}
		return out
	}
	for _, np := range ports {
		proto := string(corev1.ProtocolTCP)
		if np.Protocol != nil {
			proto = string(*np.Protocol)
		}
		for _, c := range cands {
			switch {
			case np.Port == nil:
				out = append(out, allowEntry{peer: c.peer, port: &portMatch{proto: proto}})
			case np.Port.Type == intstr.Int:
				port := fmt.Sprint(np.Port.IntVal)
				if np.EndPort != nil {
					port = fmt.Sprintf("%d:%d", np.Port.IntVal, *np.EndPort)
				}
				out = append(out, allowEntry{peer: c.peer, port: &portMatch{proto: proto, port: port}})
			case ingress: // a named port of the local pod
				if n := namedPort(local, np.Port.StrVal, proto); n != 0 {
					out = append(out, allowEntry{peer: c.peer, port: &portMatch{proto: proto, port: fmt.Sprint(n)}})
				}
			case c.pod != nil: // egress to a pod: that pod's named port
				if n := namedPort(c.pod, np.Port.StrVal, proto); n != 0 {
					out = append(out, allowEntry{peer: c.peer, port: &portMatch{proto: proto, port: fmt.Sprint(n)}})
				}
			default: // egress to an address range: every pod in it that has the named port
				for _, pod := range all {
					ip := podIPv4(pod)
					if n := namedPort(pod, np.Port.StrVal, proto); n != 0 && ip != "" && inPeer(ip, c.peer) {
						out = append(out, allowEntry{peer: peerMatch{cidr: ip + "/32"}, port: &portMatch{proto: proto, port: fmt.Sprint(n)}})
					}
				}
			}
		}
	}
	return out
}

// selectPods returns the pods (with an IPv4 address, not host-network) that a pod or
// namespace selector peer of a policy in namespace ns picks.
func (a *netpolAgent) selectPods(ns string, p networkingv1.NetworkPolicyPeer, all []*corev1.Pod) []*corev1.Pod {
	podSel := labels.Everything()
	if p.PodSelector != nil {
		s, err := metav1.LabelSelectorAsSelector(p.PodSelector)
		if err != nil {
			return nil
		}
		podSel = s
	}
	var nsOK func(string) bool
	if p.NamespaceSelector == nil {
		nsOK = func(n string) bool { return n == ns }
	} else {
		s, err := metav1.LabelSelectorAsSelector(p.NamespaceSelector)
		if err != nil {
			return nil
		}
		nsOK = func(n string) bool {
			obj, err := a.nss.Get(n)
			return err == nil && s.Matches(labels.Set(obj.Labels))
		}
	}
	var out []*corev1.Pod
	for _, pod := range all {
		if podIPv4(pod) == "" || pod.Spec.HostNetwork || podFinished(pod) {
			continue
		}
		if nsOK(pod.Namespace) && podSel.Matches(labels.Set(pod.Labels)) {
			out = append(out, pod)
		}
	}
	return out
}

func policyTypes(np *networkingv1.NetworkPolicy) (ingress, egress bool) {
	if len(np.Spec.PolicyTypes) == 0 {
		return true, len(np.Spec.Egress) > 0
	}
	for _, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

func namedPort(pod *corev1.Pod, name, proto string) int32 {
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			pp := string(p.Protocol)
			if pp == "" {
				pp = string(corev1.ProtocolTCP)
			}
			if p.Name == name && pp == proto {
				return p.ContainerPort
			}
		}
	}
	return 0
}

func inPeer(ip string, p peerMatch) bool {
	addr := net.ParseIP(ip)
	contains := func(cidr string) bool {
		_, n, err := net.ParseCIDR(cidr)
		return err == nil && n.Contains(addr)
	}
	if p.cidr != "" && !contains(p.cidr) {
		return false
	}
	for _, ex := range p.excepts {
		if contains(ex) {
			return false
		}
	}
	return true
}

func podIPv4(pod *corev1.Pod) string {
	for _, ip := range pod.Status.PodIPs {
		if parsed := net.ParseIP(ip.IP); parsed != nil && parsed.To4() != nil {
			return ip.IP
		}
	}
	return ""
}

func podFinished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func chainName(kind, seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return chainPre + kind + "-" + strings.ToUpper(hex.EncodeToString(sum[:8]))
}

func existingChains() ([]string, error) {
	out, err := exec.Command("iptables", "-w", "-S").Output()
	if err != nil {
		return nil, fmt.Errorf("iptables -S: %w", err)
	}
	var chains []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "-N" {
			chains = append(chains, f[1])
		}
	}
	return chains, nil
}

// cleanup removes the agent's rules; the node's namespace usually goes away right after.
func (a *netpolAgent) cleanup() {
	_ = exec.Command("iptables", "-w", "-D", "FORWARD", "-j", mainChain).Run()
	chains, _ := existingChains()
	for _, c := range chains {
		if c == mainChain || strings.HasPrefix(c, chainPre) {
			_ = exec.Command("iptables", "-w", "-F", c).Run()
		}
	}
	for _, c := range chains {
		if c == mainChain || strings.HasPrefix(c, chainPre) {
			_ = exec.Command("iptables", "-w", "-X", c).Run()
		}
	}
	fmt.Fprintln(os.Stderr, "netpol: rules removed")
}
