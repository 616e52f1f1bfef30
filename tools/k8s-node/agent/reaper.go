package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// reaperState is what a test run's nodes leave on the machine. The test process rewrites
// the file as it creates things; the reaper reads it only when it cleans up.
type reaperState struct {
	// Processes started for the nodes; each is killed only while its command line still
	// contains Match, so a recycled pid is left alone.
	Procs []struct {
		Pid   int    `json:"pid"`
		Match string `json:"match"`
	} `json:"procs"`
	// Holders keep a node's mount namespace; every process in that namespace dies too.
	Holders []struct {
		Pid   int    `json:"pid"`
		Match string `json:"match"`
	} `json:"holders"`
	// Every process whose command line contains one of these strings (a work directory
	// only this run uses) is killed: the control plane, containers' shims.
	CmdlineMatch []string `json:"cmdlineMatch"`
	// Cgroups created for the kubelets, relative to each v1 hierarchy's root.
	CgroupRoots []string `json:"cgroupRoots"`
	Netns       []string `json:"netns"`
	Links       []string `json:"links"`
	Dirs        []string `json:"dirs"`
}

// runReaper waits for "cleanup" on stdin or for stdin to close (its owner died), then
// removes everything the state file lists and prints what it could not remove.
func runReaper(args []string) error {
	fs := flag.NewFlagSet("reaper", flag.ContinueOnError)
	statePath := fs.String("state", "", "state file (JSON)")
	now := fs.Bool("now", false, "clean up at once instead of waiting on stdin")
	var watch listFlag
	fs.Var(&watch, "watch", "pid whose death also starts the clean-up (repeat for more)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The owner's Ctrl-C or terminal hangup must not stop the reaper before it has cleaned up.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	if !*now {
		waitForCleanup(watch)
	}
	data, err := os.ReadFile(*statePath)
	if err != nil {
		return err
	}
	var st reaperState
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	left := cleanupState(&st)
	_ = os.Remove(*statePath)
	out, _ := json.Marshal(map[string]any{"left": left})
	fmt.Println(string(out))
	return nil
}

// waitForCleanup returns on "cleanup" from stdin, when stdin closes (the owner died), or
// when a watched process dies. A test runner killed outright may leave its worker (the
// owner) running, so its parent is watched too.
func waitForCleanup(watch []string) {
	done := make(chan struct{}, 2)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "cleanup" {
				break
			}
		}
		done <- struct{}{}
	}()
	type watched struct {
		pid   int
		start string
	}
	var procs []watched
	for _, w := range watch {
		if pid, err := strconv.Atoi(w); err == nil {
			if start := startTime(pid); start != "" {
				procs = append(procs, watched{pid, start})
			}
		}
	}
	go func() {
		for {
			time.Sleep(500 * time.Millisecond)
			for _, p := range procs {
				// Gone, or the pid now belongs to another process: the owner is dead.
				if startTime(p.pid) != p.start || isZombie(p.pid) {
					fmt.Fprintf(os.Stderr, "reaper: process %d is gone\n", p.pid)
					done <- struct{}{}
					return
				}
			}
		}
	}()
	<-done
}

