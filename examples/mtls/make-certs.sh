#!/usr/bin/env sh
# Makes the demo certificates in certs/ (needs openssl): a CA, and two
# generations of the server certificate ("1" and "2") to show rotation.
# Demo only: the keys are committed to the repository, so never trust this CA.
set -eu
cd "$(dirname "$0")/certs"
days=36500
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days $days \
  -subj "/CN=xdskit example CA" -keyout ca-key.pem -out ca.pem 2>/dev/null
for generation in 1 2; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=web.example.internal" -keyout server-$generation-key.pem -out server.csr 2>/dev/null
  printf 'subjectAltName=DNS:web.example.internal,URI:spiffe://example.internal/web\n' > san.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days $days \
    -extfile san.ext -out server-$generation.pem 2>/dev/null
done
rm -f server.csr san.ext ca.srl ca-key.pem
echo "certs/: ca.pem, server-1.pem (+key), server-2.pem (+key)"
