# fish completion for fluxout(1).
#
# Generated from the Click commands in fluxout/cli.py by
# tools/manpage.py. Do not edit: regenerate every page and completion
# with  python tools/manpage.py man/
#
# Install as share/fish/vendor_completions.d/fluxout.fish, or source it.

function __fluxout_jobids --description 'The active Flux jobs of the user'
    command -q flux; or return 0
    if command -q timeout
        timeout 2 flux jobs -no '{id.f58plain}' 2>/dev/null
    else
        flux jobs -no '{id.f58plain}' 2>/dev/null
    end
end

complete -c fluxout -f
complete -c fluxout -n 'not __fish_seen_subcommand_from cat follow events lines stats' -s V -l version -d 'Show the version and exit'
complete -c fluxout -n 'not __fish_seen_subcommand_from cat follow events lines stats' -s h -l help -d 'Show this message and exit'
complete -c fluxout -n 'not __fish_seen_subcommand_from cat follow events lines stats' -a cat -d 'Print the output a job has so far, then exit'
complete -c fluxout -n 'not __fish_seen_subcommand_from cat follow events lines stats' -a follow -d 'Stream a job\'s output live until it is complete; exit with the job\'s status'
complete -c fluxout -n 'not __fish_seen_subcommand_from cat follow events lines stats' -a events -d 'Print eventlog events (output, main, exec), merged by time'
complete -c fluxout -n 'not __fish_seen_subcommand_from cat follow events lines stats' -a lines -d 'One record per assembled line: time, rank, stream and text'
complete -c fluxout -n 'not __fish_seen_subcommand_from cat follow events lines stats' -a stats -d 'Per task and stream: lines, bytes, first and last output, exit status'

# fluxout cat
complete -c fluxout -n '__fish_seen_subcommand_from cat; and not string match -q -- "-*" (commandline -ct)' -F -a '(__fluxout_jobids)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -l color -l colour -f -a 'auto always never' -d 'Colour fluxout\'s labels and messages (bare --color: always)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -l uri -r -f -d 'Flux instance to read jobs from [default: $FLUX_URI]'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -s t -l tasks -r -f -d 'Only these task ranks (an idset such as 0-3,7, in any order, or all)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -l stream -r -f -a 'stdout stderr all' -d 'Which output streams'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -s L -l log-level -r -f -a 'fatal emerg alert crit error err warn warning notice info debug trace 0 1 2 3 4 5 6 7' -d 'Show job shell log messages at or above LEVEL (name or 0-7)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -s l -l label -l no-label -d 'Prefix each line with its task rank, \'R: \''
complete -c fluxout -n '__fish_seen_subcommand_from cat' -s u -l unbuffered -l no-unbuffered -d 'Write data as it arrives, without assembling lines (with -l, labels each write as flux job attach -l does)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -l timestamps -f -a 'abs rel delta' -d 'Prefix each line with its time (lines: the time column): abs (local date and time), rel (seconds since the job started) or delta (since the line before)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -l head -r -f -d 'Only the first N lines of each task (per stream)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -l tail -r -f -d 'Only the last N lines of each task (per stream)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -l since -r -f -d 'Only lines written from TIME on: a duration after job start (30s, 2m, 1h30m) or an absolute time (2026-11-25T10:00:00, 10:00:00, @EPOCH)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -l until -r -f -d 'Only lines written up to TIME (same forms as --since)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -l grep -l include -r -f -d 'Only lines matching REGEX (repeatable: any of them)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -l exclude -r -f -d 'Drop lines matching REGEX (repeatable)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -l highlight -r -f -d 'Colour matches of REGEX on a terminal (the bytes are never changed in a pipe; repeatable)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -l coalesce -l no-coalesce -d 'Show identical output of several tasks once, under the rank set that wrote it (as dshbak -c)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -l split -r -f -a '(__fish_complete_directories)' -d 'Write each task\'s stdout and stderr to DIR/JOB/RANK.out and .err instead (as srun --output=%t)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -l force -l no-force -d 'With --split: replace the files of an existing job directory'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -s E -l show-events -l no-show-events -d 'Show the job\'s main eventlog events on stderr, as flux job attach -E'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -s X -l show-exec -l no-show-exec -d 'Show the job\'s exec eventlog events on stderr, as flux job attach -X'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -s w -l wait-event -r -f -d 'Read the main eventlog up to event NAME, as flux job attach -w: no events, exceptions or exit status after it (status 1 when the job had not finished by then)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -s v -l verbose -l no-verbose -d 'Show the source file and line of job shell log messages'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -s q -l quiet -l no-quiet -d 'No job shell log messages, redirect notices or exec log prefixes, as flux job attach -q (exceptions and errors are still shown)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -l show-status -l no-show-status -d 'Show the status line of a pending job at once, even when not on a terminal (on a terminal it shows after 2 s)'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -l wait -l no-wait -d 'Wait for the job to finish'
complete -c fluxout -n '__fish_seen_subcommand_from cat' -s h -l help -d 'Show this message and exit'

