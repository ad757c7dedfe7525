# bash completion for fluxout(1).
#
# Generated from the Click commands in fluxout/cli.py by
# tools/manpage.py. Do not edit: regenerate every page and completion
# with  python tools/manpage.py man/
#
# Install as share/bash-completion/completions/fluxout.bash, or source it.

_fluxout_jobids()
{
    # The user's active jobs, when flux is here and answers quickly.
    command -v flux >/dev/null 2>&1 || return 0
    if command -v timeout >/dev/null 2>&1; then
        timeout 2 flux jobs -no '{id.f58plain}' 2>/dev/null
    else
        flux jobs -no '{id.f58plain}' 2>/dev/null
    fi
}

# The words of a space-separated list that start with $2.
_fluxout_words()
{
    local IFS=$' \t\n'
    compgen -W "$1" -- "$2"
}

# The options of command $1 ('' for fluxout itself).
_fluxout_options()
{
    case $1 in
    '')
        printf '%s\n' -V --version -h --help
        ;;
    cat)
        printf '%s\n' --color --colour --uri -t --tasks --stream -L \
            --log-level --hosts -l --label --no-label --label-by -u \
            --unbuffered --no-unbuffered --timestamps --head --tail --since \
            --until --grep --include --exclude --highlight --coalesce \
            --no-coalesce --split --force --no-force -E --show-events \
            --no-show-events -X --show-exec --no-show-exec -w --wait-event \
            -v --verbose --no-verbose -q --quiet --no-quiet --show-status \
            --no-show-status --redirected --no-redirected -a --active -A \
            --all -f --filter --jobs-since -c --count --user --name --queue \
            --in --summary --progress --no-progress --jps --no-jps --wait \
            --no-wait -h --help
        ;;
    follow)
        printf '%s\n' --color --colour --uri -t --tasks --stream -L \
            --log-level --hosts -l --label --no-label --label-by -u \
            --unbuffered --no-unbuffered --timestamps --head --tail --since \
            --until --grep --include --exclude --highlight --coalesce \
            --no-coalesce --split --force --no-force -E --show-events \
            --no-show-events -X --show-exec --no-show-exec -w --wait-event \
            -v --verbose --no-verbose -q --quiet --no-quiet --show-status \
            --no-show-status --redirected --no-redirected -a --active -A \
            --all -f --filter --jobs-since -c --count --user --name --queue \
            --in --summary --new --no-new --progress --no-progress --jps \
            --no-jps --stall -h --help
        ;;
    events)
        printf '%s\n' --color --colour --uri -t --tasks --stream -L \
            --log-level --json --no-json --eventlog -f --follow --no-follow \
            -a --active -A --all --filter --jobs-since -c --count --user \
            --name --queue --in -h --help
        ;;
    lines)
        printf '%s\n' --color --colour --uri -t --tasks --stream -L \
            --log-level --hosts --timestamps --head --tail --since --until \
            --grep --include --exclude --redirected --no-redirected --json \
            --no-json --format -f --follow --no-follow -a --active -A --all \
            --filter --jobs-since -c --count --user --name --queue --in \
            --summary -h --help
        ;;
    stats)
        printf '%s\n' --color --colour --uri -t --tasks --stream --json \
            --no-json -h --help
        ;;
    esac
}

