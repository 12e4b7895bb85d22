# The default ras policy: what `rasctl verify` decides without --policy. Input:
#   input.checks   the ordered checks before this one: [{check, status, detail}], status one of
#                  pass, fail, skipped, not-reached
#   input.claims   the verified claims (null when the signature check did not pass)
#   input.options  {allow_sim, allow_unappraised}
#   input.tee      {kind, appraised}: the TEE report's kind; for tsm, whether an appraiser
#                  accepted its hardware signature
#   input.keys     {ak_sha256, anchor_sha256}: the AK's SubjectPublicKeyInfo and the trust
#                  anchor the chain verified to, as SHA-256 hex: they name the host
# A policy defines `allow` (a boolean) and `deny` (a set of reasons, shown when allow is false).
package ras

import rego.v1

default allow := false

allow if count(deny) == 0

deny contains sprintf("the %s check failed: %s", [c.check, c.detail]) if {
	some c in input.checks
	c.status == "fail"
}

deny contains sprintf("the %s check was not reached", [c.check]) if {
	some c in input.checks
	c.status == "not-reached"
}

deny contains "evidence comes from the simulated TEE (sim), which proves nothing about hardware; pass --allow-sim to accept it" if {
	input.tee.kind == "sim"
	not input.options.allow_sim
}

deny contains "the hardware signature of the tsm report was not appraised (no --tsm-appraiser); pass --tsm-appraiser CMD to appraise it, or --allow-unappraised to accept the report-data binding alone" if {
	input.tee.kind == "tsm"
	not input.tee.appraised
	not input.options.allow_unappraised
}