# fluxout follow
complete -c fluxout -n '__fish_seen_subcommand_from follow; and not string match -q -- "-*" (commandline -ct)' -F -a '(__fluxout_jobids)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -l color -l colour -f -a 'auto always never' -d 'Colour fluxout\'s labels and messages (bare --color: always)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -l uri -r -f -d 'Flux instance to read jobs from [default: $FLUX_URI]'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -s t -l tasks -r -f -d 'Only these task ranks (an idset such as 0-3,7, in any order, or all)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -l stream -r -f -a 'stdout stderr all' -d 'Which output streams'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -s L -l log-level -r -f -a 'fatal emerg alert crit error err warn warning notice info debug trace 0 1 2 3 4 5 6 7' -d 'Show job shell log messages at or above LEVEL (name or 0-7)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -s l -l label -l no-label -d 'Prefix each line with its task rank, \'R: \''
complete -c fluxout -n '__fish_seen_subcommand_from follow' -s u -l unbuffered -l no-unbuffered -d 'Write data as it arrives, without assembling lines (with -l, labels each write as flux job attach -l does)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -l timestamps -f -a 'abs rel delta' -d 'Prefix each line with its time (lines: the time column): abs (local date and time), rel (seconds since the job started) or delta (since the line before)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -l head -r -f -d 'Only the first N lines of each task (per stream)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -l tail -r -f -d 'Only the last N lines of each task (per stream)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -l since -r -f -d 'Only lines written from TIME on: a duration after job start (30s, 2m, 1h30m) or an absolute time (2026-11-25T10:00:00, 10:00:00, @EPOCH)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -l until -r -f -d 'Only lines written up to TIME (same forms as --since)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -l grep -l include -r -f -d 'Only lines matching REGEX (repeatable: any of them)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -l exclude -r -f -d 'Drop lines matching REGEX (repeatable)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -l highlight -r -f -d 'Colour matches of REGEX on a terminal (the bytes are never changed in a pipe; repeatable)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -l coalesce -l no-coalesce -d 'Show identical output of several tasks once, under the rank set that wrote it (as dshbak -c)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -l split -r -f -a '(__fish_complete_directories)' -d 'Write each task\'s stdout and stderr to DIR/JOB/RANK.out and .err instead (as srun --output=%t)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -l force -l no-force -d 'With --split: replace the files of an existing job directory'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -s E -l show-events -l no-show-events -d 'Show the job\'s main eventlog events on stderr, as flux job attach -E'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -s X -l show-exec -l no-show-exec -d 'Show the job\'s exec eventlog events on stderr, as flux job attach -X'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -s w -l wait-event -r -f -d 'Read the main eventlog up to event NAME, as flux job attach -w: no events, exceptions or exit status after it (status 1 when the job had not finished by then)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -s v -l verbose -l no-verbose -d 'Show the source file and line of job shell log messages'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -s q -l quiet -l no-quiet -d 'No job shell log messages, redirect notices or exec log prefixes, as flux job attach -q (exceptions and errors are still shown)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -l show-status -l no-show-status -d 'Show the status line of a pending job at once, even when not on a terminal (on a terminal it shows after 2 s)'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -l stall -r -f -d 'Warn on stderr when a task writes nothing for DURATION (30s, 2m, 1.5) while others still write, and when it resumes'
complete -c fluxout -n '__fish_seen_subcommand_from follow' -s h -l help -d 'Show this message and exit'

# fluxout events
complete -c fluxout -n '__fish_seen_subcommand_from events; and not string match -q -- "-*" (commandline -ct)' -F -a '(__fluxout_jobids)'
complete -c fluxout -n '__fish_seen_subcommand_from events' -l color -l colour -f -a 'auto always never' -d 'Colour fluxout\'s labels and messages (bare --color: always)'
complete -c fluxout -n '__fish_seen_subcommand_from events' -l uri -r -f -d 'Flux instance to read jobs from [default: $FLUX_URI]'
complete -c fluxout -n '__fish_seen_subcommand_from events' -s t -l tasks -r -f -d 'Only these task ranks (an idset such as 0-3,7, in any order, or all)'
complete -c fluxout -n '__fish_seen_subcommand_from events' -l stream -r -f -a 'stdout stderr all' -d 'Which output streams'
complete -c fluxout -n '__fish_seen_subcommand_from events' -s L -l log-level -r -f -a 'fatal emerg alert crit error err warn warning notice info debug trace 0 1 2 3 4 5 6 7' -d 'Show job shell log messages at or above LEVEL (name or 0-7)'
complete -c fluxout -n '__fish_seen_subcommand_from events' -l json -l no-json -d 'JSON Lines, one object per event'
complete -c fluxout -n '__fish_seen_subcommand_from events' -l eventlog -r -f -a 'main exec output all' -d 'Which eventlogs (repeatable)'
complete -c fluxout -n '__fish_seen_subcommand_from events' -s f -l follow -l no-follow -d 'Keep printing new events'
complete -c fluxout -n '__fish_seen_subcommand_from events' -s h -l help -d 'Show this message and exit'

