complete -c rasd -l config -d 'Configuration file (TOML); flags override it. Default: /etc/ras/rasd.toml if present' -r -F
complete -c rasd -l runtime-dir -d 'Runtime directory for the sockets. Default: /run/ras' -r -F
complete -c rasd -l state-dir -d 'State directory for keys and certificates. Default: /var/lib/ras' -r -F
complete -c rasd -l tee -d 'TEE backend. Default: sim' -r -f -a "sim\t'Simulated TEE: software keys, for any machine; verifiers refuse it without --allow-sim'
tpm\t'TPM 2.0 through a TCTI (--tpm-tcti); needs a rasd built with the `tpm` feature'
tsm\t'Linux configfs-tsm (--tsm-path) in a TDX or SEV-SNP guest: the raw hardware report in a self-signed AK certificate; verifiers appraise it with --tsm-appraiser'"
complete -c rasd -l tpm-tcti -d 'TPM TCTI (a tpm2-tools TCTI string), for --tee tpm. Default: device:/dev/tpmrm0' -r
complete -c rasd -l tpm-pcrs -d 'PCRs (sha256 bank, comma-separated) in fresh TPM quotes. Default: 0,1,2,3,4,5,6,7' -r
complete -c rasd -l tpm-quote -d 'Which evidence carries a fresh TPM quote of the PCRs (--tee tpm) or a fresh configfs-tsm report (--tee tsm). Default: host' -r -f -a "host\t'Host evidence only (containers and VM guests share the host\'s PCRs, but pay no quote)'
all\t'Every evidence'
none\t'None: PCRs are not attested; the AK certificate\'s quote still binds the AK to the TPM'"
complete -c rasd -l tpm-batch -d 'Most concurrent evidences that share one TPM quote (a Merkle root); 1 turns batching off. Default: 64 (1 to 1024)' -r
complete -c rasd -l tpm-log-pcr -d 'The PCR every runtime-log entry is also extended into, which no other software may extend, or `none`. Default: 15' -r
complete -c rasd -l tsm-path -d 'The configfs-tsm report directory that --tee tsm uses. Default: /sys/kernel/config/tsm/report' -r -F
complete -c rasd -l tsm-rtmr -d 'TDX RTMR3 (Linux 6.16+ sysfs), into which --tee tsm extends every runtime-log entry, or `none`; only RTMR3, the one for the OS and applications, is used. Default: /sys/class/misc/tdx_guest/measurements/rtmr3:sha384 (skipped when absent)' -r
complete -c rasd -l tsm-boot-id -d 'The file that names this boot, for the RTMR3 journal (tests emulate it). Default: /proc/sys/kernel/random/boot_id' -r -F
complete -c rasd -l log -d 'Where logs go. Default: auto' -r -f -a "auto\t'journald when systemd connected stderr to the journal (JOURNAL_STREAM), else stderr'
journald\t'The systemd journal, with structured fields; stderr when it is absent'
stderr\t'Standard error'"
complete -c rasd -l admin-group -d 'Group whose members may call io.ras.Admin, besides root (default: none, root only)' -r
complete -c rasd -l socket-group -d 'Group that owns the host socket: its members may connect (default: ras, if it exists; a group named here or in the file must exist)' -r
complete -c rasd -l max-message-size -d 'Largest accepted message, in bytes. Default: 1048576 (1 MiB; 256 B to 64 MiB)' -r
complete -c rasd -l max-connections -d 'Most connections served at once per socket; more wait in the accept queue. Default: 1024' -r
complete -c rasd -l idle-timeout -d 'Seconds a connection may wait before sending its next whole message (agent streams are exempt); then it is closed, so idle peers cannot hold every connection slot. Default: 120 s' -r
complete -c rasd -l max-container-connections -d 'Most connections one container may hold open on the container socket (and one VM guest on the vsock port); more are closed at once, so one cannot take the slots of the others. Default: 32' -r
complete -c rasd -l max-container-calls -d 'Most calls of one container (or VM guest) served at once; more wait their turn. Default: 8' -r
complete -c rasd -l auto-register -d 'Register a container on its first connection to the container socket (`--auto-register=false` overrides the file). Default: false' -r -f -a "true\t''
false\t''"
complete -c rasd -l health-check -d 'Minutes between health checks of agents; <= 0 turns them off (at most 10080, a week). Default: 0 (off)' -r
complete -c rasd -l challenge-timeout -d 'Deadline for an agent\'s answer to a forwarded challenge, in milliseconds. Default: 10000 ms (100 ms to 600 s)' -r
complete -c rasd -l docker-socket -d 'Docker API socket, used to resolve container names. Default: /var/run/docker.sock' -r -F
complete -c rasd -l measure-file -d 'A file rasd measures in every container (and on the host) it attests; repeatable. Default: none' -r
complete -c rasd -l remote-uid -d 'A uid allowed to send io.ras.Remote challenges on the host socket (the bridge\'s). Default: none' -r
complete -c rasd -l remote-group -d 'A group allowed to send io.ras.Remote challenges on the host socket. Default: none (a group named must exist)' -r
complete -c rasd -l vsock-agent-port -d 'Listen on this AF_VSOCK port for agents in VM guests (identified by their CID). Default: none (no AF_VSOCK listener)' -r
complete -c rasd -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rasd -s V -l version -d 'Print version'
