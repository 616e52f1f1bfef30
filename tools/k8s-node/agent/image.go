package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// runImage writes an image tarball (the `docker save` layout, which containerd's
// `ctr images import` reads) holding one layer made from a directory:
//
//	image -name stageset.local/x:1 -dir DIR -entrypoint /bin/x [-arg a]... [-env K=V]...
//	      [-workdir /app] [-owner /app=65532:65532]... -o out.tar
func runImage(args []string) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	ref := fs.String("name", "", "image reference, e.g. stageset.local/pause:1")
	dir := fs.String("dir", "", "directory that becomes the image's root filesystem")
	out := fs.String("o", "", "output tarball")
	workdir := fs.String("workdir", "/", "working directory")
	var entrypoint, cmdArgs, env, owners listFlag
	fs.Var(&entrypoint, "entrypoint", "entrypoint word (repeat for more)")
	fs.Var(&cmdArgs, "arg", "default argument (repeat for more)")
	fs.Var(&env, "env", "K=V environment entry (repeat for more)")
	fs.Var(&owners, "owner", "PATH=UID:GID: owner of PATH and everything below it (default root)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ref == "" || *dir == "" || *out == "" || len(entrypoint) == 0 {
		return errors.New("usage: image -name REF -dir DIR -entrypoint PATH [-arg A]... [-env K=V]... -o OUT.tar")
	}
	tag, err := name.NewTag(*ref, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("image name %q: %w", *ref, err)
	}
	owned, err := parseOwners(owners)
	if err != nil {
		return err
	}
	layerTar, err := tarDirectory(*dir, owned)
	if err != nil {
		return err
	}
	// Uncompressed, as `docker save` writes layers: the tarball never leaves this machine,
	// and gzip made the controller image's (245 MB) take 15 s to write instead of 9.
	layer := static.NewLayer(layerTar, types.DockerUncompressedLayer)
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config = v1.Config{
		Entrypoint: entrypoint,
		Cmd:        cmdArgs,
		Env:        append([]string{"PATH=/usr/local/bin:/usr/bin:/bin"}, env...),
		WorkingDir: *workdir,
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return err
	}
	return tarball.WriteToFile(*out, tag, img)
}

type owner struct {
	path     string
	uid, gid int
}

func parseOwners(specs []string) ([]owner, error) {
	var out []owner
	for _, spec := range specs {
		var o owner
		path, ids, ok := strings.Cut(spec, "=")
		if _, err := fmt.Sscanf(ids, "%d:%d", &o.uid, &o.gid); !ok || err != nil || !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("-owner %q: want /PATH=UID:GID", spec)
		}
		o.path = strings.TrimSuffix(path, "/")
		out = append(out, o)
	}
	return out, nil
}

// ownerOf returns the uid and gid of an entry ("/app/x"): the last matching -owner, else root.
func ownerOf(name string, owners []owner) (int, int) {
	uid, gid := 0, 0
	for _, o := range owners {
		if name == o.path || strings.HasPrefix(name, o.path+"/") {
			uid, gid = o.uid, o.gid
		}
	}
	return uid, gid
}

// tarDirectory makes an uncompressed layer of dir's contents, owned by root unless an
// -owner entry says otherwise.
func tarDirectory(dir string, owners []owner) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid = ownerOf("/"+filepath.ToSlash(rel), owners)
		hdr.Uname, hdr.Gname = "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