# fluxout lines
complete -c fluxout -n '__fish_seen_subcommand_from lines; and not string match -q -- "-*" (commandline -ct)' -F -a '(__fluxout_jobids)'
complete -c fluxout -n '__fish_seen_subcommand_from lines' -l color -l colour -f -a 'auto always never' -d 'Colour fluxout\'s labels and messages (bare --color: always)'
complete -c fluxout -n '__fish_seen_subcommand_from lines' -l uri -r -f -d 'Flux instance to read jobs from [default: $FLUX_URI]'
complete -c fluxout -n '__fish_seen_subcommand_from lines' -s t -l tasks -r -f -d 'Only these task ranks (an idset such as 0-3,7, in any order, or all)'
complete -c fluxout -n '__fish_seen_subcommand_from lines' -l stream -r -f -a 'stdout stderr all' -d 'Which output streams'
complete -c fluxout -n '__fish_seen_subcommand_from lines' -s L -l log-level -r -f -a 'fatal emerg alert crit error err warn warning notice info debug trace 0 1 2 3 4 5 6 7' -d 'Show job shell log messages at or above LEVEL (name or 0-7)'
complete -c fluxout -n '__fish_seen_subcommand_from lines' -l timestamps -f -a 'abs rel delta' -d 'Prefix each line with its time (lines: the time column): abs (local date and time), rel (seconds since the job started) or delta (since the line before)'
complete -c fluxout -n '__fish_seen_subcommand_from lines' -l head -r -f -d 'Only the first N lines of each task (per stream)'
complete -c fluxout -n '__fish_seen_subcommand_from lines' -l tail -r -f -d 'Only the last N lines of each task (per stream)'
complete -c fluxout -n '__fish_seen_subcommand_from lines' -l since -r -f -d 'Only lines written from TIME on: a duration after job start (30s, 2m, 1h30m) or an absolute time (2026-11-25T10:00:00, 10:00:00, @EPOCH)'
complete -c fluxout -n '__fish_seen_subcommand_from lines' -l until -r -f -d 'Only lines written up to TIME (same forms as --since)'
complete -c fluxout -n '__fish_seen_subcommand_from lines' -l grep -l include -r -f -d 'Only lines matching REGEX (repeatable: any of them)'
complete -c fluxout -n '__fish_seen_subcommand_from lines' -l exclude -r -f -d 'Drop lines matching REGEX (repeatable)'
complete -c fluxout -n '__fish_seen_subcommand_from lines' -l json -l no-json -d 'JSON Lines, one object per line'
complete -c fluxout -n '__fish_seen_subcommand_from lines' -l format -r -f -d 'Write each line through TEMPLATE, with fields {job} {rank} {stream} {time} (seconds since the job\'s submit) {timestamp} {line} {eol}, each with an optional format spec as flux jobs --format takes ({rank:>4})'
complete -c fluxout -n '__fish_seen_subcommand_from lines' -s f -l follow -l no-follow -d 'Keep printing new lines'
complete -c fluxout -n '__fish_seen_subcommand_from lines' -s h -l help -d 'Show this message and exit'

# fluxout stats
complete -c fluxout -n '__fish_seen_subcommand_from stats; and not string match -q -- "-*" (commandline -ct)' -F -a '(__fluxout_jobids)'
complete -c fluxout -n '__fish_seen_subcommand_from stats' -l color -l colour -f -a 'auto always never' -d 'Colour fluxout\'s labels and messages (bare --color: always)'
complete -c fluxout -n '__fish_seen_subcommand_from stats' -l uri -r -f -d 'Flux instance to read jobs from [default: $FLUX_URI]'
complete -c fluxout -n '__fish_seen_subcommand_from stats' -s t -l tasks -r -f -d 'Only these task ranks (an idset such as 0-3,7, in any order, or all)'
complete -c fluxout -n '__fish_seen_subcommand_from stats' -l stream -r -f -a 'stdout stderr all' -d 'Which output streams'
complete -c fluxout -n '__fish_seen_subcommand_from stats' -l json -l no-json -d 'JSON Lines, one object per task and stream'
complete -c fluxout -n '__fish_seen_subcommand_from stats' -s h -l help -d 'Show this message and exit'
