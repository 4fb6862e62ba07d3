#!/bin/sh
# Makes the certificates the compose cluster's routes use (deploy/nats/cluster.conf): a CA (ca.pem, ca.key) and one
# route certificate for the three nodes (route.pem, route.key), EC P-256, in DIR (default: this folder, which
# docker-compose.yml mounts at /etc/nats/tls). Each node is both server and client of its peers, so the certificate
# carries both usages, and it names every node's host as the routes dial them: nats-1..3 for compose, and
# nats-N.nats-headless (namespace tailrace) for Kubernetes (docs/KUBERNETES.md). An existing CA is kept,
# so running it again renews the route certificate only.
#
#   sh deploy/nats/tls/make-certs.sh            # then: docker compose up
#
# The CA key signs route certificates only: keep it off the NATS hosts in production (here it sits beside them, and
# the nodes never read it). test/compose_nats.test.ts runs this script and starts three nodes with what it makes.
set -eu
dir=${1:-$(dirname "$0")}
mkdir -p "$dir"
cd "$dir"
umask 077
if [ ! -f ca.pem ] || [ ! -f ca.key ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=Tailrace NATS route CA" -keyout ca.key -out ca.pem \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi
cat > route.ext <<'EXT'
subjectAltName=DNS:nats-1,DNS:nats-2,DNS:nats-3,DNS:*.nats-headless,DNS:*.nats-headless.tailrace.svc,DNS:*.nats-headless.tailrace.svc.cluster.local,DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth,clientAuth
basicConstraints=critical,CA:FALSE
EXT
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj "/CN=tailrace-nats-route" -keyout route.key -out route.csr 2>/dev/null
openssl x509 -req -in route.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -extfile route.ext -out route.pem 2>/dev/null
rm -f route.csr route.ext
# Keys are the owner's only (the nats image runs nats-server as root, which reads them through the read-only mount).
chmod 644 ca.pem route.pem
chmod 600 ca.key route.key
echo "made $(pwd)/ca.pem, route.pem and route.key"
