complete -c ras-bridge -l listen -d 'Where to listen: tcp:ADDR:PORT or vsock:CID:PORT (CID may be "any"); repeatable. Without it, the listeners come from systemd socket activation' -r
complete -c ras-bridge -l daemon -d 'rasd\'s host socket' -r -F
complete -c ras-bridge -l max-connections -d 'Most remote connections at once' -r
complete -c ras-bridge -l max-per-source -d 'Most connections at once from one source address (or vsock CID)' -r
complete -c ras-bridge -l idle-timeout -d 'Seconds a connection may take to deliver its next whole message before it is closed' -r
complete -c ras-bridge -l request-timeout -d 'Seconds a forwarded call may take' -r
complete -c ras-bridge -l max-message-size -d 'Largest message accepted from a remote peer, in bytes' -r
complete -c ras-bridge -l log -d 'Where logs go: auto (journald under systemd, else stderr), journald, or stderr' -r -f -a "auto\t'journald when systemd connected stderr to the journal (JOURNAL_STREAM), else stderr'
journald\t'The systemd journal, with structured fields; stderr when it is absent'
stderr\t'Standard error'"
complete -c ras-bridge -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ras-bridge -s V -l version -d 'Print version'