// startTime is field 22 of /proc/<pid>/stat (clock ticks since boot), "" when gone.
func startTime(pid int) string {
	f := procStat(pid)
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

func isZombie(pid int) bool {
	f := procStat(pid)
	return len(f) > 0 && f[0] == "Z"
}

// procStat returns the fields of /proc/<pid>/stat after the command name (state first).
func procStat(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

func cleanupState(st *reaperState) []string {
	left := []string{}
	self := os.Getpid()

	mntNs := map[string]bool{}
	for _, h := range st.Holders {
		if cmdlineHas(h.Pid, h.Match) {
			if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", h.Pid)); err == nil {
				mntNs[ns] = true
			}
		}
	}
	netNs := map[uint64]bool{}
	for _, name := range st.Netns {
		var s syscall.Stat_t
		if syscall.Stat(filepath.Join("/run/netns", name), &s) == nil {
			netNs[s.Ino] = true
		}
	}
	victims := func() []int {
		set := map[int]bool{}
		for _, p := range st.Procs {
			if cmdlineHas(p.Pid, p.Match) {
				set[p.Pid] = true
			}
		}
		for _, h := range st.Holders {
			if cmdlineHas(h.Pid, h.Match) {
				set[h.Pid] = true
			}
		}
		for _, pid := range allPids() {
			if pid == self {
				continue
			}
			if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); err == nil && mntNs[ns] {
				set[pid] = true
			}
			var s syscall.Stat_t
			if syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &s) == nil && netNs[s.Ino] {
				set[pid] = true
			}
			for _, m := range st.CmdlineMatch {
				if m != "" && cmdlineHas(pid, m) {
					set[pid] = true
				}
			}
		}
		for _, root := range st.CgroupRoots {
			for _, h := range cgroupHierarchies() {
				for _, pid := range cgroupPids(filepath.Join(h, root)) {
					set[pid] = true
				}
			}
		}
		delete(set, self)
		out := make([]int, 0, len(set))
		for pid := range set {
			out = append(out, pid)
		}
		return out
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		pids := victims()
		if len(pids) == 0 {
			break
		}
		if time.Now().After(deadline) {
			left = append(left, fmt.Sprintf("processes still alive: %v", pids))
			break
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(200 * time.Millisecond)
	}

	for _, root := range st.CgroupRoots {
		if root == "" || strings.Contains(root, "..") {
			continue
		}
		for _, h := range cgroupHierarchies() {
			if err := removeCgroupTree(filepath.Join(h, root)); err != nil {
				left = append(left, err.Error())
			}
		}
	}
	for _, dir := range st.Dirs {
		unmountUnder(dir)
	}
	for _, name := range st.Netns {
		if _, err := os.Stat(filepath.Join("/run/netns", name)); err == nil {
			if msg, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
				left = append(left, fmt.Sprintf("netns %s: %v %s", name, err, msg))
			}
		}
	}
	for _, link := range st.Links {
		if _, err := os.Stat(filepath.Join("/sys/class/net", link)); err == nil {
			if msg, err := exec.Command("ip", "link", "delete", link).CombinedOutput(); err != nil {
				left = append(left, fmt.Sprintf("link %s: %v %s", link, err, msg))
			}
		}
	}
	for _, dir := range st.Dirs {
		if dir == "" || dir == "/" {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			left = append(left, err.Error())
		}
	}
	return left
}

func cmdlineHas(pid int, match string) bool {
	if pid <= 0 || match == "" {
		return false
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.Contains(string(data), match)
}

func allPids() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cgroupHierarchies lists the mount points of the cgroup hierarchies: the v1 ones and, on
// a hybrid host, the cgroup2 one too (runc mirrors each container's cgroup there).
func cgroupHierarchies() []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		// ... mountpoint ... - fstype source options
		parts := strings.SplitN(line, " - ", 2)
		if len(parts) != 2 || !(strings.HasPrefix(parts[1], "cgroup ") || strings.HasPrefix(parts[1], "cgroup2 ")) {
			continue
		}
		f := strings.Fields(parts[0])
		if len(f) >= 5 {
			out = append(out, f[4])
		}
	}
	return out
}

func cgroupPids(dir string) []int {
	var pids []int
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(filepath.Join(path, "cgroup.procs"))
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids
}

// removeCgroupTree removes dir and its child cgroups, deepest first (cgroupfs only
// allows rmdir of an empty cgroup; its control files go with it).
func removeCgroupTree(dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	var dirs []string
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	var last error
	for attempt := 0; attempt < 50; attempt++ {
		last = nil
		for _, d := range dirs {
			if err := syscall.Rmdir(d); err != nil && !os.IsNotExist(err) {
				last = fmt.Errorf("cgroup %s: %w", d, err)
			}
		}
		if last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

// unmountUnder lazily unmounts every mount in this mount namespace at or below dir,
// deepest first, so that removing dir never descends into a mounted filesystem.
func unmountUnder(dir string) {
	if dir == "" {
		return
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		p := unescapeMount(f[4])
		if p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/") {
			points = append(points, p)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, p := range points {
		_ = syscall.Unmount(p, syscall.MNT_DETACH)
	}
}

func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}
