#!/bin/sh
# tests/redis_tls_certs.sh DIR: the certificates of the rediss:// tests
# (tests/unit/redis_server.c, tests/integration/redis_server.py), made with
# openssl ($OPENSSL, else openssl) in DIR, valid for two days, EC P-256:
#   ca.pem                 the test CA (ca.key stays in DIR)
#   server.pem server.key  signed by it, SAN IP:127.0.0.1 and DNS:redis.test
#                          (no name resolution involved: clients connect to
#                          127.0.0.1, or send redis.test as SNI)
#   client.pem client.key  a client certificate signed by it
#   client-enc.key         client.key encrypted (passphrase "secret")
#   other-ca.pem           another CA, and other.pem other.key a server
#                          certificate it signed for the same names
# Keys are mode 0600.
set -eu
dir=$1
ossl=${OPENSSL:-openssl}
umask 077
cd "$dir"
key() { "$ossl" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { # NAME
	key "$1.key"
	"$ossl" req -x509 -new -key "$1.key" -subj "/CN=libe2e test $1" \
		-days 2 -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign -out "$1.pem"
}
leaf() { # NAME CA SAN EKU
	key "$1.key"
	printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' \
		"$3" "$4" >"$1.ext"
	"$ossl" req -new -key "$1.key" -subj "/CN=libe2e test $1" -out "$1.csr"
	"$ossl" x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" \
		-CAcreateserial -days 2 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}
ca ca
ca other-ca
leaf server ca "IP:127.0.0.1,DNS:redis.test" serverAuth
leaf client ca "DNS:client.test" clientAuth
leaf other other-ca "IP:127.0.0.1,DNS:redis.test" serverAuth
"$ossl" pkey -in client.key -aes256 -passout pass:secret -out client-enc.key
chmod 0644 ./*.pem
