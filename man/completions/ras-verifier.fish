complete -c ras-verifier -l listen -d 'Where the HTTP API listens. Plain HTTP only on a loopback address; anywhere else --tls-cert and --tls-key are required' -r
complete -c ras-verifier -l database -d 'The database: `sqlite://PATH` or `postgres://USER:PASS@HOST:PORT/DB`. Several replicas share one PostgreSQL database. Defaults to SQLite in the state directory. Prefer the environment variable for a URL that carries a password' -r
complete -c ras-verifier -l state-dir -d 'The state directory (the SQLite database lives here by default)' -r -F
complete -c ras-verifier -l trust -d 'PEM file of the trust anchors that evidence must chain to (`rasctl trust-anchor`)' -r -F
complete -c ras-verifier -l admin-token-file -d 'A file holding the bearer token of the admin endpoints (targets, secrets)' -r -F
complete -c ras-verifier -l tls-cert -d 'TLS certificate chain (PEM) of the API' -r -F
complete -c ras-verifier -l tls-key -d 'TLS private key (PEM) of the API' -r -F
complete -c ras-verifier -l webhook -d 'POST a JSON notification here whenever a target changes state (repeatable)' -r
complete -c ras-verifier -l concurrency -d 'Attestations in flight at once, per replica' -r
complete -c ras-verifier -l replica -d 'This replica\'s name in leases and history; unique among replicas sharing a database. Defaults to the host name and a random suffix' -r
complete -c ras-verifier -l lease -d 'How long a claimed target stays leased to this replica: a replica that dies holds its targets this long at most before another replica attests them' -r
complete -c ras-verifier -l challenge-ttl -d 'How long a secret-release challenge stays valid' -r
complete -c ras-verifier -l timeout -d 'How long a target may take to answer a challenge' -r
complete -c ras-verifier -l max-targets -d 'The most targets the database may hold' -r
complete -c ras-verifier -l log -d 'Where logs go' -r -f -a "auto\t'journald when systemd connected stderr to the journal (JOURNAL_STREAM), else stderr'
journald\t'The systemd journal, with structured fields; stderr when it is absent'
stderr\t'Standard error'"
complete -c ras-verifier -l allow-sim -d 'Accept evidence from the simulated TEE (`sim`), which proves nothing about hardware'
complete -c ras-verifier -l allow-unappraised -d 'Accept `tsm` reports whose hardware signature was not appraised'
complete -c ras-verifier -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ras-verifier -s V -l version -d 'Print version'
