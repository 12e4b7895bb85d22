_rasd() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="rasd"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        rasd)
            opts="-h -V --config --runtime-dir --state-dir --tee --tpm-tcti --tpm-pcrs --tpm-quote --tpm-batch --tpm-log-pcr --tsm-path --tsm-rtmr --tsm-boot-id --log --admin-group --socket-group --max-message-size --max-connections --idle-timeout --max-container-connections --max-container-calls --auto-register --health-check --challenge-timeout --docker-socket --measure-file --remote-uid --remote-group --vsock-agent-port --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --config)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --runtime-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --state-dir)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tee)
                    COMPREPLY=($(compgen -W "sim tpm tsm" -- "${cur}"))
                    return 0
                    ;;
                --tpm-tcti)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tpm-pcrs)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tpm-quote)
                    COMPREPLY=($(compgen -W "host all none" -- "${cur}"))
                    return 0
                    ;;
                --tpm-batch)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tpm-log-pcr)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tsm-path)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tsm-rtmr)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --tsm-boot-id)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --log)
                    COMPREPLY=($(compgen -W "auto journald stderr" -- "${cur}"))
                    return 0
                    ;;
                --admin-group)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --socket-group)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-message-size)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-connections)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --idle-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-container-connections)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-container-calls)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --auto-register)
                    COMPREPLY=($(compgen -W "true false" -- "${cur}"))
                    return 0
                    ;;
                --health-check)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --challenge-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --docker-socket)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --measure-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --remote-uid)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --remote-group)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --vsock-agent-port)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _rasd -o nosort -o bashdefault -o default rasd
else
    complete -F _rasd -o bashdefault -o default rasd
fi
