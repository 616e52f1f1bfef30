package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// writePKI writes, into dir, everything a loopback control plane needs:
//
//	ca.crt/ca.key                 serving CA
//	apiserver.crt/.key            serving cert for localhost, 127.0.0.1 and ::1, plus any
//	                              --san IP or DNS name given after dir (real nodes reach the
//	                              API server on a bridge address and the kubernetes Service IP)
//	client-ca.crt/.key            client CA (apiserver --client-ca-file)
//	admin.crt/.key                client cert CN=admin, O=system:masters
//	sa.key/sa.pub                 service-account signing key pair
//
// The keys are throwaway: the control plane lives as long as one test run.
func writePKI(args []string) error {
	if len(args) < 1 || len(args)%2 != 1 {
		return errors.New("usage: pki <dir> [--san IP|DNS]...")
	}
	dir := args[0]
	var sanIPs []net.IP
	var sanNames []string
	for i := 1; i < len(args); i += 2 {
		if args[i] != "--san" {
			return errors.New("usage: pki <dir> [--san IP|DNS]...")
		}
		if ip := net.ParseIP(args[i+1]); ip != nil {
			sanIPs = append(sanIPs, ip)
		} else {
			sanNames = append(sanNames, args[i+1])
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, caKey, err := newCA("stageset-harness-ca")
	if err != nil {
		return err
	}
	clientCA, clientCAKey, err := newCA("stageset-harness-client-ca")
	if err != nil {
		return err
	}
	serving := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:    append([]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}, sanNames...),
		IPAddresses: append([]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, sanIPs...),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	admin := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"ca.crt":        ca,
		"ca.key":        caKey,
		"client-ca.crt": clientCA,
		"client-ca.key": clientCAKey,
		"sa.key":        pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(saKey)),
		"sa.pub":        pemBlock("PUBLIC KEY", saPub),
	}
	for name, pair := range map[string]struct {
		tmpl        *x509.Certificate
		issuer, key []byte
	}{"apiserver": {serving, ca, caKey}, "admin": {admin, clientCA, clientCAKey}} {
		crt, key, err := newLeaf(pair.tmpl, pair.issuer, pair.key)
		if err != nil {
			return err
		}
		files[name+".crt"], files[name+".key"] = crt, key
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func newCA(name string) (crtPEM, keyPEM []byte, err error) {
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	return sign(tmpl, nil, nil)
}

func newLeaf(tmpl *x509.Certificate, issuerPEM, issuerKeyPEM []byte) (crtPEM, keyPEM []byte, err error) {
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	issuerBlock, _ := pem.Decode(issuerPEM)
	issuer, err := x509.ParseCertificate(issuerBlock.Bytes)
	if err != nil {
		return nil, nil, err
	}
	keyBlock, _ := pem.Decode(issuerKeyPEM)
	issuerKey, err := x509.ParseECPrivateKey(keyBlock.Bytes)
	if err != nil {
		return nil, nil, err
	}
	return sign(tmpl, issuer, issuerKey)
}

// sign self-signs tmpl when issuer is nil.
func sign(tmpl, issuer *x509.Certificate, issuerKey *ecdsa.PrivateKey) (crtPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(7 * 24 * time.Hour)
	if issuer == nil {
		issuer, issuerKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, issuerKey)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", keyDER), nil
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}
