# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_rasctl_global_optspecs
    string join \n socket= json h/help V/version
end

function __fish_rasctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_rasctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_rasctl_using_subcommand
    set -l cmd (__fish_rasctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c rasctl -n "__fish_rasctl_needs_command" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_needs_command" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_needs_command" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_needs_command" -s V -l version -d 'Print version'
complete -c rasctl -n "__fish_rasctl_needs_command" -f -a "status" -d 'Show rasd\'s status (root or the admin group)'
complete -c rasctl -n "__fish_rasctl_needs_command" -f -a "evidence" -d 'Get evidence for this process from rasd'
complete -c rasctl -n "__fish_rasctl_needs_command" -f -a "verify" -d 'Verify evidence offline, check by check'
complete -c rasctl -n "__fish_rasctl_needs_command" -f -a "trust-anchor" -d 'Print the PEM certificate a verifier passes as --trust'
complete -c rasctl -n "__fish_rasctl_needs_command" -f -a "ak" -d 'Manage the attestation key (root or the admin group)'
complete -c rasctl -n "__fish_rasctl_needs_command" -f -a "reference" -d 'Reference values'
complete -c rasctl -n "__fish_rasctl_needs_command" -f -a "bench" -d 'Measure an operation\'s throughput and latency percentiles at a concurrency'
complete -c rasctl -n "__fish_rasctl_needs_command" -f -a "container" -d 'Manage registered containers (root or the admin group)'
complete -c rasctl -n "__fish_rasctl_needs_command" -f -a "measure" -d 'Runtime measurements of this process\'s subject (host or container)'
complete -c rasctl -n "__fish_rasctl_needs_command" -f -a "attest" -d 'Challenge a host, or one container on it, and verify the answer'
complete -c rasctl -n "__fish_rasctl_needs_command" -f -a "agent" -d 'Run inside a container: answer the challenges rasd forwards to it'
complete -c rasctl -n "__fish_rasctl_needs_command" -f -a "tpm" -d 'TPM evidence for other tools, and a verifier\'s enrolment of a host\'s TPM'
complete -c rasctl -n "__fish_rasctl_needs_command" -f -a "ca" -d 'The CA\'s half of TPM enrolment in AS mode'
complete -c rasctl -n "__fish_rasctl_needs_command" -f -a "policy" -d 'Verification policies in Rego'
complete -c rasctl -n "__fish_rasctl_needs_command" -f -a "secret" -d 'Secrets that ras-verifier releases to attested workloads'
complete -c rasctl -n "__fish_rasctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand status" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand status" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand status" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand evidence" -l nonce -d 'Nonce, hex, 8 to 64 bytes (default: 32 fresh random bytes)' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand evidence" -l out -d 'Write the evidence to FILE instead of standard output (- is standard output)' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand evidence" -l container -d 'Assert which container this is; rasd refuses if the kernel says otherwise' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand evidence" -l bind -d 'Bind this sha256 (64 hex digits): the evidence carries it as `ras.bind`' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand evidence" -l bind-key -d 'Bind this public key (PEM): the sha256 of its SubjectPublicKeyInfo' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand evidence" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand evidence" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand evidence" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand verify" -l nonce -d 'The nonce that was sent, hex' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand verify" -l trust -d 'Trust anchor: PEM certificate(s) of the TEE root or the CA that issued the AK' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand verify" -l reference -d 'Reference values: one `NAME SHA256` per line' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand verify" -l tsm-appraiser -d 'For tsm evidence: appraise the hardware signature of its TDX quote or SEV-SNP report with CMD (run by /bin/sh -c; e.g. a Trustee attestation-service client). CMD reads the raw report on its standard input, finds RAS_TSM_PROVIDER (tdx_guest or sev_guest) and RAS_TSM_REPORT_DATA (128 hex digits) in its environment, and accepts the report by exiting 0; any other exit refuses it. Its output is shown in the verdict; it has 60 s' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand verify" -l max-age -d 'Oldest acceptable evidence, in seconds' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand verify" -l policy -d 'A Rego policy (`package ras`, deciding `allow`, with reasons in `deny`) that makes the `policy` check instead of the built-in rules; its input is the checks, the claims, the options and the TEE kind. Default: the built-in rules (the same as `rasctl policy default`)' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand verify" -l container -d 'Expect evidence for this container instead of the host' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand verify" -l type -d 'Runtime of --container' -r -f -a "docker\t''
podman\t''
containerd\t''
crio\t''"
complete -c rasctl -n "__fish_rasctl_using_subcommand verify" -l bind -d 'Expect the evidence to bind this sha256 (64 hex digits)' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand verify" -l bind-key -d 'Expect the evidence to bind this public key (PEM)' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand verify" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand verify" -l allow-sim -d 'Accept evidence from the simulated TEE'
complete -c rasctl -n "__fish_rasctl_using_subcommand verify" -l allow-unappraised -d 'Accept tsm evidence whose hardware signature was not appraised (no --tsm-appraiser): the report data still bind the AK, but nothing proves the report came from hardware'
complete -c rasctl -n "__fish_rasctl_using_subcommand verify" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand verify" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand trust-anchor" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand trust-anchor" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand trust-anchor" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and not __fish_seen_subcommand_from show csr import enrollment activate help" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and not __fish_seen_subcommand_from show csr import enrollment activate help" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and not __fish_seen_subcommand_from show csr import enrollment activate help" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and not __fish_seen_subcommand_from show csr import enrollment activate help" -f -a "show" -d 'Show the AK: mode, fingerprint and certificate chain'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and not __fish_seen_subcommand_from show csr import enrollment activate help" -f -a "csr" -d 'Print a PKCS#10 request for the AK, for an external CA'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and not __fish_seen_subcommand_from show csr import enrollment activate help" -f -a "import" -d 'Install a CA-issued AK certificate chain (PEM, leaf first)'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and not __fish_seen_subcommand_from show csr import enrollment activate help" -f -a "enrollment" -d 'With --tee tpm: write the enrolment bundle for an external CA (JSON: the EK certificate, the TPM AK, its certificate, and a CSR for the evidence key)'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and not __fish_seen_subcommand_from show csr import enrollment activate help" -f -a "activate" -d 'With --tee tpm: open a CA\'s credential challenge (`rasctl ca challenge`) with the TPM, and write the secret (base64) that the CA compares with its own'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and not __fish_seen_subcommand_from show csr import enrollment activate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from show" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from show" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from csr" -l out -d 'Write the request to FILE' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from csr" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from csr" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from csr" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from import" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from import" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from enrollment" -l out -d 'Write the bundle to FILE instead of standard output' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from enrollment" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from enrollment" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from enrollment" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from activate" -l out -d 'Write the secret to FILE instead of standard output' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from activate" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from activate" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from activate" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show the AK: mode, fingerprint and certificate chain'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from help" -f -a "csr" -d 'Print a PKCS#10 request for the AK, for an external CA'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from help" -f -a "import" -d 'Install a CA-issued AK certificate chain (PEM, leaf first)'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from help" -f -a "enrollment" -d 'With --tee tpm: write the enrolment bundle for an external CA (JSON: the EK certificate, the TPM AK, its certificate, and a CSR for the evidence key)'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from help" -f -a "activate" -d 'With --tee tpm: open a CA\'s credential challenge (`rasctl ca challenge`) with the TPM, and write the secret (base64) that the CA compares with its own'
complete -c rasctl -n "__fish_rasctl_using_subcommand ak; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand reference; and not __fish_seen_subcommand_from record help" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand reference; and not __fish_seen_subcommand_from record help" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand reference; and not __fish_seen_subcommand_from record help" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand reference; and not __fish_seen_subcommand_from record help" -f -a "record" -d 'Write a reference file that accepts what known-good evidence measured'
complete -c rasctl -n "__fish_rasctl_using_subcommand reference; and not __fish_seen_subcommand_from record help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand reference; and __fish_seen_subcommand_from record" -l out -d 'Write to FILE instead of standard output' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand reference; and __fish_seen_subcommand_from record" -l trust -d 'First verify the evidence against this trust anchor (chain, TEE report, signature and policy; freshness is not checked, since recording is offline)' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand reference; and __fish_seen_subcommand_from record" -l tsm-appraiser -d 'With --trust: appraise tsm evidence with CMD, as `rasctl verify --tsm-appraiser`' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand reference; and __fish_seen_subcommand_from record" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand reference; and __fish_seen_subcommand_from record" -l allow-sim -d 'With --trust: accept evidence from the simulated TEE'
complete -c rasctl -n "__fish_rasctl_using_subcommand reference; and __fish_seen_subcommand_from record" -l allow-unappraised -d 'With --trust: accept tsm evidence without hardware appraisal'
complete -c rasctl -n "__fish_rasctl_using_subcommand reference; and __fish_seen_subcommand_from record" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand reference; and __fish_seen_subcommand_from record" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand reference; and __fish_seen_subcommand_from help" -f -a "record" -d 'Write a reference file that accepts what known-good evidence measured'
complete -c rasctl -n "__fish_rasctl_using_subcommand reference; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand bench" -l op -d 'What to measure: `ping` (org.varlink.service.GetInfo), `evidence` (GetEvidence on --socket), `sign` (ES256 in this process over a signing input of the size rasd produces), `remote` (io.ras.Remote.Challenge of the host) or `container` (Challenge of --container, through its agent)' -r -f -a "ping\t'`org.varlink.service.GetInfo`: the transport\'s round trip'
evidence\t'`io.ras.Attestation.GetEvidence` on --socket'
sign\t'ES256 signatures in this process: the crypto limit'
remote\t'`io.ras.Remote.Challenge` of the host'
container\t'`io.ras.Remote.Challenge` of --container'"
complete -c rasctl -n "__fish_rasctl_using_subcommand bench" -l connect -d 'Where `ping`, `remote` and `container` connect: tcp:HOST:PORT, unix:PATH or vsock:CID:PORT (default: unix:--socket)' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand bench" -s c -l concurrency -d 'Persistent connections (or, for `sign`, threads) calling at once' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand bench" -s n -l count -d 'Measured calls in all (default 1000 unless --duration is given)' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand bench" -l duration -d 'Measure for this many seconds instead of a count' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand bench" -l warmup -d 'Unmeasured calls per connection first' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand bench" -l container -d 'The container to challenge (`--op container`)' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand bench" -l type -d 'Runtime of --container' -r -f -a "docker\t''
podman\t''
containerd\t''
crio\t''"
complete -c rasctl -n "__fish_rasctl_using_subcommand bench" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand bench" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and not __fish_seen_subcommand_from list add remove help" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and not __fish_seen_subcommand_from list add remove help" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and not __fish_seen_subcommand_from list add remove help" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and not __fish_seen_subcommand_from list add remove help" -f -a "list" -d 'List registrations'
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and not __fish_seen_subcommand_from list add remove help" -f -a "add" -d 'Register a running container by id or name'
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and not __fish_seen_subcommand_from list add remove help" -f -a "remove" -d 'Forget a registration'
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and not __fish_seen_subcommand_from list add remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and __fish_seen_subcommand_from list" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and __fish_seen_subcommand_from list" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and __fish_seen_subcommand_from add" -l type -d 'Runtime: docker, podman, containerd or crio' -r -f -a "docker\t''
podman\t''
containerd\t''
crio\t''"
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and __fish_seen_subcommand_from add" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and __fish_seen_subcommand_from add" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and __fish_seen_subcommand_from remove" -l type -d 'Runtime' -r -f -a "docker\t''
podman\t''
containerd\t''
crio\t''"
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and __fish_seen_subcommand_from remove" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and __fish_seen_subcommand_from remove" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and __fish_seen_subcommand_from help" -f -a "list" -d 'List registrations'
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and __fish_seen_subcommand_from help" -f -a "add" -d 'Register a running container by id or name'
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Forget a registration'
complete -c rasctl -n "__fish_rasctl_using_subcommand container; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand measure; and not __fish_seen_subcommand_from extend help" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand measure; and not __fish_seen_subcommand_from extend help" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand measure; and not __fish_seen_subcommand_from extend help" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand measure; and not __fish_seen_subcommand_from extend help" -f -a "extend" -d 'Append an event to the runtime measurement log; durable when this returns'
complete -c rasctl -n "__fish_rasctl_using_subcommand measure; and not __fish_seen_subcommand_from extend help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand measure; and __fish_seen_subcommand_from extend" -l domain -d 'Event area, e.g. app' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand measure; and __fish_seen_subcommand_from extend" -l operation -d 'What happened, e.g. load' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand measure; and __fish_seen_subcommand_from extend" -l content -d 'What was measured: sha256:<64 hex digits>' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand measure; and __fish_seen_subcommand_from extend" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand measure; and __fish_seen_subcommand_from extend" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand measure; and __fish_seen_subcommand_from extend" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand measure; and __fish_seen_subcommand_from help" -f -a "extend" -d 'Append an event to the runtime measurement log; durable when this returns'
complete -c rasctl -n "__fish_rasctl_using_subcommand measure; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -l connect -d 'Where to send the challenge: tcp:HOST:PORT, vsock:CID:PORT, or unix:PATH (rasd\'s host socket). Repeat it to attest several targets concurrently, each with its own nonce' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -l container -d 'Attest this container instead of the host' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -l type -d 'Runtime of --container' -r -f -a "docker\t''
podman\t''
containerd\t''
crio\t''"
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -l vm -d 'Attest the VM guest with this vsock CID (its agent connected to rasd over AF_VSOCK)' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -l trust -d 'Trust anchor: PEM certificate(s) of the TEE root or the CA that issued the AK' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -l reference -d 'Reference values: one `NAME SHA256` per line' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -l tsm-appraiser -d 'For tsm evidence: appraise the hardware signature of its TDX quote or SEV-SNP report with CMD (run by /bin/sh -c; e.g. a Trustee attestation-service client). CMD reads the raw report on its standard input, finds RAS_TSM_PROVIDER (tdx_guest or sev_guest) and RAS_TSM_REPORT_DATA (128 hex digits) in its environment, and accepts the report by exiting 0; any other exit refuses it. Its output is shown in the verdict; it has 60 s' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -l max-age -d 'Oldest acceptable evidence, in seconds' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -l policy -d 'A Rego policy (`package ras`, deciding `allow`, with reasons in `deny`) that makes the `policy` check instead of the built-in rules; its input is the checks, the claims, the options and the TEE kind. Default: the built-in rules (the same as `rasctl policy default`)' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -l out -d 'Also write the evidence to FILE' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -l timeout -d 'Seconds to wait for each target\'s answer (connect and challenge)' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -l concurrency -d 'Most targets challenged at once' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -l allow-sim -d 'Accept evidence from the simulated TEE'
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -l allow-unappraised -d 'Accept tsm evidence whose hardware signature was not appraised (no --tsm-appraiser): the report data still bind the AK, but nothing proves the report came from hardware'
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand attest" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand agent" -l connect -d 'Reach rasd over AF_VSOCK from a VM guest (vsock:CID:PORT; the host is CID 2) instead of the unix socket' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand agent" -l claims -d 'JSON file of claims the workload reports about itself, sent with every answer' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand agent" -l container -d 'Assert which container this is; rasd refuses the agent if the kernel says otherwise' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand agent" -l max-backoff -d 'Longest wait between reconnection attempts, in milliseconds' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand agent" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand agent" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand agent" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and not __fish_seen_subcommand_from export enroll help" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and not __fish_seen_subcommand_from export enroll help" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and not __fish_seen_subcommand_from export enroll help" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and not __fish_seen_subcommand_from export enroll help" -f -a "export" -d 'Write the evidence\'s fresh TPM quote as files tpm2_checkquote reads: ak.pub.pem, quote.msg, quote.sig, quote.pcrs and qualification.hex'
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and not __fish_seen_subcommand_from export enroll help" -f -a "enroll" -d 'Enrol a host\'s TPM attestation key once, through its bridge: check its EK certificate against the TPM maker\'s CAs, prove with credential activation that the AK lives in that TPM, and write the AK\'s certificate, the trust anchor for that host\'s evidence'
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and not __fish_seen_subcommand_from export enroll help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and __fish_seen_subcommand_from export" -l out-dir -d 'Directory to write the files into (created if missing)' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and __fish_seen_subcommand_from export" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and __fish_seen_subcommand_from export" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and __fish_seen_subcommand_from enroll" -l connect -d 'The host\'s ras-bridge (tcp:HOST:PORT, vsock:CID:PORT) or a rasd socket (unix:PATH)' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and __fish_seen_subcommand_from enroll" -l ek-ca -d 'PEM certificates of the CAs that may issue EK certificates (the TPM maker\'s)' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and __fish_seen_subcommand_from enroll" -l out -d 'Write the enrolled AK certificate (PEM) to FILE instead of standard output' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and __fish_seen_subcommand_from enroll" -l timeout -d 'Seconds to wait for each answer' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and __fish_seen_subcommand_from enroll" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and __fish_seen_subcommand_from enroll" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and __fish_seen_subcommand_from enroll" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and __fish_seen_subcommand_from help" -f -a "export" -d 'Write the evidence\'s fresh TPM quote as files tpm2_checkquote reads: ak.pub.pem, quote.msg, quote.sig, quote.pcrs and qualification.hex'
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and __fish_seen_subcommand_from help" -f -a "enroll" -d 'Enrol a host\'s TPM attestation key once, through its bridge: check its EK certificate against the TPM maker\'s CAs, prove with credential activation that the AK lives in that TPM, and write the AK\'s certificate, the trust anchor for that host\'s evidence'
complete -c rasctl -n "__fish_rasctl_using_subcommand tpm; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand ca; and not __fish_seen_subcommand_from challenge help" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand ca; and not __fish_seen_subcommand_from challenge help" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand ca; and not __fish_seen_subcommand_from challenge help" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand ca; and not __fish_seen_subcommand_from challenge help" -f -a "challenge" -d 'Check an enrolment bundle (`rasctl ak enrollment`) against the TPM maker\'s CAs and seal a fresh secret to its EK and TPM AK: the host\'s `rasctl ak activate` can open it only if the AK is in that TPM. Sign the bundle\'s CSR only when the secret it returns is yours'
complete -c rasctl -n "__fish_rasctl_using_subcommand ca; and not __fish_seen_subcommand_from challenge help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand ca; and __fish_seen_subcommand_from challenge" -l ek-ca -d 'PEM certificates of the CAs that may issue EK certificates (the TPM maker\'s)' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand ca; and __fish_seen_subcommand_from challenge" -l out -d 'Where the challenge (JSON) for the host goes' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand ca; and __fish_seen_subcommand_from challenge" -l secret-out -d 'Where the sealed secret (base64) goes; keep it to compare with the host\'s answer' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand ca; and __fish_seen_subcommand_from challenge" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand ca; and __fish_seen_subcommand_from challenge" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand ca; and __fish_seen_subcommand_from challenge" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand ca; and __fish_seen_subcommand_from help" -f -a "challenge" -d 'Check an enrolment bundle (`rasctl ak enrollment`) against the TPM maker\'s CAs and seal a fresh secret to its EK and TPM AK: the host\'s `rasctl ak activate` can open it only if the AK is in that TPM. Sign the bundle\'s CSR only when the secret it returns is yours'
complete -c rasctl -n "__fish_rasctl_using_subcommand ca; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand policy; and not __fish_seen_subcommand_from default check help" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand policy; and not __fish_seen_subcommand_from default check help" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand policy; and not __fish_seen_subcommand_from default check help" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand policy; and not __fish_seen_subcommand_from default check help" -f -a "default" -d 'Print the default policy (what `verify` and `attest` decide without --policy), to start a policy of your own from'
complete -c rasctl -n "__fish_rasctl_using_subcommand policy; and not __fish_seen_subcommand_from default check help" -f -a "check" -d 'Check that a policy file compiles (`package ras`); errors name the line'
complete -c rasctl -n "__fish_rasctl_using_subcommand policy; and not __fish_seen_subcommand_from default check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand policy; and __fish_seen_subcommand_from default" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand policy; and __fish_seen_subcommand_from default" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand policy; and __fish_seen_subcommand_from default" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand policy; and __fish_seen_subcommand_from check" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand policy; and __fish_seen_subcommand_from check" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand policy; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "default" -d 'Print the default policy (what `verify` and `attest` decide without --policy), to start a policy of your own from'
complete -c rasctl -n "__fish_rasctl_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "check" -d 'Check that a policy file compiles (`package ras`); errors name the line'
complete -c rasctl -n "__fish_rasctl_using_subcommand policy; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand secret; and not __fish_seen_subcommand_from get help" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand secret; and not __fish_seen_subcommand_from get help" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand secret; and not __fish_seen_subcommand_from get help" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand secret; and not __fish_seen_subcommand_from get help" -f -a "get" -d 'Get a secret from ras-verifier: take its challenge, have rasd sign evidence for this process that binds a fresh one-time key, send both, and decrypt the answer (a JWE to that key). Writes the secret raw to standard output, or to --out; with --json, one object. Exit 1 when ras-verifier refuses (the message names the failed check) or has no such secret; 3 when it or rasd cannot be reached, or answers out of protocol'
complete -c rasctl -n "__fish_rasctl_using_subcommand secret; and not __fish_seen_subcommand_from get help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand secret; and __fish_seen_subcommand_from get" -l verifier -d 'ras-verifier\'s base URL, http:// or https:// (the requests go to URL/v1/...)' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand secret; and __fish_seen_subcommand_from get" -l ca -d 'PEM certificate(s) to trust for an https:// verifier, instead of the built-in web roots' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand secret; and __fish_seen_subcommand_from get" -l out -d 'Write the secret to FILE (mode 0600, replaced whole, never through a symbolic link) instead of standard output (- is standard output)' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand secret; and __fish_seen_subcommand_from get" -l timeout -d 'Seconds to wait for each answer (ras-verifier\'s two, and rasd\'s evidence)' -r
complete -c rasctl -n "__fish_rasctl_using_subcommand secret; and __fish_seen_subcommand_from get" -l socket -d 'rasd socket' -r -F
complete -c rasctl -n "__fish_rasctl_using_subcommand secret; and __fish_seen_subcommand_from get" -l json -d 'Print machine-readable JSON instead of text'
complete -c rasctl -n "__fish_rasctl_using_subcommand secret; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help'
complete -c rasctl -n "__fish_rasctl_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "get" -d 'Get a secret from ras-verifier: take its challenge, have rasd sign evidence for this process that binds a fresh one-time key, send both, and decrypt the answer (a JWE to that key). Writes the secret raw to standard output, or to --out; with --json, one object. Exit 1 when ras-verifier refuses (the message names the failed check) or has no such secret; 3 when it or rasd cannot be reached, or answers out of protocol'
complete -c rasctl -n "__fish_rasctl_using_subcommand secret; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and not __fish_seen_subcommand_from status evidence verify trust-anchor ak reference bench container measure attest agent tpm ca policy secret help" -f -a "status" -d 'Show rasd\'s status (root or the admin group)'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and not __fish_seen_subcommand_from status evidence verify trust-anchor ak reference bench container measure attest agent tpm ca policy secret help" -f -a "evidence" -d 'Get evidence for this process from rasd'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and not __fish_seen_subcommand_from status evidence verify trust-anchor ak reference bench container measure attest agent tpm ca policy secret help" -f -a "verify" -d 'Verify evidence offline, check by check'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and not __fish_seen_subcommand_from status evidence verify trust-anchor ak reference bench container measure attest agent tpm ca policy secret help" -f -a "trust-anchor" -d 'Print the PEM certificate a verifier passes as --trust'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and not __fish_seen_subcommand_from status evidence verify trust-anchor ak reference bench container measure attest agent tpm ca policy secret help" -f -a "ak" -d 'Manage the attestation key (root or the admin group)'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and not __fish_seen_subcommand_from status evidence verify trust-anchor ak reference bench container measure attest agent tpm ca policy secret help" -f -a "reference" -d 'Reference values'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and not __fish_seen_subcommand_from status evidence verify trust-anchor ak reference bench container measure attest agent tpm ca policy secret help" -f -a "bench" -d 'Measure an operation\'s throughput and latency percentiles at a concurrency'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and not __fish_seen_subcommand_from status evidence verify trust-anchor ak reference bench container measure attest agent tpm ca policy secret help" -f -a "container" -d 'Manage registered containers (root or the admin group)'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and not __fish_seen_subcommand_from status evidence verify trust-anchor ak reference bench container measure attest agent tpm ca policy secret help" -f -a "measure" -d 'Runtime measurements of this process\'s subject (host or container)'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and not __fish_seen_subcommand_from status evidence verify trust-anchor ak reference bench container measure attest agent tpm ca policy secret help" -f -a "attest" -d 'Challenge a host, or one container on it, and verify the answer'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and not __fish_seen_subcommand_from status evidence verify trust-anchor ak reference bench container measure attest agent tpm ca policy secret help" -f -a "agent" -d 'Run inside a container: answer the challenges rasd forwards to it'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and not __fish_seen_subcommand_from status evidence verify trust-anchor ak reference bench container measure attest agent tpm ca policy secret help" -f -a "tpm" -d 'TPM evidence for other tools, and a verifier\'s enrolment of a host\'s TPM'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and not __fish_seen_subcommand_from status evidence verify trust-anchor ak reference bench container measure attest agent tpm ca policy secret help" -f -a "ca" -d 'The CA\'s half of TPM enrolment in AS mode'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and not __fish_seen_subcommand_from status evidence verify trust-anchor ak reference bench container measure attest agent tpm ca policy secret help" -f -a "policy" -d 'Verification policies in Rego'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and not __fish_seen_subcommand_from status evidence verify trust-anchor ak reference bench container measure attest agent tpm ca policy secret help" -f -a "secret" -d 'Secrets that ras-verifier releases to attested workloads'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and not __fish_seen_subcommand_from status evidence verify trust-anchor ak reference bench container measure attest agent tpm ca policy secret help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and __fish_seen_subcommand_from ak" -f -a "show" -d 'Show the AK: mode, fingerprint and certificate chain'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and __fish_seen_subcommand_from ak" -f -a "csr" -d 'Print a PKCS#10 request for the AK, for an external CA'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and __fish_seen_subcommand_from ak" -f -a "import" -d 'Install a CA-issued AK certificate chain (PEM, leaf first)'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and __fish_seen_subcommand_from ak" -f -a "enrollment" -d 'With --tee tpm: write the enrolment bundle for an external CA (JSON: the EK certificate, the TPM AK, its certificate, and a CSR for the evidence key)'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and __fish_seen_subcommand_from ak" -f -a "activate" -d 'With --tee tpm: open a CA\'s credential challenge (`rasctl ca challenge`) with the TPM, and write the secret (base64) that the CA compares with its own'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and __fish_seen_subcommand_from reference" -f -a "record" -d 'Write a reference file that accepts what known-good evidence measured'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and __fish_seen_subcommand_from container" -f -a "list" -d 'List registrations'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and __fish_seen_subcommand_from container" -f -a "add" -d 'Register a running container by id or name'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and __fish_seen_subcommand_from container" -f -a "remove" -d 'Forget a registration'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and __fish_seen_subcommand_from measure" -f -a "extend" -d 'Append an event to the runtime measurement log; durable when this returns'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and __fish_seen_subcommand_from tpm" -f -a "export" -d 'Write the evidence\'s fresh TPM quote as files tpm2_checkquote reads: ak.pub.pem, quote.msg, quote.sig, quote.pcrs and qualification.hex'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and __fish_seen_subcommand_from tpm" -f -a "enroll" -d 'Enrol a host\'s TPM attestation key once, through its bridge: check its EK certificate against the TPM maker\'s CAs, prove with credential activation that the AK lives in that TPM, and write the AK\'s certificate, the trust anchor for that host\'s evidence'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and __fish_seen_subcommand_from ca" -f -a "challenge" -d 'Check an enrolment bundle (`rasctl ak enrollment`) against the TPM maker\'s CAs and seal a fresh secret to its EK and TPM AK: the host\'s `rasctl ak activate` can open it only if the AK is in that TPM. Sign the bundle\'s CSR only when the secret it returns is yours'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "default" -d 'Print the default policy (what `verify` and `attest` decide without --policy), to start a policy of your own from'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and __fish_seen_subcommand_from policy" -f -a "check" -d 'Check that a policy file compiles (`package ras`); errors name the line'
complete -c rasctl -n "__fish_rasctl_using_subcommand help; and __fish_seen_subcommand_from secret" -f -a "get" -d 'Get a secret from ras-verifier: take its challenge, have rasd sign evidence for this process that binds a fresh one-time key, send both, and decrypt the answer (a JWE to that key). Writes the secret raw to standard output, or to --out; with --json, one object. Exit 1 when ras-verifier refuses (the message names the failed check) or has no such secret; 3 when it or rasd cannot be reached, or answers out of protocol'