# Does option $2 of command $1 take a value (an optional one included)?
_fluxout_takes_value()
{
    case $1 in
    cat)
        case $2 in
        --color | --colour | --uri | -t | --tasks | --stream | -L | \
            --log-level | --hosts | --label-by | --timestamps | --head | \
            --tail | --since | --until | --grep | --include | --exclude | \
            --highlight | --split | -w | --wait-event | -f | --filter | \
            --jobs-since | -c | --count | --user | --name | --queue | --in | \
            --summary) return 0 ;;
        esac ;;
    follow)
        case $2 in
        --color | --colour | --uri | -t | --tasks | --stream | -L | \
            --log-level | --hosts | --label-by | --timestamps | --head | \
            --tail | --since | --until | --grep | --include | --exclude | \
            --highlight | --split | -w | --wait-event | -f | --filter | \
            --jobs-since | -c | --count | --user | --name | --queue | --in | \
            --summary | --stall) return 0 ;;
        esac ;;
    events)
        case $2 in
        --color | --colour | --uri | -t | --tasks | --stream | -L | \
            --log-level | --eventlog | --filter | --jobs-since | -c | \
            --count | --user | --name | --queue | --in) return 0 ;;
        esac ;;
    lines)
        case $2 in
        --color | --colour | --uri | -t | --tasks | --stream | -L | \
            --log-level | --hosts | --timestamps | --head | --tail | \
            --since | --until | --grep | --include | --exclude | --format | \
            --filter | --jobs-since | -c | --count | --user | --name | \
            --queue | --in | --summary) return 0 ;;
        esac ;;
    stats)
        case $2 in
        --color | --colour | --uri | -t | --tasks | --stream) return 0 ;;
        esac ;;
    esac
    return 1
}

# The values of option $2 of command $1 that start with $3.
_fluxout_values()
{
    case $1:$2 in
    cat:--color | cat:--colour | follow:--color | follow:--colour | \
        events:--color | events:--colour | lines:--color | lines:--colour | \
        stats:--color | stats:--colour)
        _fluxout_words 'auto always never' "$3" ;;
    cat:--stream | follow:--stream | events:--stream | lines:--stream | \
        stats:--stream)
        _fluxout_words 'stdout stderr all' "$3" ;;
    cat:-L | cat:--log-level | follow:-L | follow:--log-level | events:-L | \
        events:--log-level | lines:-L | lines:--log-level)
        _fluxout_words 'fatal emerg alert crit error err warn warning notice info debug trace 0 1 2 3 4 5 6 7' "$3" ;;
    cat:--label-by | follow:--label-by)
        _fluxout_words 'rank host host-rank' "$3" ;;
    cat:--timestamps | follow:--timestamps | lines:--timestamps)
        _fluxout_words 'abs rel delta' "$3" ;;
    cat:--split | follow:--split)
        compopt -o filenames 2>/dev/null; compgen -d -- "$3" ;;
    cat:--summary | follow:--summary | lines:--summary)
        _fluxout_words 'auto always never json' "$3" ;;
    events:--eventlog)
        _fluxout_words 'main exec output all' "$3" ;;
    esac
}

_fluxout()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev='' opt='' prefix='' cmd='' i w
    local IFS=$'\n'
    COMPREPLY=()
    (( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}

    # The command: the first word that is neither an option nor a value.
    for (( i = 1; i < COMP_CWORD; i++ )); do
        w=${COMP_WORDS[i]}
        case $w in
        -*) _fluxout_takes_value '' "$w" && (( i += 1 )) ;;
        *) cmd=$w; break ;;
        esac
    done

    # The option whose value is being completed, if any: --opt=VALUE is
    # three words when '=' breaks words (as by default), one otherwise.
    if [[ $cur == = ]]; then
        opt=$prev cur=''
    elif [[ $prev == = ]] && (( COMP_CWORD > 1 )); then
        opt=${COMP_WORDS[COMP_CWORD-2]}
    elif [[ $cur == --*=* ]]; then
        opt=${cur%%=*} prefix=${cur%%=*}= cur=${cur#*=}
    elif [[ $prev == -* ]] && _fluxout_takes_value "$cmd" "$prev"; then
        opt=$prev
    fi

    if [[ -n $opt ]]; then
        COMPREPLY=($(_fluxout_values "$cmd" "$opt" "$cur"))
    elif [[ $cur == -* ]]; then
        COMPREPLY=($(_fluxout_words "$(_fluxout_options "$cmd")" "$cur"))
    elif [[ -z $cmd ]]; then
        COMPREPLY=($(_fluxout_words 'cat follow events lines stats' "$cur"))
    else
        # JOB: the user's active jobs, and paths to saved eventlogs.
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -W "$(_fluxout_jobids)" -- "$cur")
            $(compgen -f -- "$cur"))
    fi
    if [[ -n $prefix ]]; then
        COMPREPLY=("${COMPREPLY[@]/#/$prefix}")
    fi
    return 0
}

complete -F _fluxout fluxout
