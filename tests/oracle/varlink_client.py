#!/usr/bin/env python3
"""Stock varlink client: the Python `varlink` package introspects every interface rasd lists
(each IDL must parse), calls GetEvidence, and checks that a short nonce comes back as io.ras.Attestation.InvalidNonce.
Prints the evidence. (Wrong parameter types are caught by this client before sending, so the
server's InvalidParameter is tested over a raw socket in protocol.rs.)"""
import sys

import varlink

address = "unix:" + sys.argv[1]
nonce = sys.argv[2]
with varlink.Client(address=address) as client:
    interfaces = client.get_interfaces()
    for name in interfaces:
        # open() fetches GetInterfaceDescription and parses the IDL.
        with client.open(name) as conn:
            assert conn is not None
        print(f"interface {name}: parsed", file=sys.stderr)
    with client.open("io.ras.Attestation") as att:
        evidence = att.GetEvidence(nonce)["evidence"]
        # A refusal arrives as the package's own exception type, with our error name.
        try:
            att.GetEvidence("0011")
        except varlink.VarlinkError as e:
            assert e.error() == "io.ras.Attestation.InvalidNonce", e.error()
            assert e.parameters()["got_bytes"] == 2, e.parameters()
        else:
            raise SystemExit("a 2-byte nonce was accepted")
    print(evidence)
