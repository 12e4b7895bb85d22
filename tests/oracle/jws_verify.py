#!/usr/bin/env python3
"""Independent JOSE oracle: verifies ras evidence (JWS compact, ES256) with jwcrypto, using
the public key of the first x5c certificate as parsed by pyca/cryptography. Prints the claims
as JSON and exits 0 only when the signature verifies."""
import base64
import json
import sys

from cryptography import x509
from jwcrypto import jwk, jws

token = open(sys.argv[1]).read().strip()
header_b64 = token.split(".")[0]
header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
assert header["alg"] == "ES256", header
leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
key = jwk.JWK.from_pyca(leaf.public_key())
sig = jws.JWS()
sig.deserialize(token)
try:
    sig.verify(key, alg="ES256")
except jws.InvalidJWSSignature as e:
    print(f"signature invalid: {e}", file=sys.stderr)
    sys.exit(1)
print(json.dumps(json.loads(sig.payload)))
