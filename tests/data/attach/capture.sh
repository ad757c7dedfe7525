#!/bin/bash
# Capture jobs and what `flux job attach` printed for them with its options
# (-E, -X, -v, -q, -w NAME), for tests/test_attach_options.py.
#
# Run it in a test instance, from anywhere:
#
#     flux start --test-size=2 tests/data/attach/capture.sh tests/data/attach
#
# Each case directory gets the job's three eventlogs as the KVS holds them
# (eventlog, exec.eventlog, output.eventlog: `flux kvs get --raw`), case.json
# (the command, the jobid, and the attach options of each capture), and
# attach.NAME.stdout / .stderr / .rc for each capture NAME. Every attach
# ran after the job had ended, but live-EX, which ran from the submission
# on, side by side with the job.
set -eu
out=$(realpath "${1:?usage: capture.sh OUTDIR}")
scratch=$(mktemp -d)
cd "$scratch"

# A job shell that fails before it can write the job's output: what it
# writes goes to the exec eventlog as "log" events, which attach prints.
cat >fakeshell <<'EOF'
#!/bin/sh
echo "fake shell: cannot start" >&2
echo "out line"
printf 'no newline' >&2
exit 1
EOF
chmod +x fakeshell

save_eventlogs() {  # CASEDIR JOBID
    local kvs
    kvs=$(flux job id --to=kvs "$2")
    flux kvs get --raw "$kvs.eventlog" >"$1/eventlog"
    for key in exec.eventlog:guest.exec.eventlog output.eventlog:guest.output; do
        flux kvs get --raw "$kvs.${key#*:}" >"$1/${key%%:*}" 2>/dev/null || rm -f "$1/${key%%:*}"
    done
}

attach() {  # CASEDIR NAME ARGS... (then the jobid, last)
    local d=$1 n=$2
    shift 2
    set +e
    flux job attach "$@" </dev/null >"$d/attach.$n.stdout" 2>"$d/attach.$n.stderr"
    echo $? >"$d/attach.$n.rc"
    set -e
}

case_json() {  # CASEDIR JOBID NOTES COMMAND... ; captures from $captures
    local d=$1 id=$2 notes=$3
    shift 3
    python3 - "$d" "$id" "$notes" "$captures" "$@" <<'EOF'
import json, sys
d, jobid, notes, captures, *command = sys.argv[1:]
attach = {}
for item in captures.split(";"):
    name, _, args = item.partition("=")
    attach[name] = args.split()
meta = {
    "case": d.rsplit("/", 1)[-1],
    "command": command,
    "flux_version": "0.88.0",
    "jobid": jobid,
    "notes": notes,
    "attach": attach,
}
with open(f"{d}/case.json", "w") as f:
    json.dump(meta, f, indent=2, ensure_ascii=False)
    f.write("\n")
EOF
}

# -- pending-exception: held, a severity 2 exception, released; exits 3 --------
d=$out/pending-exception
mkdir -p "$d"
cmd=(flux submit --urgency=hold -n2 -o verbose=1 sh -c
    'echo "out $FLUX_TASK_RANK"; echo "err $FLUX_TASK_RANK" >&2; exit 3')
id=$("${cmd[@]}")
attach "$d" live-EX -E -X "$id" &
live=$!
flux job wait-event "$id" priority >/dev/null
sleep 0.5
flux job raise --severity=2 --type=test "$id" test
sleep 0.5
flux job urgency "$id" default
wait $live
flux job wait-event "$id" clean >/dev/null
captures="live-EX=-E -X;plain=;E=-E;X=-X;EX=-E -X;v=-v;q=-q;w-start=-w start"
captures+=";w-finish=-w finish;w-exception=-w exception;w-priority=-w priority"
IFS=';' read -ra items <<<"$captures"
for item in "${items[@]:1}"; do
    # shellcheck disable=SC2086
    attach "$d" "${item%%=*}" ${item#*=} "$id"
done
save_eventlogs "$d" "$id"
case_json "$d" "$id" "held (urgency 0), then 'flux job raise --severity=2 --type=test ID test', then released; -o verbose=1 for shell log lines with file and line; both tasks exit 3" "${cmd[@]}"

# -- exec-log: the job shell fails, writing to the exec eventlog ----------------
d=$out/exec-log
mkdir -p "$d"
cmd=(flux submit --setattr=system.exec.job_shell="$scratch/fakeshell" -n1 true)
id=$("${cmd[@]}")
flux job wait-event "$id" clean >/dev/null
captures="plain=;q=-q;X=-X;E=-E"
IFS=';' read -ra items <<<"$captures"
for item in "${items[@]}"; do
    # shellcheck disable=SC2086
    attach "$d" "${item%%=*}" ${item#*=} "$id"
done
save_eventlogs "$d" "$id"
cmd[2]="--setattr=system.exec.job_shell=fakeshell"
case_json "$d" "$id" "the job shell is a script that writes to stdout and stderr (a last write without a newline) and exits 1: exec eventlog log events, no guest.output" "${cmd[@]}"

# -- redirect: both streams to a file ---------------------------------------------
d=$out/redirect
mkdir -p "$d"
cmd=(flux submit -n2 --output=out.txt sh -c 'echo "out $FLUX_TASK_RANK"')
id=$("${cmd[@]}")
flux job wait-event "$id" clean >/dev/null
captures="plain=;q=-q;v=-v"
IFS=';' read -ra items <<<"$captures"
for item in "${items[@]}"; do
    # shellcheck disable=SC2086
    attach "$d" "${item%%=*}" ${item#*=} "$id"
done
save_eventlogs "$d" "$id"
case_json "$d" "$id" "stdout and stderr of both tasks redirected to one file: redirect events only" "${cmd[@]}"

rm -rf "$scratch"
